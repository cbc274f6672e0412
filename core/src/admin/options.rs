//! The command line of `redis-cli --cluster <subcommand> args… [--cluster-* options]`, read as
//! redis-cli 7.0's `parseOptions` reads it.
//!
//! ```text
//!   redis-cli -a secret --cluster reshard 127.0.0.1:7000 --cluster-from all --cluster-to <id> \
//!             --cluster-slots 4096 --cluster-yes
//! ```
//!
//! `--cluster` takes the next word as the subcommand and every following word that does not
//! start with `-` as its arguments; the `--cluster-*` options, `-a`/`--pass`, `--user` and
//! `--no-auth-warning` may stand anywhere, before or after. A word without a dash after the
//! subcommand's arguments is taken as the arguments only if there were none yet (redis-cli's
//! `CLUSTER_MANAGER_MODE() && argv[i][0] != '-'` branch). Numbers are read with `atoi`/`atof`:
//! a bad number is 0, as in C. `validateClusterManagerCommand` then checks the subcommand's
//! name and arity against the table below (`clusterManagerCommands`).

use crate::resp::atoi;

/// One row of `clusterManagerCommands`: name, arity (negative: at least), the arguments and
/// options `help` shows.
pub(crate) struct CommandDef {
    pub name: &'static str,
    pub arity: i32,
    pub args: Option<&'static str>,
    pub options: Option<&'static str>,
}

const HOST_ARGS: &str = "<host:port> or <host> <port> - separated by either colon or space";

pub(crate) const COMMANDS: &[CommandDef] = &[
    CommandDef { name: "create", arity: -2, args: Some("host1:port1 ... hostN:portN"), options: Some("replicas <arg>") },
    CommandDef { name: "check", arity: -1, args: Some(HOST_ARGS), options: Some("search-multiple-owners") },
    CommandDef { name: "info", arity: -1, args: Some(HOST_ARGS), options: None },
    CommandDef {
        name: "fix",
        arity: -1,
        args: Some(HOST_ARGS),
        options: Some("search-multiple-owners,fix-with-unreachable-masters"),
    },
    CommandDef {
        name: "reshard",
        arity: -1,
        args: Some(HOST_ARGS),
        options: Some("from <arg>,to <arg>,slots <arg>,yes,timeout <arg>,pipeline <arg>,replace"),
    },
    CommandDef {
        name: "rebalance",
        arity: -1,
        args: Some(HOST_ARGS),
        options: Some(
            "weight <node1=w1...nodeN=wN>,use-empty-masters,timeout <arg>,simulate,pipeline <arg>,threshold <arg>,replace",
        ),
    },
    CommandDef {
        name: "add-node",
        arity: 2,
        args: Some("new_host:new_port existing_host:existing_port"),
        options: Some("slave,master-id <arg>"),
    },
    CommandDef { name: "del-node", arity: 2, args: Some("host:port node_id"), options: None },
    CommandDef {
        name: "call",
        arity: -2,
        args: Some("host:port command arg arg .. arg"),
        options: Some("only-masters,only-replicas"),
    },
    CommandDef { name: "set-timeout", arity: 2, args: Some("host:port milliseconds"), options: None },
    CommandDef {
        name: "import",
        arity: 1,
        args: Some("host:port"),
        options: Some("from <arg>,from-user <arg>,from-pass <arg>,from-askpass,copy,replace"),
    },
    CommandDef { name: "backup", arity: 2, args: Some("host:port backup_directory"), options: None },
    CommandDef { name: "help", arity: 0, args: None, options: None },
];

