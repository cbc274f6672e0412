//! `halab` — the one native binary of HA Lab.
//!
//! ```text
//! halab server [redis.conf] [--option value ...]   a Redis 7.0-compatible server
//! halab sentinel <sentinel.conf> [--option value]  a Redis 7.0-compatible Sentinel
//!                                                   (= halab server <sentinel.conf> --sentinel)
//! halab lesson run <file> [--seed N] [--trace out]  run a lesson in the simulator
//! halab lesson run <file> --live                    … or against local halab processes
//! halab lab [--port N] [--bind IP] [--attach H:P]    the web app and the live bridge (/ws)
//! halab cli [-h H] [-p P] [-c] [--raw] [cmd ...]     a redis-cli 7.0 work-alike (REPL,
//!                                                   one-shot, piped); cli --cluster … the manager
//! ```

mod admin;
mod cli;
mod driver;
mod lab;
mod lesson_cli;
mod live;
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
    /// Run a Sentinel (like redis-sentinel): a config file, then `--option value` pairs.
    #[command(disable_help_flag = true)]
    Sentinel {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// A redis-cli work-alike. Takes redis-cli's command line: options, then a command
    /// (none: the REPL); `--cluster <subcommand>` runs the cluster manager.
    #[command(disable_help_flag = true)]
    Cli {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Serve the lab: the web app (the in-browser simulator) and the live bridge on /ws.
    Lab(lab::Options),
    /// Lessons: tutorial experiments that run in the simulator.
    Lesson {
        #[command(subcommand)]
        command: LessonCommand,
    },
}

#[derive(Subcommand)]
enum LessonCommand {
    /// Run one lesson file; exits non-zero when a step's expectation fails.
    Run {
        file: String,
        /// Seed of the simulated world.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// Write the world's trace (every message, reply and log line) to this file.
        #[arg(long)]
        trace: Option<String>,
        /// Run against real `halab server` processes on loopback instead of the simulator.
        #[arg(long)]
        live: bool,
    },
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Server { args } => std::process::exit(server::run(args)),
        Command::Sentinel { mut args } => {
            args.push("--sentinel".into());
            std::process::exit(server::run(args))
        }
        Command::Cli { args } => std::process::exit(cli::run(args)),
        Command::Lab(options) => std::process::exit(lab::run(options)),
        Command::Lesson { command: LessonCommand::Run { file, seed, trace, live } } => {
            std::process::exit(lesson_cli::run(&file, seed, trace.as_deref(), live))
        }
    }
}
