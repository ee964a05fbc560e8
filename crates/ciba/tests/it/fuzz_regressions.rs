//! The `ciba_token_response` fuzz target replayed on stable in a plain `cargo test`: every input
//! under `fuzz/regressions/ciba_token_response/`, `fuzz/seeds/ciba_token_response/` and
//! `fixtures/ciba/fuzz-seeds/ciba_token_response/` runs through the target's own harness, the
//! code libFuzzer runs. A fixed finding cannot come back unnoticed.
use std::path::{Path, PathBuf};

#[path = "../fuzz/ciba_token_response.rs"]
mod ciba_token_response;

/// Runs every input of `target` found in the known folders through `run`; a failure names the
/// file.
fn replay(target: &str, run: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut seen = 0;
    for dir in [
        root.join("fuzz/regressions").join(target),
        root.join("fuzz/seeds").join(target),
        root.join("fixtures/ciba/fuzz-seeds").join(target),
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
            seen += 1;
        }
    }
    assert!(seen > 0, "no seeds for {target}");
}

#[test]
fn ciba_token_response() {
    replay("ciba_token_response", ciba_token_response::run);
}
