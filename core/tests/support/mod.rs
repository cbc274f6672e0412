//! The tests' shared harness. Here: the node as the tests build it (a fixed start time, pid
//! and seed, no terminal logging, a config given as config-file text); in [`driver`], the
//! driver of a bare node the tests that drive one by hand share; in [`sim`], what the tests
//! that run a simulated world share.

#![allow(dead_code)] // each test file uses its own part

pub mod driver;
pub mod sim;

use halab_core::config::Config;
use halab_core::node::{Node, NodeOptions};

/// 22 Nov 2026 21:36:26.123 UTC: every hand-driven node starts here.
pub const T0: u64 = 1_795_383_386_123;

/// A node started at [`T0`] with `config_text` loaded as a config file would be.
pub fn test_node(seed: u64, config_text: &str) -> Node {
    let mut config = Config::default();
    config.load_text(config_text, &mut |_| Err("no includes".into())).unwrap();
    Node::new(NodeOptions {
        logs_to_terminal: false,
        is_executable: |_| true,
        seed,
        pid: 4242,
        config,
        config_file: None,
        executable: "halab".into(),
        start_ms: T0,
    })
}
