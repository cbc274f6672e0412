//! `halab lesson run` from the command line: every lesson passes, in the simulator and against
//! live `halab server` processes; a wrong expectation fails the run with what was seen, and the
//! trace file is written.

use halab_tests::{halab_bin, TempDir};
use std::path::Path;
use std::process::Command;

fn lessons_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../lessons")
}

#[test]
fn every_lesson_file_passes_from_the_command_line() {
    let mut n = 0;
    for entry in std::fs::read_dir(lessons_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "md") || path.ends_with("README.md") {
            continue;
        }
        let out = Command::new(halab_bin()).args(["lesson", "run", path.to_str().unwrap()]).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{} failed:\n{}", path.display(), stdout);
        assert!(stdout.contains(" 0 failed"), "{}", stdout);
        n += 1;
    }
    assert!(n >= 3);
}

/// Every lesson, against real processes (`--live`): each run puts its nodes on its own
/// 127.x addresses, so the lessons run side by side.
#[test]
fn every_lesson_file_passes_against_live_processes() {
    let files: Vec<_> = std::fs::read_dir(lessons_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md") && !p.ends_with("README.md"))
        .collect();
    assert!(files.len() >= 10, "{:?}", files);
    let runs: Vec<_> = files
        .into_iter()
        .map(|path| {
            std::thread::spawn(move || {
                let out = Command::new(halab_bin())
                    .args(["lesson", "run", path.to_str().unwrap(), "--live"])
                    .output()
                    .unwrap();
                (path, out)
            })
        })
        .collect();
    for run in runs {
        let (path, out) = run.join().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{} failed live:\n{}\n{}",
            path.display(),
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("live halab server processes") && stdout.contains(" 0 failed"), "{}", stdout);
    }
}

#[test]
fn a_failing_expectation_exits_non_zero_and_shows_what_was_seen() {
    let dir = TempDir::new("lesson");
    let text = std::fs::read_to_string(lessons_dir().join("seed000-1.1.5-first-data-session.md")).unwrap();
    let broken = dir.path().join("broken.md");
    std::fs::write(&broken, text.replace("   → (integer) 3", "   → (integer) 4")).unwrap();
    let trace = dir.path().join("trace.txt");
    let out = Command::new(halab_bin())
        .args(["lesson", "run", broken.to_str().unwrap(), "--seed", "7", "--trace", trace.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", stdout);
    assert!(stdout.contains("✗ 4. cli> LPUSH menu pine"), "{}", stdout);
    assert!(stdout.contains("seen:     (integer) 3"), "{}", stdout);
    assert!(stdout.contains("14 passed, 1 failed"), "{}", stdout);
    let trace = std::fs::read_to_string(trace).unwrap();
    assert!(trace.contains("reply cli (integer) 3"), "{}", trace);
}
