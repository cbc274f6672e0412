//! Start-up: the lines Redis logs from `main()` to "Ready to accept connections".

use super::*;

impl Node {
    /// Log the line that ends the start-up, once the dataset is loaded.
    pub fn log_ready(&mut self) {
        self.srv.log(LogLevel::Notice, "Ready to accept connections");
        let unix = self.srv.config.get_str("unixsocket");
        if !unix.is_empty() {
            self.srv.log(LogLevel::Notice, format!("The server is now ready to accept connections at {}", unix));
        }
    }

    /// Log the start-up banner lines Redis prints (after the driver printed its own): the logo
    /// or the `Running mode` line, as `redisAsciiArt` chooses, then "Server initialized".
    pub fn log_startup(&mut self) {
        let port = self.srv.config.port();
        let show_logo = self.srv.config.get_bool("always-show-logo")
            || (self.logs_to_terminal && self.srv.config.get_str("logfile").is_empty());
        if show_logo && self.srv.log_level <= LogLevel::Notice {
            let message = crate::log::startup_logo("standalone", port, self.srv.pid);
            let role = self.srv.role_char();
            let line = LogLine { at_ms: self.srv.now, role, level: LogLevel::Notice, message, raw: true };
            self.srv.outputs.push_back(Output::Log(line));
        } else {
            self.srv.log(LogLevel::Notice, format!("Running mode=standalone, port={}.", port));
        }
        self.srv.log(LogLevel::Warning, "Server initialized");
    }

    /// Load a dump.rdb image at start-up. Keys whose deadline has passed are dropped, as
    /// Redis does when a master loads its RDB.
    pub fn load_rdb(&mut self, data: &[u8]) -> Result<usize, String> {
        self.load_rdb_image(data, false)
    }
}
