//! `halab` — the one native binary of HA Lab.
//!
//! ```text
//! halab server [redis.conf] [--option value ...]   a Redis 7.0-compatible server
//! ```
//!
//! Later issues add `sentinel`, `cli`, `lab` (the web bridge) and `lesson`.

mod server;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "halab", version, about = "HA Lab: a teaching lab and simulator for Redis high availability")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a Redis-compatible server. Takes redis-server's command line:
    /// an optional config file, then `--option value` pairs.
    #[command(disable_help_flag = true)]
    Server {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Server { args } => std::process::exit(server::run(args)),
    }
}
