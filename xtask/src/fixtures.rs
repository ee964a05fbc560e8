//! `cargo xtask fixtures`: regenerate `fixtures/` deterministically.
//!
//! Each provider crate owns its generated fixtures through the `fixtures` module of its test
//! binary (`tests/it/fixtures.rs`, see [`crate::conformance::suite`]) that recomputes them (fixed keys and seeds) and compares with the checked-in files; with
//! `OOB_AUTH_BLESS=1` it rewrites them instead. This task runs those tests in bless mode (or,
//! with `--check`, in check mode).
//!
//! `--independent [provider]` regenerates the fixtures made by independent implementations:
//! `xtask/independent/<provider>.py`, run in a virtualenv under `target/` with the PyPI packages
//! named on its `# requires:` lines. Their output is checked in with a `_provenance` record; the
//! plain test run only reads it.

use std::path::PathBuf;
use std::process::Command;

use crate::PROVIDERS;
use crate::conformance::{TEST_BUILD, suite};
use crate::util::{build_artifacts, root, run as run_cmd};

pub fn run(args: &[&str]) -> Result<(), String> {
    match args {
        [] => generated(true),
        ["--check"] => generated(false),
        ["--independent"] => independent(PROVIDERS),
        ["--independent", p] if PROVIDERS.contains(p) => independent(&[p]),
        _ => Err("usage: cargo xtask fixtures [--check | --independent [provider]]".into()),
    }
}

fn generated(bless: bool) -> Result<(), String> {
    let artifacts = build_artifacts(TEST_BUILD)?;
    let mut ran = 0;
    for provider in PROVIDERS {
        let Some((target, filter)) = suite(provider, "fixtures") else {
            continue;
        };
        let Some(bin) = artifacts
            .iter()
            .find(|a| a.package == *provider && a.target == target && a.kind == "test")
        else {
            return Err(format!("{provider}'s `{target}` test suite was not built"));
        };
        let mut cmd = Command::new(&bin.executable);
        cmd.arg(&filter)
            .current_dir(root().join("crates").join(provider))
            .env("CARGO_MANIFEST_DIR", root().join("crates").join(provider));
        if bless {
            cmd.env("OOB_AUTH_BLESS", "1");
        } else {
            cmd.env_remove("OOB_AUTH_BLESS");
        }
        run_cmd(&mut cmd)?;
        ran += 1;
    }
    println!(
        "fixtures: {} {ran} provider fixture suite(s)",
        if bless { "regenerated with" } else { "checked" }
    );
    Ok(())
}

fn independent(providers: &[&str]) -> Result<(), String> {
    let venv = root().join("target/xtask-venv");
    let python = venv.join("bin/python3");
    if !python.exists() {
        run_cmd(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    let mut ran = 0;
    for provider in providers {
        let script: PathBuf = root()
            .join("xtask/independent")
            .join(format!("{provider}.py"));
        let Ok(text) = std::fs::read_to_string(&script) else {
            println!("{provider}: no independent fixture script");
            continue;
        };
        let requires: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# requires:"))
            .flat_map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        if !requires.is_empty() {
            run_cmd(
                Command::new(&python)
                    .args(["-m", "pip", "install", "--quiet"])
                    .args(&requires),
            )?;
        }
        run_cmd(Command::new(&python).arg(&script).current_dir(root()))?;
        ran += 1;
    }
    println!("fixtures: ran {ran} independent fixture script(s); review and commit fixtures/");
    Ok(())
}