/// What the manager was asked to do: `config.cluster_manager_command` and the connection
/// options it uses.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterOptions {
    /// The subcommand's name (`create`, `check`, …).
    pub name: String,
    /// Its arguments.
    pub args: Vec<String>,
    pub replicas: i32,
    pub master_id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub from_user: Option<String>,
    pub from_pass: Option<String>,
    /// `--cluster-weight n1=w1 n2=w2 …`.
    pub weights: Vec<String>,
    pub slots: i32,
    /// MIGRATE's timeout, ms (`--cluster-timeout`, 60000).
    pub timeout_ms: i32,
    /// Keys per GETKEYSINSLOT/MIGRATE round (`--cluster-pipeline`, 10).
    pub pipeline: i32,
    /// Rebalance's threshold, percent (`--cluster-threshold`, 2).
    pub threshold: f32,
    pub yes: bool,
    pub simulate: bool,
    pub replace: bool,
    pub copy: bool,
    pub slave: bool,
    pub use_empty_masters: bool,
    pub search_multiple_owners: bool,
    pub fix_with_unreachable_masters: bool,
    pub only_masters: bool,
    pub only_replicas: bool,
    /// Set by `fix` (`CLUSTER_MANAGER_CMD_FLAG_FIX`).
    pub fix: bool,
    /// `--verbose`: rebalance prints each node's balance.
    pub verbose: bool,
    /// `-a`/`--pass` (or `REDISCLI_AUTH`): AUTH on every connection.
    pub auth: Option<String>,
    /// `--user`: AUTH's user name.
    pub user: Option<String>,
}

/// What the driver reads from its environment for the manager (`parseEnv`, `isColorTerm`).
#[derive(Clone, Debug, Default)]
pub struct Environment {
    /// `REDISCLI_AUTH`.
    pub auth: Option<String>,
    /// `REDISCLI_CLUSTER_YES` is `1`.
    pub cluster_yes: bool,
    /// `TERM` contains `xterm`: messages are coloured by level.
    pub color: bool,
}

/// The outcome of reading the command line.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    /// Run the subcommand; `warnings` go to stderr first.
    Run { options: Box<ClusterOptions>, warnings: Vec<String> },
    /// Print `stderr` and exit with `code` (an unknown subcommand, a bad option…).
    Exit { stderr: String, code: i32 },
}

/// C's `atof`, enough for weights and thresholds: the longest prefix that parses.
pub(crate) fn atof(s: &str) -> f64 {
    let s = s.trim_start();
    (1..=s.len()).rev().filter(|&n| s.is_char_boundary(n)).find_map(|n| s[..n].parse::<f64>().ok()).unwrap_or(0.0)
}

/// `%XX` escapes of a URI's user and password (`percentDecode`).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let Some(v) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `-u redis://[[user:]password@]host[:port][/db]` (`parseRedisUri`): only the credentials
/// matter to the manager, which is given its nodes by address.
fn parse_uri(uri: &str, o: &mut ClusterOptions) -> Result<(), String> {
    let lower = uri.to_ascii_lowercase();
    if lower.starts_with("rediss://") {
        return Err("rediss:// is only supported when redis-cli is compiled with OpenSSL\n".into());
    }
    let Some(rest) = lower.starts_with("redis://").then(|| &uri[8..]) else {
        return Err("Invalid URI scheme\n".into());
    };
    if let Some(at) = rest.find('@') {
        let userinfo = &rest[..at];
        match userinfo.find(':') {
            Some(colon) => {
                o.user = Some(percent_decode(&userinfo[..colon]));
                o.auth = Some(percent_decode(&userinfo[colon + 1..]));
            }
            None => o.auth = Some(percent_decode(userinfo)),
        }
    }
    Ok(())
}

/// redis-cli's global options that take a value: skipped by the manager.
const VALUE_OPTIONS: &[&str] = &["-h", "-p", "-s", "-r", "-i", "-n", "-d", "-D", "-X", "--show-pushes"];
/// …and those that take none.
const FLAG_OPTIONS: &[&str] =
    &["-x", "--raw", "--no-raw", "--csv", "--quoted-input", "-c", "-e", "-2", "-3", "--no-auth-warning", "--verbose"];

