//! The replay of a fuzz target's inputs on stable, in a crate's ordinary `cargo test`: each
//! crate's `tests/it/fuzz_regressions.rs` includes this file with `#[path]` beside its
//! targets' harnesses (so it needs no dependency), and calls [`replay`] once per target. It is
//! not a fuzz target: no entry point in `fuzz_targets/` includes it.

use std::path::{Path, PathBuf};

/// Runs every input of `target` through `run`, regressions first: `fuzz/regressions/<target>/`
/// (minimised findings, since fixed), then the seeds, `fuzz/seeds/<target>/` and
/// `fixtures/<crate>/fuzz-seeds/<target>/` (the folders `cargo xtask fuzz` starts from). A
/// failure names the file; a target without a single seed fails too.
pub fn replay(target: &str, run: fn(&[u8])) {
    // The including crate's folder (`env!` expands where this file is included).
    let krate = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = krate.join("../..");
    let name = krate.file_name().unwrap_or_default();
    let mut seeds = 0;
    for (dir, is_seed) in [
        (root.join("fuzz/regressions").join(target), false),
        (root.join("fuzz/seeds").join(target), true),
        (
            root.join("fixtures")
                .join(name)
                .join("fuzz-seeds")
                .join(target),
            true,
        ),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).unwrap();
            if std::panic::catch_unwind(|| run(&data)).is_err() {
                panic!(
                    "{} breaks {target} (the harness's panic is above)",
                    file.display()
                );
            }
            seeds += usize::from(is_seed);
        }
    }
    assert!(seeds > 0, "{target} has no seeds (fuzz/seeds/{target}/)");
}
