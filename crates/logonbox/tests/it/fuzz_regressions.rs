//! This crate's fuzz targets, replayed on stable in a plain `cargo test`: every input under
//! `fuzz/regressions/<target>/` (minimised findings, since fixed) and `fuzz/seeds/<target>/`
//! runs through the target's own harness, `fuzz/src/<target>.rs`, the code libFuzzer runs. A
//! fixed finding cannot come back unnoticed, and a seed that stops passing an invariant shows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

#[path = "../../../../fuzz/src/logonbox_key_blob.rs"]
mod logonbox_key_blob;

#[path = "../../../../fuzz/src/logonbox_listing.rs"]
mod logonbox_listing;

// The harness (fuzz/src, shared with libFuzzer) nests two `if let`s that clippy would collapse.
#[allow(clippy::collapsible_if)]
#[path = "../../../../fuzz/src/logonbox_response_blob.rs"]
mod logonbox_response_blob;

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
fn logonbox_key_blob() {
    replay("logonbox_key_blob", logonbox_key_blob::run);
}

#[test]
fn logonbox_listing() {
    replay("logonbox_listing", logonbox_listing::run);
}

#[test]
fn logonbox_response_blob() {
    replay("logonbox_response_blob", logonbox_response_blob::run);
}
