//! How fast the simulator runs: simulated seconds per wall-clock second for a 6-node world in
//! which each node serves a client sending 100 commands per simulated second.
//!
//!     cargo run --release -p halab-core --example sim_speed [simulated-seconds]
//!
//! `scripts/bench` prints this figure beside the server benchmarks.

use halab_core::lab::sim::{benchmark_load, benchmark_world};
use std::time::Instant;

fn main() {
    let secs: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(300);
    let mut w = benchmark_world();
    let start = Instant::now();
    let commands = benchmark_load(&mut w, secs);
    let wall = start.elapsed().as_secs_f64();
    let simulated = w.elapsed() as f64 / 1000.0;
    println!(
        "sim busy: 6 nodes, {} commands, {:.0} simulated s in {:.2} wall s = {:.0}x real time ({} trace events)",
        commands,
        simulated,
        wall,
        simulated / wall,
        w.trace().len()
    );
    // The same world idle: only the nodes' timers (serverCron at hz 10) run.
    let start = Instant::now();
    let until = w.now() + secs * 10_000;
    w.run_until(until);
    let wall = start.elapsed().as_secs_f64();
    println!(
        "sim idle: 6 nodes, {} simulated s in {:.2} wall s = {:.0}x real time",
        secs * 10,
        wall,
        (secs * 10) as f64 / wall
    );
}
