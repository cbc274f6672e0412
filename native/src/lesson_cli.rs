//! `halab lesson run <file> [--seed N] [--trace out] [--live]`: run a lesson in the simulator
//! (or against live local processes) and say, step by step, what was expected and what was
//! seen. Exits non-zero when a step fails.

use halab_core::lab::lesson;
use halab_core::lab::sim::World;

pub fn run(file: &str, seed: u64, trace: Option<&str>, live: bool) -> i32 {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read {}: {}", file, e);
            return 2;
        }
    };
    let parsed = match lesson::parse(&text) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{}: {}", file, e);
            return 2;
        }
    };
    let mut world = World::new(seed);
    let results = if live {
        println!("{}  (live halab server processes on 127.0.0.0/8)", parsed.title);
        let mut target = match crate::live::LiveTarget::new() {
            Ok(t) => t,
            Err(e) => {
                eprintln!("cannot prepare live processes: {}", e);
                return 2;
            }
        };
        lesson::run(&parsed, &mut target)
    } else {
        println!("{}  (seed {}, simulator)", parsed.title, seed);
        lesson::run(&parsed, &mut world)
    };
    let mut failed = 0;
    for r in &results {
        let mark = if r.ok { "✓" } else { "✗" };
        println!("  {} {}. {}", mark, r.number, r.text);
        if !r.ok {
            failed += 1;
            println!("      expected: {}", r.expected.as_deref().unwrap_or("").replace('\n', "\n                "));
            println!("      seen:     {}", r.seen.replace('\n', "\n                "));
        }
    }
    println!("{} passed, {} failed", results.len() - failed, failed);
    if let Some(path) = trace.filter(|_| !live) {
        if let Err(e) = std::fs::write(path, world.trace_text()) {
            eprintln!("cannot write trace {}: {}", path, e);
            return 2;
        }
    }
    if failed > 0 {
        1
    } else {
        0
    }
}
