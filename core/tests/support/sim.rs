//! What the tests that run a simulated world share: nodes with a client each, commands as
//! redis-cli prints their replies, INFO fields, and log expectations that print the node's log
//! when they fail.

use halab_core::lab::lesson::LessonTarget;
use halab_core::lab::sim::{World, WorldInput};
use halab_core::resp::{render_cli, Frame};

/// Add a node at `addr` with `config` (config-file text) and a client `cli-<name>` on it.
pub fn add_node(w: &mut World, name: &str, addr: &str, config: &str) {
    w.apply(WorldInput::AddNode { name: name.into(), addr: addr.into(), config: config.into() });
    add_client(w, &format!("cli-{}", name), name);
}

pub fn add_client(w: &mut World, client: &str, node: &str) {
    w.apply(WorldInput::AddClient { name: client.into(), node: node.into() });
}

/// Run a command (space-separated words) as `client`; its reply as redis-cli prints it.
pub fn on(w: &mut World, client: &str, args: &str) -> String {
    let words: Vec<&str> = args.split_whitespace().collect();
    match w.command(client, &words) {
        Some(f) => render_cli(&f),
        None => "(no reply)".into(),
    }
}

/// Run a command as the node's own client `cli-<node>`.
pub fn cmd(w: &mut World, node: &str, args: &str) -> String {
    on(w, &format!("cli-{}", node), args)
}

/// A field of the node's `INFO all`, asked by its client.
pub fn info(w: &mut World, node: &str, field: &str) -> String {
    let Some(Frame::Bulk(text)) = w.command(&format!("cli-{}", node), &["INFO", "all"]) else { panic!("no INFO") };
    let text = String::from_utf8_lossy(&text).into_owned();
    halab_core::lab::observe::info_field(&text, field).unwrap_or_else(|| panic!("no {} in {}", field, text))
}

/// A node's log lines (Redis's format), as lessons read them.
pub fn logs(w: &World, node: &str) -> Vec<String> {
    w.logs(node)
}

pub fn has_log(w: &World, node: &str, text: &str) -> bool {
    logs(w, node).iter().any(|l| l.contains(text))
}

pub fn count_log(w: &World, node: &str, text: &str) -> usize {
    logs(w, node).iter().filter(|l| l.contains(text)).count()
}

/// Assert that a line of `node`'s log contains `text`; on failure, print the log.
#[track_caller]
pub fn expect_log(w: &World, node: &str, text: &str) {
    let log = logs(w, node);
    assert!(
        log.iter().any(|l| l.contains(text)),
        "no line of {}'s log contains {:?}; the log:\n{}",
        node,
        text,
        log.join("\n")
    );
}

/// Assert that no line of `node`'s log contains `text`; on failure, print the log.
#[track_caller]
pub fn expect_no_log(w: &World, node: &str, text: &str) {
    let log = logs(w, node);
    assert!(!log.iter().any(|l| l.contains(text)), "{}'s log contains {:?}; the log:\n{}", node, text, log.join("\n"));
}

/// Assert that `node`'s log holds lines containing each of `texts`, in this order (other lines
/// may come between); on failure, print the log.
#[track_caller]
pub fn expect_log_order(w: &World, node: &str, texts: &[&str]) {
    let log = logs(w, node);
    let mut from = 0;
    for t in texts {
        match log[from..].iter().position(|l| l.contains(t)) {
            Some(i) => from += i + 1,
            None => panic!(
                "{}'s log has no {:?} after the lines before it in {:?}; the log:\n{}",
                node,
                t,
                texts,
                log.join("\n")
            ),
        }
    }
}

/// The message of a log line (`pid:R dd Mon yyyy hh:mm:ss.mmm * message`) and its role letter.
pub fn role_and_message(line: &str) -> (char, String) {
    let role = line.split_once(':').and_then(|(_, rest)| rest.chars().next()).unwrap_or('?');
    (role, halab_core::lab::observe::log_message(line).to_string())
}
