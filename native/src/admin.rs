//! `halab cli --cluster <subcommand>`: the native driver of the core's `--cluster` manager
//! (`halab_core::admin`). It opens the TCP connections the manager asks for, hands it the
//! bytes and the terminal's answers, and prints what it prints.
//!
//! Being built (issue 12): until the manager lands, every subcommand says so and fails.

/// Run `--cluster …`. `argv` is the whole `halab cli` command line after `cli` (redis-cli's
/// global flags `-a`, `--user`, `--pass`, `--no-auth-warning` and every `--cluster-*` option
/// may sit anywhere in it, as redis-cli allows). Returns the process's exit code.
pub fn run(argv: Vec<String>) -> i32 {
    let _ = argv;
    eprintln!("halab cli --cluster: the cluster manager is not built yet");
    1
}
