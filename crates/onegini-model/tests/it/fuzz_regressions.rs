//! This crate's fuzz targets, replayed on stable in a plain `cargo test`: every input under
//! `fuzz/regressions/<target>/` (minimised findings, since fixed) and `fuzz/seeds/<target>/`
//! runs through the target's own harness, `fuzz/src/<target>.rs`, the code libFuzzer runs. A
//! fixed finding cannot come back unnoticed, and a seed that stops passing an invariant shows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

#[path = "../../../../fuzz/src/onegini_model_ocra.rs"]
mod onegini_model_ocra;

#[path = "../../../../fuzz/src/onegini_model_pin_secret.rs"]
mod onegini_model_pin_secret;

/// Runs every regression and seed input of `target` through `run`; a failure names the file.
fn replay(target: &str, run: fn(&[u8])) {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut seeds = 0;
    for kind in ["regressions", "seeds"] {
        let dir = fuzz.join(kind).join(target);
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
            Err(_) if kind == "regressions" => continue,
            Err(e) => panic!("{}: {e}", dir.display()),
        };
        files.sort();
        for file in files {
            let data = std::fs::read(&file).unwrap();
            if std::panic::catch_unwind(|| run(&data)).is_err() {
                panic!(
                    "{} breaks {target} (the harness's panic is above)",
                    file.display()
                );
            }
            seeds += usize::from(kind == "seeds");
        }
    }
    assert!(seeds > 0, "fuzz/seeds/{target}/ has no inputs");
}

#[test]
fn onegini_model_ocra() {
    replay("onegini_model_ocra", onegini_model_ocra::run);
}

#[test]
fn onegini_model_pin_secret() {
    replay("onegini_model_pin_secret", onegini_model_pin_secret::run);
}