/// Read `argv` (the whole command line after the program's name) as `parseOptions` does, then
/// check the subcommand as `validateClusterManagerCommand` does.
pub fn parse(argv: &[String], env: &Environment) -> Parsed {
    let mut o = ClusterOptions { timeout_ms: 60000, pipeline: 10, threshold: 2.0, ..ClusterOptions::default() };
    let mut have_command = false;
    let mut no_auth_warning = false;
    let exit = |msg: String| Parsed::Exit { stderr: msg, code: 1 };
    let mut i = 0;
    while i < argv.len() {
        let arg = argv[i].as_str();
        let last = i + 1 == argv.len();
        let next = || argv[i + 1].clone();
        let mut skip = 0;
        match arg {
            "--cluster" if !last => {
                if have_command {
                    return exit("Usage: redis-cli --cluster <subcommand> [args…] (given twice)\n".into());
                }
                have_command = true;
                o.name = next();
                let first = i + 2;
                let mut j = first;
                while j < argv.len() && !argv[j].starts_with('-') {
                    j += 1;
                }
                o.args = argv[first..j].to_vec();
                i = j;
                continue;
            }
            "--cluster" => return exit("Usage: redis-cli --cluster <subcommand> [args…]\n".into()),
            "-a" | "--pass" if !last => {
                o.auth = Some(next());
                skip = 1;
            }
            "--user" if !last => {
                o.user = Some(next());
                skip = 1;
            }
            "-u" if !last => {
                if let Err(msg) = parse_uri(&next(), &mut o) {
                    return exit(msg);
                }
                skip = 1;
            }
            "--no-auth-warning" => no_auth_warning = true,
            "--verbose" => o.verbose = true,
            "--cluster-only-masters" => o.only_masters = true,
            "--cluster-only-replicas" => o.only_replicas = true,
            "--cluster-yes" => o.yes = true,
            "--cluster-simulate" => o.simulate = true,
            "--cluster-replace" => o.replace = true,
            "--cluster-copy" => o.copy = true,
            "--cluster-slave" => o.slave = true,
            "--cluster-use-empty-masters" => o.use_empty_masters = true,
            "--cluster-search-multiple-owners" => o.search_multiple_owners = true,
            "--cluster-fix-with-unreachable-masters" => o.fix_with_unreachable_masters = true,
            "--cluster-from-askpass" => {
                return exit("halab cli: --cluster-from-askpass is not supported; use --cluster-from-pass\n".into())
            }
            "--cluster-replicas" if !last => {
                o.replicas = atoi(&next()) as i32;
                skip = 1;
            }
            "--cluster-master-id" if !last => {
                o.master_id = Some(next());
                skip = 1;
            }
            "--cluster-from" if !last => {
                o.from = Some(next());
                skip = 1;
            }
            "--cluster-to" if !last => {
                o.to = Some(next());
                skip = 1;
            }
            "--cluster-from-user" if !last => {
                o.from_user = Some(next());
                skip = 1;
            }
            "--cluster-from-pass" if !last => {
                o.from_pass = Some(next());
                skip = 1;
            }
            "--cluster-slots" if !last => {
                o.slots = atoi(&next()) as i32;
                skip = 1;
            }
            "--cluster-timeout" if !last => {
                o.timeout_ms = atoi(&next()) as i32;
                skip = 1;
            }
            "--cluster-pipeline" if !last => {
                o.pipeline = atoi(&next()) as i32;
                skip = 1;
            }
            "--cluster-threshold" if !last => {
                o.threshold = atof(&next()) as f32;
                skip = 1;
            }
            "--cluster-weight" if !last => {
                if !o.weights.is_empty() {
                    return exit(
                        "WARNING: you cannot use --cluster-weight more than once.\n\
                         You can set more weights by adding them as a space-separated list, ie:\n\
                         --cluster-weight n1=w n2=w\n"
                            .into(),
                    );
                }
                let mut j = i + 1;
                while j < argv.len() && !argv[j].starts_with("--") && argv[j].contains('=') {
                    j += 1;
                }
                o.weights = argv[i + 1..j].to_vec();
                skip = j - i - 1;
            }
            _ if VALUE_OPTIONS.contains(&arg) && !last => skip = 1,
            _ if FLAG_OPTIONS.contains(&arg) => {}
            _ if arg.starts_with('-') => {
                return exit(format!("Unrecognized option or bad number of args for: '{}'\n", arg));
            }
            _ => {
                // A word after the options: the subcommand's arguments if it has none yet.
                if have_command && o.args.is_empty() {
                    let mut j = i;
                    while j < argv.len() && !argv[j].starts_with('-') {
                        j += 1;
                    }
                    o.args = argv[i..j].to_vec();
                    i = j;
                    continue;
                } else if !have_command {
                    break;
                }
            }
        }
        i += 1 + skip;
    }
    if !have_command {
        return exit("halab cli: no --cluster subcommand\n".into());
    }
    let mut warnings = Vec::new();
    if !no_auth_warning && o.auth.is_some() {
        warnings.push(
            "Warning: Using a password with '-a' or '-u' option on the command line interface may not be safe.\n"
                .into(),
        );
    }
    // parseEnv, after the command line: it never overrides a given password.
    if o.auth.is_none() {
        o.auth = env.auth.clone();
    }
    if env.cluster_yes {
        o.yes = true;
    }
    match COMMANDS.iter().find(|c| c.name == o.name) {
        None => exit("Unknown --cluster subcommand\n".into()),
        Some(def) => {
            let argc = o.args.len() as i32;
            if (def.arity > 0 && argc != def.arity) || (def.arity < 0 && argc < -def.arity) {
                exit("[ERR] Wrong number of arguments for specified --cluster sub command\n".into())
            } else {
                Parsed::Run { options: Box::new(o), warnings }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn run(s: &str) -> ClusterOptions {
        match parse(&args(s), &Environment::default()) {
            Parsed::Run { options, .. } => *options,
            other => panic!("{:?}", other),
        }
    }

    #[test]
    fn options_stand_anywhere() {
        let o = run("--cluster-replicas 1 --cluster create 127.0.0.1:1 127.0.0.1:2 --cluster-yes");
        assert_eq!(o.name, "create");
        assert_eq!(o.args, vec!["127.0.0.1:1", "127.0.0.1:2"]);
        assert_eq!(o.replicas, 1);
        assert!(o.yes);
        let o =
            run("-a pw --cluster reshard 127.0.0.1:7000 --cluster-from a,b --cluster-slots 10x --cluster-pipeline 5");
        assert_eq!(o.auth.as_deref(), Some("pw"));
        assert_eq!(o.from.as_deref(), Some("a,b"));
        assert_eq!((o.slots, o.pipeline, o.timeout_ms), (10, 5, 60000));
        let o = run("--cluster rebalance 127.0.0.1:7000 --cluster-weight a=1 b=2.5 --cluster-threshold 1.5");
        assert_eq!(o.weights, vec!["a=1", "b=2.5"]);
        assert_eq!(o.threshold, 1.5);
    }

    #[test]
    fn arity_and_names_are_checked() {
        let e = parse(&args("--cluster add-node 127.0.0.1:1"), &Environment::default());
        assert_eq!(
            e,
            Parsed::Exit {
                stderr: "[ERR] Wrong number of arguments for specified --cluster sub command\n".into(),
                code: 1
            }
        );
        let e = parse(&args("--cluster nope 1"), &Environment::default());
        assert_eq!(e, Parsed::Exit { stderr: "Unknown --cluster subcommand\n".into(), code: 1 });
        assert!(matches!(parse(&args("--cluster help"), &Environment::default()), Parsed::Run { .. }));
    }

    #[test]
    fn the_password_warning_unless_silenced() {
        let Parsed::Run { warnings, .. } = parse(&args("-a x --cluster check 1:2"), &Environment::default()) else {
            panic!()
        };
        assert_eq!(warnings.len(), 1);
        let Parsed::Run { warnings, .. } =
            parse(&args("-a x --no-auth-warning --cluster check 1:2"), &Environment::default())
        else {
            panic!()
        };
        assert!(warnings.is_empty());
    }

    #[test]
    fn uri_credentials() {
        let o = run("-u redis://al%21ce:pw@127.0.0.1:7000/0 --cluster check 127.0.0.1:7000");
        assert_eq!((o.user.as_deref(), o.auth.as_deref()), (Some("al!ce"), Some("pw")));
        let o = run("-u redis://pw@h --cluster check 127.0.0.1:7000");
        assert_eq!((o.user, o.auth.as_deref()), (None, Some("pw")));
        let e = parse(&args("-u http://x --cluster check 1:2"), &Environment::default());
        assert_eq!(e, Parsed::Exit { stderr: "Invalid URI scheme\n".into(), code: 1 });
    }

    #[test]
    fn c_numbers() {
        assert_eq!(atoi(" 42abc"), 42);
        assert_eq!(atoi("x"), 0);
        assert_eq!(atoi("-7"), -7);
        assert_eq!(atof("2.5x"), 2.5);
        assert_eq!(atof("nope"), 0.0);
    }
}
