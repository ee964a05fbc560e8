//! `cargo xtask ci`: everything CI checks, in one command (the README's test command).
//!
//! Steps: the pinned cargo tools (installed when missing, see [`crate::tools`]), fmt, clippy
//! (all targets, all features, warnings denied), tests (nextest) and doctests, rustdoc with
//! warnings denied (broken intra-doc links), every crate with each of its features alone and with
//! no default features (cargo-hack), the dependency rules (light crates stay light), duplicate
//! dependency versions, the conformance table (in process and over a socket, then against the
//! `oob-auth-emulator` server binary), cargo-deny offline against
//! `../shared/advisory-db`, and the fuzz smoke (every fuzz target briefly, from its seeds and
//! regressions). Every step runs; the task fails if any failed, after a summary.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::tools;
use crate::util::{cargo, output, root, run as run_cmd, show, table};

/// Crates that must never appear in the trees named in [`LIGHT_TREES`].
const HEAVY: &[&str] = &[
    "rsa",
    "ed25519-dalek",
    "ed25519",
    "curve25519-dalek",
    "jsonwebtoken",
    "josekit",
    "biscuit",
    "jwt-simple",
    "ring",
    "openssl",
    "openssl-sys",
];

/// (package, extra cargo-tree flags, also forbid aws-lc-rs): trees that must stay light.
const LIGHT_TREES: &[(&str, &[&str], bool)] = &[
    // Without its reqwest default, auth-core has no cryptography at all.
    ("auth-core", &["--no-default-features"], true),
    // With it, TLS inside reqwest aside, still none.
    ("auth-core", &[], false),
    ("authsignal", &[], false),
    ("airlock-iam", &[], false),
];

/// `cargo xtask ci` runs every step; `cargo xtask ci <word>…` only the steps whose name
/// contains one of the words (`cargo xtask ci fuzz deny`).
pub fn run(args: &[&str]) -> Result<(), String> {
    if let Some(flag) = args.iter().find(|a| a.starts_with('-')) {
        return Err(format!(
            "usage: cargo xtask ci [step-name-word…] (unknown option {flag})"
        ));
    }
    let started = Instant::now();
    let mut results: Vec<Vec<String>> = Vec::new();
    let mut failed = 0;
    let mut step = |name: &str, f: &mut dyn FnMut() -> Result<(), String>| {
        if !args.is_empty() && !args.iter().any(|w| name.contains(w)) {
            return;
        }
        eprintln!("\n==> {name}");
        let t = Instant::now();
        let r = f();
        let secs = format!("{:.0}s", t.elapsed().as_secs_f64());
        match r {
            Ok(()) => results.push(vec![name.into(), "ok".into(), secs]),
            Err(e) => {
                eprintln!("!! {name}: {e}");
                failed += 1;
                results.push(vec![name.into(), "FAILED".into(), secs]);
            }
        }
    };

    step("tools", &mut tools::ensure_all);
    step(
        "services (browser, OpenID Provider, official SDKs)",
        &mut crate::services::ensure_all,
    );
    step("fmt", &mut || {
        run_cmd(cargo().args(["fmt", "--all", "--", "--check"]))
    });
    step("clippy", &mut || {
        run_cmd(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]))
    });
    step("tests", &mut || {
        if let Ok(mut nextest) = tools::NEXTEST.command() {
            run_cmd(nextest.args([
                "run",
                "--workspace",
                "--all-features",
                "--locked",
                "--no-fail-fast",
            ]))
        } else {
            run_cmd(cargo().args(["test", "--workspace", "--all-features", "--locked"]))
        }
    });
    step("doctests", &mut || {
        run_cmd(cargo().args(["test", "--workspace", "--all-features", "--locked", "--doc"]))
    });
    step("docs", &mut || {
        run_cmd(
            cargo()
                .args([
                    "doc",
                    "--workspace",
                    "--all-features",
                    "--no-deps",
                    "--locked",
                ])
                .env("RUSTDOCFLAGS", "-D warnings"),
        )
    });
    step("each feature alone (cargo-hack)", &mut each_feature);
    step("dependency rules", &mut dependency_rules);
    step("conformance", &mut || crate::conformance::run(&[]));
    step("conformance against the server binary", &mut || {
        crate::conformance::run(&["--binary"])
    });
    step("conformance of the official SDKs", &mut || {
        crate::conformance::run(&["--official"])
    });
    step("cargo-deny", &mut deny);
    step("duplicate versions", &mut duplicate_versions);
    step(
        "cargo-deny rejects rsa (Marvin)",
        &mut deny_rejects_timing_leaky_rsa,
    );
    step("fuzz smoke", &mut || crate::fuzz::smoke(&[]));

    if results.is_empty() {
        return Err(format!("no step's name contains {}", args.join(" or ")));
    }
    println!();
    table(&["step", "result", "time"], &results);
    println!(
        "ci: {} passed, {failed} failed ({:.0}s)",
        results.len() - failed,
        started.elapsed().as_secs_f64()
    );
    if failed > 0 {
        Err(format!("{failed} step(s) failed"))
    } else {
        Ok(())
    }
}

