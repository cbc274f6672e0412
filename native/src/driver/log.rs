//! The log sink: Redis's log line format, to `logfile` or standard output.

use super::*;

/// Where log lines go: stdout, or the `logfile` opened for appending.
pub struct LogSink {
    pid: u32,
    file: Option<std::fs::File>,
}

impl LogSink {
    pub fn new(pid: u32, file: Option<std::fs::File>) -> LogSink {
        LogSink { pid, file }
    }

    pub fn write(&mut self, line: &LogLine) {
        let text = line.render(self.pid);
        match &mut self.file {
            Some(f) => {
                let _ = writeln!(f, "{}", text);
            }
            None => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{}", text);
                let _ = out.flush();
            }
        }
    }
    pub fn driver(&mut self, role: char, level: LogLevel, message: impl Into<String>) {
        let line = LogLine { at_ms: now_ms(), role, level, message: message.into(), raw: false };
        self.write(&line);
    }
}
