//! `cargo xtask fuzz`: the fuzz smoke. Every target in `fuzz/` (cargo-fuzz, libFuzzer) runs for
//! a few seconds from its seeds and recorded regressions; any crash, timeout or out-of-memory
//! fails it.
//!
//! The targets are built once, together (`cargo fuzz build`, address sanitizer, release), on the
//! stable toolchain with `RUSTC_BOOTSTRAP=1` for the sanitizer flag (STYLE.md §5). Each target
//! then gets [`SECONDS`] (`--seconds` or `OOB_FUZZ_SECONDS` to change it). Ten seconds: the
//! first one replays every seed and regression input under the sanitizer, the rest mutate from
//! them (tens to hundreds of thousands of runs per target on 2 cores): enough for a smoke, which
//! catches shallow crashes and findings that come back. Eleven targets then cost about two minutes
//! on top of the build (about three); `.ci/run` must stay well under 30 minutes in all. Longer
//! campaigns are run by hand (`fuzz/README.md`). The regression inputs also run as plain tests
//! on stable (`crates/<crate>/tests/it/fuzz_regressions.rs`).

use std::path::PathBuf;
use std::time::Instant;

use crate::tools;
use crate::util::{root, run, table};

/// Seconds each target runs in the smoke.
pub const SECONDS: u64 = 10;

/// `cargo fuzz build`/`run` options (the same for both, or `run` rebuilds): release with debug
/// assertions and the address sanitizer (cargo-fuzz's defaults), but 16 codegen units instead
/// of 1, which builds faster on 2 cores for runs a little slower.
const BUILD_FLAGS: [&str; 2] = ["--codegen-units", "16"];

/// libFuzzer's per-input limit: one input slower than this is a finding.
const INPUT_TIMEOUT: u64 = 10;

/// A target's seed and regression inputs: `fuzz/seeds/<target>/`, `fuzz/regressions/<target>/`,
/// and `fixtures/<crate>/fuzz-seeds/<target>/` for a crate that keeps its seeds with its fixtures.
fn input_dirs(target: &str) -> Vec<PathBuf> {
    let mut dirs = vec![
        root().join("fuzz/seeds").join(target),
        root().join("fuzz/regressions").join(target),
    ];
    if let Ok(fixtures) = std::fs::read_dir(root().join("fixtures")) {
        dirs.extend(
            fixtures
                .flatten()
                .map(|e| e.path().join("fuzz-seeds").join(target)),
        );
    }
    dirs.retain(|d| d.is_dir());
    dirs
}

pub fn smoke(args: &[&str]) -> Result<(), String> {
    let mut wanted: Vec<String> = Vec::new();
    let mut seconds = match std::env::var("OOB_FUZZ_SECONDS") {
        Ok(s) => s
            .parse::<u64>()
            .map_err(|_| format!("OOB_FUZZ_SECONDS={s}: not a number of seconds"))?,
        Err(_) => SECONDS,
    };
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match *arg {
            "--seconds" => {
                seconds = rest
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("usage: cargo xtask fuzz [--seconds N] [target…]")?;
            }
            t if !t.starts_with('-') => wanted.push(t.to_owned()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    // libfuzzer-sys compiles libFuzzer (C++) with the system C++ compiler.
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    if std::process::Command::new(&cxx)
        .arg("--version")
        .output()
        .map_or(true, |o| !o.status.success())
    {
        return Err(format!(
            "the fuzz smoke needs a C++ compiler for libFuzzer and `{cxx}` does not run \
             (Debian: apt-get install g++; or set CXX)"
        ));
    }
    // Found (or installed) once; every run below uses the same one.
    let found = tools::FUZZ.ensure()?;
    let dir = root().join("fuzz");
    let fuzz = || -> Result<std::process::Command, String> {
        let mut cmd = tools::FUZZ.command_for(&found);
        cmd.current_dir(&dir).env("RUSTC_BOOTSTRAP", "1");
        Ok(cmd)
    };

    let listed = crate::util::output(fuzz()?.arg("list"))?;
    let all: Vec<String> = listed.lines().map(|l| l.trim().to_owned()).collect();
    if let Some(unknown) = wanted.iter().find(|w| !all.contains(w)) {
        return Err(format!(
            "no fuzz target `{unknown}`; targets: {}",
            all.join(", ")
        ));
    }
    let targets: Vec<String> = if wanted.is_empty() { all } else { wanted };

    let t = Instant::now();
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    // All targets in one cargo run (they share every dependency). If one does not build, build
    // them one by one, so that the others still run.
    let mut built = targets.clone();
    if run(fuzz()?.arg("build").args(BUILD_FLAGS)).is_err() {
        built.retain(|target| {
            let ok = fuzz()
                .and_then(|mut c| run(c.arg("build").args(BUILD_FLAGS).arg(target)))
                .is_ok();
            if !ok {
                failed.push(target.clone());
                rows.push(vec![target.clone(), "FAILED: does not build".into()]);
            }
            ok
        });
    }
    println!("fuzz targets built in {:.0}s", t.elapsed().as_secs_f64());

    for target in &built {
        let corpus = dir.join("corpus").join(target);
        std::fs::create_dir_all(&corpus)
            .map_err(|e| format!("creating {}: {e}", corpus.display()))?;
        let mut cmd = fuzz()?;
        cmd.arg("run").args(BUILD_FLAGS).arg(target).arg(&corpus);
        let mut inputs = 0;
        for d in input_dirs(target) {
            inputs += std::fs::read_dir(&d).map(Iterator::count).unwrap_or(0);
            cmd.arg(d);
        }
        if inputs == 0 {
            failed.push(target.clone());
            rows.push(vec![target.clone(), "FAILED: no seeds".into()]);
            continue;
        }
        cmd.args([
            "--".to_owned(),
            format!("-max_total_time={seconds}"),
            format!("-timeout={INPUT_TIMEOUT}"),
            "-print_final_stats=1".to_owned(),
        ]);
        eprintln!("\n-- {target}: {seconds}s from {inputs} seed and regression inputs");
        let started = Instant::now();
        let out = cmd
            .output()
            .map_err(|e| format!("could not start cargo fuzz: {e}"))?;
        let log = String::from_utf8_lossy(&out.stderr);
        let stat = |name: &str| {
            log.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim_start_matches(':').split_whitespace().next())
                .unwrap_or("?")
                .to_owned()
        };
        let ok = out.status.success();
        rows.push(vec![
            target.clone(),
            if ok { "ok" } else { "FAILED" }.into(),
            stat("stat::number_of_executed_units"),
            stat("stat::average_exec_per_sec"),
            stat("stat::new_units_added"),
            format!("{:.0}s", started.elapsed().as_secs_f64()),
        ]);
        if !ok {
            // libFuzzer's report (the panic, the input, where the crash file went) is at the end.
            let lines: Vec<&str> = log.lines().collect();
            for l in &lines[lines.len().saturating_sub(60)..] {
                eprintln!("   {l}");
            }
            failed.push(target.clone());
        }
    }
    println!();
    table(
        &["target", "result", "runs", "exec/s", "new inputs", "time"],
        &rows,
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "fuzz targets failed: {} (crash inputs in fuzz/artifacts/<target>/; replay with \
             `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run <target> artifacts/<target>/<file>`)",
            failed.join(", ")
        ))
    }
}
