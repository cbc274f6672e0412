//! How fast the simulator runs: simulated seconds per wall-clock second for a 6-node world in
//! which each node serves a client sending 100 commands per simulated second.
//!
//!     cargo run --release -p halab-core --example sim_speed [simulated-seconds]
//!
//! `scripts/bench` prints this figure beside the server benchmarks.

use halab_core::sim::{World, WorldInput};
use std::time::Instant;

fn main() {
    let secs: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(300);
    let mut w = World::new(1);
    for i in 0..6 {
        w.apply(WorldInput::AddNode {
            name: format!("n{i}"),
            addr: format!("192.168.30.201:{}", 6390 + i),
            config: String::new(),
        });
        w.apply(WorldInput::AddClient { name: format!("c{i}"), node: format!("n{i}") });
    }
    let start = Instant::now();
    let mut commands = 0u64;
    for tick in 0..secs * 100 {
        for i in 0..6 {
            let key = format!("key:{}", tick % 1000);
            let args: Vec<Vec<u8>> = if tick % 2 == 0 {
                vec![b"SET".to_vec(), key.into_bytes(), b"value".to_vec()]
            } else {
                vec![b"GET".to_vec(), key.into_bytes()]
            };
            w.apply(WorldInput::Command { client: format!("c{i}"), args });
            commands += 1;
        }
        let until = w.now() + 10;
        w.run_until(until);
    }
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