/// Every crate with each of its features alone, with its defaults, and with no default
/// features: what users build (`--all-features` alone never builds, say, `launchkey` with
/// `emulator` but without `reqwest`). `check`, not `build`: what a feature combination breaks
/// is found by type-checking. No `--no-dev-deps`: it rewrites every `Cargo.toml` while it runs,
/// and resolver 3 keeps dev-dependencies' features out of a library check anyway.
fn each_feature() -> Result<(), String> {
    run_cmd(tools::HACK.command()?.args([
        "check",
        "--workspace",
        "--each-feature",
        // clippy and the tests already build everything with --all-features.
        "--exclude-all-features",
        "--locked",
    ]))
}

/// Lists every crate that is in the tree in more than one version (normal, build and dev
/// dependencies, all features) with what asks for each, then lets cargo-deny's ban on
/// duplicates (`deny.toml`, `multiple-versions = "deny"`, with the reasoned skip list) decide.
fn duplicate_versions() -> Result<(), String> {
    let tree = output(cargo().args([
        "tree",
        "--workspace",
        "--all-features",
        "--locked",
        "-e",
        "normal,build,dev",
        "--duplicates",
        "--depth",
        "1",
        "--prefix",
        "depth",
        "--format",
        "{p}",
    ]))?;
    let mut rows: Vec<Vec<String>> = Vec::new();
    for line in tree.lines() {
        let Some(first) = line.chars().next() else {
            continue;
        };
        let text = line.trim_start_matches(|c: char| c.is_ascii_digit());
        let name_version = text
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        if first == '0' {
            rows.push(vec![name_version, String::new()]);
        } else if let Some(row) = rows.last_mut() {
            let who = text.split_whitespace().next().unwrap_or_default();
            if !row[1].split(", ").any(|w| w == who) {
                if !row[1].is_empty() {
                    row[1].push_str(", ");
                }
                row[1].push_str(who);
            }
        }
    }
    if rows.is_empty() {
        println!("no crate is in the tree twice");
    } else {
        table(&["crate", "asked for by"], &rows);
    }
    run_cmd(tools::DENY.command()?.args(["--offline", "check", "bans"]))
}

