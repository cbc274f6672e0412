//! # halab-core — a Redis node as a deterministic state machine
//!
//! Everything in HA Lab that *decides* lives in this crate: how a request is parsed, what a
//! command does to the keyspace, what a reply looks like, when a key expires. Nothing here
//! touches a clock, a socket, a file, a thread or the operating system's randomness. A driver
//! hands a [`node::Node`] the time and the bytes it received, and takes back the bytes to send
//! and the effects to carry out:
//!
//! ```text
//! node.handle(now, Input::…);          // a connection opened, bytes arrived, a tick
//! while let Some(out) = node.poll() {  // Output::Send { conn, bytes } | Close | Log | …
//!     …
//! }
//! let next = node.poll_timeout();      // when to wake the node next
//! ```
//!
//! The same code is compiled natively into the `halab server` process (the driver is tokio)
//! and to wasm for the in-browser simulator (the driver is a virtual network): what a learner
//! watches in the browser is what the real server does.

pub mod admin;
pub mod cluster;
pub mod command;
pub mod config;
pub mod keyspace;
pub mod lab;
pub mod log;
pub mod long_double;
pub mod net;
pub mod node;
pub mod pattern;
pub mod rdb;
pub mod replication;
pub mod resp;
pub mod rng;
pub mod sentinel;
