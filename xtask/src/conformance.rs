//! `cargo xtask conformance [provider]`: each provider crate's `tests/conformance.rs` (its client
//! against its emulator, and against the recorded transcripts in `fixtures/<provider>/`), as one
//! table of provider, scenario and result. A crate whose integration tests are one binary keeps
//! it as the module `tests/<binary>/conformance.rs`; its `conformance::` tests are run.
//!
//! The suites are built with the same flags as `cargo xtask ci`'s test step, so nothing is
//! rebuilt; then each suite's binary is run and its per-test lines read.

use std::process::Command;

use crate::PROVIDERS;
use crate::util::{build_artifacts, root, table};

/// The flags every test build in xtask uses, so artifacts are shared.
pub const TEST_BUILD: &[&str] = &[
    "test",
    "--workspace",
    "--all-features",
    "--locked",
    "--no-run",
];

/// Where a provider's test suite `name` (`conformance`, `fixtures`) is: the test target
/// `tests/<name>.rs`, or the module `<name>` of a crate whose integration tests are one binary
/// (`tests/<binary>/main.rs` + `tests/<binary>/<name>.rs`). Returns the test target and, for a
/// module, the test-name filter (`<name>::`).
pub fn suite(provider: &str, name: &str) -> Option<(String, Option<String>)> {
    let tests = root().join("crates").join(provider).join("tests");
    if tests.join(format!("{name}.rs")).is_file() {
        return Some((name.to_owned(), None));
    }
    let binary = std::fs::read_dir(&tests)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|d| d.join("main.rs").is_file() && d.join(format!("{name}.rs")).is_file())?;
    let target = binary.file_name()?.to_string_lossy().into_owned();
    Some((target, Some(format!("{name}::"))))
}

pub fn run(args: &[&str]) -> Result<(), String> {
    if args == ["--official"] {
        return official();
    }
    let selected: Vec<&str> = match args {
        [] => PROVIDERS.to_vec(),
        [one] if PROVIDERS.contains(one) => vec![*one],
        _ => {
            return Err(format!(
                "usage: cargo xtask conformance [{}|--official]",
                PROVIDERS.join("|")
            ));
        }
    };
    let artifacts = build_artifacts(TEST_BUILD)?;
    let mut rows = Vec::new();
    let mut failed = 0;
    let mut passed = 0;
    for provider in selected {
        let Some((target, filter)) = suite(provider, "conformance") else {
            rows.push(vec![provider.into(), "-".into(), "not built yet".into()]);
            continue;
        };
        let Some(bin) = artifacts
            .iter()
            .find(|a| a.package == provider && a.target == target && a.kind == "test")
        else {
            rows.push(vec![
                provider.into(),
                "(suite)".into(),
                "FAILED: not built".into(),
            ]);
            failed += 1;
            continue;
        };
        let out = Command::new(&bin.executable)
            .args(&filter)
            .args(["--test-threads", "2"])
            .current_dir(root().join("crates").join(provider))
            .env("CARGO_MANIFEST_DIR", root().join("crates").join(provider))
            .output()
            .map_err(|e| format!("could not run {}: {e}", bin.executable.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let mut seen = 0;
        let mut lines: Vec<(String, String)> = stdout
            .lines()
            .filter_map(|l| {
                let rest = l.strip_prefix("test ")?;
                let (name, result) = rest.rsplit_once(" ... ")?;
                let name = filter
                    .as_deref()
                    .and_then(|f| name.strip_prefix(f))
                    .unwrap_or(name);
                Some((name.to_owned(), result.to_owned()))
            })
            .collect();
        lines.sort();
        for (name, result) in lines {
            seen += 1;
            let shown = match result.as_str() {
                "ok" => {
                    passed += 1;
                    "ok".to_owned()
                }
                r if r.starts_with("ignored") => r.to_owned(),
                r => {
                    failed += 1;
                    r.to_owned()
                }
            };
            rows.push(vec![provider.into(), name, shown]);
        }
        if !out.status.success() && seen == 0 {
            failed += 1;
            rows.push(vec![
                provider.into(),
                "(suite)".into(),
                format!("FAILED ({})", out.status),
            ]);
        }
        if !out.status.success() {
            eprintln!("--- {provider} conformance output ---\n{stdout}");
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        }
    }
    println!();
    table(&["provider", "scenario", "result"], &rows);
    println!();
    println!("conformance: {passed} passed, {failed} failed");
    if failed > 0 {
        Err(format!("{failed} conformance scenario(s) failed"))
    } else {
        Ok(())
    }
}

/// `cargo xtask conformance --official`: the providers' official SDKs (installed by
/// `cargo xtask services`) run their main flows against the `oob-auth-emulator` binary
/// (`crates/oob-auth-emulator/official/run.sh`); each line `scenario<TAB>sdk<TAB>ok|FAIL<TAB>detail`
/// becomes a row.
fn official() -> Result<(), String> {
    crate::services::official_sdks()?;
    // The test build has the binary already (its integration tests run it).
    let artifacts = build_artifacts(TEST_BUILD)?;
    let bin = artifacts
        .iter()
        // The binary itself, not its unit-test harness (also of kind `bin`, under `deps/`).
        .find(|a| {
            a.package == "oob-auth-emulator"
                && a.kind == "bin"
                && a.executable
                    .file_name()
                    .is_some_and(|n| n == "oob-auth-emulator")
        })
        .ok_or("the oob-auth-emulator binary was not built")?;
    let out = Command::new("bash")
        .arg(root().join("crates/oob-auth-emulator/official/run.sh"))
        .arg(&bin.executable)
        .output()
        .map_err(|e| format!("could not run the official SDKs: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (mut passed, mut failed) = (0, 0);
    let mut rows = Vec::new();
    for line in stdout.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let [scenario, sdk, result, rest @ ..] = fields.as_slice() else {
            continue;
        };
        let (provider, name) = scenario.split_once(": ").unwrap_or(("-", scenario));
        let shown = if *result == "ok" {
            passed += 1;
            "ok".to_owned()
        } else {
            failed += 1;
            format!("{result} {}", rest.join(" "))
        };
        rows.push(vec![provider.into(), name.into(), (*sdk).into(), shown]);
    }
    println!();
    table(&["provider", "scenario", "official SDK", "result"], &rows);
    println!();
    println!("official SDKs: {passed} passed, {failed} failed");
    if !out.status.success() || failed > 0 || passed == 0 {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        return Err(format!(
            "the official SDKs' scenarios failed ({failed} failed, exit {})",
            out.status
        ));
    }
    Ok(())
}