/// Light crates stay light: a user who depends on `authsignal` alone compiles no RSA, ed25519
/// or JOSE code.
fn dependency_rules() -> Result<(), String> {
    let mut problems = Vec::new();
    for (package, flags, no_aws_lc) in LIGHT_TREES {
        let mut cmd = cargo();
        cmd.args([
            "tree", "--locked", "-p", package, "-e", "normal", "--prefix", "none",
        ])
        .args(*flags)
        .args(["--format", "{p}"]);
        let tree = output(&mut cmd)?;
        let names: Vec<&str> = tree
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        for heavy in HEAVY
            .iter()
            .copied()
            .chain(no_aws_lc.then_some("aws-lc-rs"))
        {
            if names.contains(&heavy) {
                problems.push(format!("`{}` pulls in `{heavy}`", show(&cmd)));
            }
        }
        println!("{package} {}: {} crates, none heavy", flags.join(" "), {
            let mut n = names.clone();
            n.sort_unstable();
            n.dedup();
            n.len()
        });
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// cargo-deny offline: licences, bans, sources, and advisories from `../shared/advisory-db`
/// (copied into a git repository under `target/`, as cargo-deny 0.20 reads the commit time).
fn deny() -> Result<(), String> {
    let root = root();
    let snapshot = root.join("../shared/advisory-db");
    let mut checks = vec!["check"];
    if snapshot.join("crates").is_dir() {
        let db = root.join("target/advisory-dbs/advisory-db-3157b0e258782691");
        if db.exists() {
            std::fs::remove_dir_all(&db).map_err(|e| format!("removing {}: {e}", db.display()))?;
        }
        copy_dir(&snapshot, &db)?;
        let git = |args: &[&str]| {
            let mut c = Command::new("git");
            c.arg("-C").arg(&db).args(args);
            c.env("GIT_COMMITTER_DATE", "2026-08-21T00:00:00Z")
                .env("GIT_AUTHOR_DATE", "2026-08-21T00:00:00Z");
            c
        };
        run_cmd(&mut git(&["init", "-q"]))?;
        run_cmd(&mut git(&["add", "-A"]))?;
        run_cmd(&mut git(&[
            "-c",
            "user.name=ci",
            "-c",
            "user.email=ci@localhost",
            "-c",
            "commit.gpgsign=false",
            "commit",
            "-qm",
            "snapshot",
        ]))?;
        let age = output(&mut git(&[
            "show",
            "-s",
            "--format=advisory-db snapshot of %cI",
            "HEAD",
        ]))?;
        println!("{}", age.trim());
    } else {
        eprintln!(
            "!!!!!!!! WARNING: {} is missing: advisories are NOT checked (licenses, bans, sources only)",
            snapshot.display()
        );
        checks.extend(["licenses", "bans", "sources"]);
    }
    run_cmd(cargo().args(["fetch", "--locked"]))?;
    run_cmd(tools::DENY.command()?.arg("--offline").args(&checks))
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("creating {}: {e}", to.display()))?;
    let entries =
        std::fs::read_dir(from).map_err(|e| format!("reading {}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let kind = entry.file_type().map_err(|e| e.to_string())?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)
                .map_err(|e| format!("copying {}: {e}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// The advisory check must fail for a private-key RSA crate with an open timing advisory: a probe
/// crate depending on `rsa` 0.9 (RUSTSEC-2023-0071) is checked with our deny.toml, advisories
/// only (the ban on `rsa` is a second, separate line of defence).
fn deny_rejects_timing_leaky_rsa() -> Result<(), String> {
    let root = root();
    if !root
        .join("target/advisory-dbs/advisory-db-3157b0e258782691")
        .is_dir()
    {
        eprintln!("!!!!!!!! WARNING: no advisory database: probe skipped");
        return Ok(());
    }
    let probe = root.join("target/deny-probe");
    std::fs::create_dir_all(probe.join("src")).map_err(|e| e.to_string())?;
    let write = |name: &str, text: &str| {
        std::fs::write(probe.join(name), text).map_err(|e| format!("writing {name}: {e}"))
    };
    write(
        "Cargo.toml",
        "[package]\nname = \"deny-probe\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
         publish = false\nlicense = \"MIT\"\n\n[dependencies]\nrsa = \"=0.9.10\"\n\n[workspace]\n",
    )?;
    write("src/lib.rs", "")?;
    let config = std::fs::read_to_string(root.join("deny.toml")).map_err(|e| e.to_string())?;
    write(
        "deny.toml",
        &config.replace(
            "db-path = \"target/advisory-dbs\"",
            "db-path = \"../advisory-dbs\"",
        ),
    )?;
    let cargo_at_probe = || {
        let mut c = cargo();
        c.current_dir(&probe);
        c
    };
    run_cmd(cargo_at_probe().args(["fetch", "--quiet"]))?;
    let out = tools::DENY
        .command()?
        .current_dir(&probe)
        .args(["--offline", "check", "advisories"])
        .output()
        .map_err(|e| e.to_string())?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() && text.contains("RUSTSEC-2023-0071") {
        println!("cargo-deny rejects rsa 0.9 with RUSTSEC-2023-0071, as it must");
        Ok(())
    } else {
        Err(format!(
            "cargo-deny did not reject rsa 0.9 for RUSTSEC-2023-0071:\n{text}"
        ))
    }
}
