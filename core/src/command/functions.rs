//! `FUNCTION` and `FCALL`: Redis 7.0's function library, with no script engine.
//!
//! Lua is not part of the lab, so no library can be loaded: `FUNCTION LOAD` answers as a
//! Redis without the engine would (`Engine 'lua' not found`). Everything else answers as 7.0
//! answers for an empty library — clients and Redis's own test harness send `FUNCTION FLUSH`
//! and `FUNCTION LIST` to any server they meet, and `FUNCTION DUMP` / `RESTORE` move an empty
//! library between servers (Redis's functions.c).

use super::{eq_ic, Ctx, Handler};
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] = &[("function", function), ("fcall", fcall), ("fcall_ro", fcall)];

const HELP: &[&str] = &[
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
    "HELP",
    "    Print this help.",
];

/// The payload of an empty library: the RDB version and the CRC64 of what precedes it, as
/// every DUMP payload ends.
fn empty_payload() -> Vec<u8> {
    let mut out = crate::rdb::RDB_VERSION.to_le_bytes().to_vec();
    let crc = crate::rdb::crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn function(ctx: &mut Ctx, args: &mut [Bytes]) {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    let argc = args.len();
    match sub.as_str() {
        "help" => super::reply_help(ctx, HELP),
        "load" => {
            let code = &args[argc - 1];
            if argc > 4 || (argc == 4 && !eq_ic(&args[2], "REPLACE")) {
                return ctx.error(&format!("ERR Unknown option given: {}", String::from_utf8_lossy(&args[2])));
            }
            let Some(shebang) = code.strip_prefix(b"#!") else {
                return ctx.error("ERR Missing library metadata");
            };
            let first = shebang.split(|&b| b == b'\n').next().unwrap_or(b"");
            let engine = first.split(|&b| b == b' ').next().unwrap_or(b"");
            ctx.error(&format!("ERR Engine '{}' not found", String::from_utf8_lossy(engine)));
        }
        "list" => {
            let mut i = 2;
            let (mut with_code, mut name) = (false, false);
            while i < argc {
                if !with_code && eq_ic(&args[i], "WITHCODE") {
                    with_code = true;
                } else if !name && eq_ic(&args[i], "LIBRARYNAME") {
                    if i + 1 >= argc {
                        return ctx.error("ERR library name argument was not given");
                    }
                    name = true;
                    i += 1;
                } else {
                    return ctx.error(&format!("ERR Unknown argument {}", String::from_utf8_lossy(&args[i])));
                }
                i += 1;
            }
            ctx.reply().array(0);
        }
        "stats" => {
            let r = ctx.reply();
            r.map(2);
            r.bulk_str("running_script");
            r.null();
            r.bulk_str("engines");
            r.map(0);
        }
        "kill" => ctx.error("NOTBUSY No scripts in execution right now."),
        "delete" => ctx.error("ERR Library not found"),
        "flush" => {
            if argc > 3 {
                return ctx.error(&subcommand_syntax_error(&args[1]));
            }
            if argc == 3 && !eq_ic(&args[2], "SYNC") && !eq_ic(&args[2], "ASYNC") {
                return ctx.error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
            }
            ctx.ok();
        }
        "dump" => ctx.reply().bulk(&empty_payload()),
        "restore" => {
            if argc > 4 {
                return ctx.error(&subcommand_syntax_error(&args[1]));
            }
            if argc == 4 && !["APPEND", "REPLACE", "FLUSH"].iter().any(|p| eq_ic(&args[3], p)) {
                return ctx.error("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
            }
            let payload = &args[2];
            let valid = payload.len() >= 10 && {
                let (body, crc) = payload.split_at(payload.len() - 8);
                let version = u16::from_le_bytes([body[body.len() - 2], body[body.len() - 1]]);
                version <= crate::rdb::RDB_VERSION && crate::rdb::crc64(body).to_le_bytes() == crc
            };
            if !valid {
                return ctx.error("ERR DUMP payload version or checksum are wrong");
            }
            if payload.len() > 10 {
                // It holds libraries: their code needs an engine this server lacks.
                return ctx.error("ERR Engine 'LUA' not found");
            }
            ctx.ok();
        }
        _ => ctx.error(&subcommand_syntax_error(&args[1])),
    }
}

fn subcommand_syntax_error(sub: &[u8]) -> String {
    format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.",
        String::from_utf8_lossy(sub)
    )
}

/// `FCALL name numkeys key… arg…`: with an empty library every function is missing (the
/// function is looked up before the key count is read).
fn fcall(ctx: &mut Ctx, _args: &mut [Bytes]) {
    ctx.error("ERR Function not found");
}
