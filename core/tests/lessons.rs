//! Every lesson in `lessons/` passes in the simulator, and runs the same way twice.

use halab_core::lab::lesson;
use halab_core::lab::sim::World;
use std::path::Path;

#[test]
fn every_lesson_passes_in_the_simulator_deterministically() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../lessons");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md") && !p.ends_with("README.md"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "expected the first lessons in {:?}", dir);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let parsed = lesson::parse(&text).unwrap_or_else(|e| panic!("{}: {}", file.display(), e));
        assert!(
            !parsed.narrative_zh.trim().is_empty() && !parsed.narrative_en.trim().is_empty(),
            "{}: both narratives",
            file.display()
        );
        let mut traces = Vec::new();
        for _ in 0..2 {
            let mut world = World::new(2026);
            let results = lesson::run(&parsed, &mut world);
            for r in &results {
                assert!(
                    r.ok,
                    "{} step {} '{}': expected {:?}, saw {:?}",
                    file.display(),
                    r.number,
                    r.text,
                    r.expected,
                    r.seen
                );
            }
            traces.push(world.trace_text());
        }
        assert_eq!(traces[0], traces[1], "{}: two runs differ", file.display());
    }
}
