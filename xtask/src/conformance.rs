//! `cargo xtask conformance [provider]`: each provider crate's conformance suite, the module
//! `tests/it/conformance.rs` of its one test binary (its client against its emulator, and
//! against the recorded transcripts in `fixtures/<provider>/`), as one table of provider,
//! scenario and result.
//!
//! `cargo xtask conformance --binary [provider]`: the same suites' `conformance::binary::`
//! scenarios (ignored in a plain test run) against the `oob-auth-emulator` server binary,
//! started once here (free ports, its control URL in `OOB_EMULATOR_URL`), one scenario at a
//! time; rows `binary::<name>`.
//!
//! The suites are built with the same flags as `cargo xtask ci`'s test step, so nothing is
//! rebuilt; then each suite's binary is run and its per-test lines read.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::PROVIDERS;
use crate::util::{Artifact, build_artifacts, root, table};

/// The flags every test build in xtask uses, so artifacts are shared.
pub const TEST_BUILD: &[&str] = &[
    "test",
    "--workspace",
    "--all-features",
    "--locked",
    "--no-run",
];

/// The module of a conformance suite whose scenarios run against the server binary.
const BINARY_MODULE: &str = "binary::";

/// How long the server may take to print its URLs.
const SERVER_START: Duration = Duration::from_secs(60);

/// The test target every crate's integration tests are (`tests/it/main.rs`; the tidy test
/// `every_crates_integration_tests_are_one_binary_in_tests_it` keeps it so).
const TEST_TARGET: &str = "it";

/// Where a provider's test suite `name` (`conformance`, `fixtures`) is, if it has one: the
/// module `tests/it/<name>.rs`. Returns the test target and the test-name filter (`<name>::`).
pub fn suite(provider: &str, name: &str) -> Option<(&'static str, String)> {
    let file = root()
        .join("crates")
        .join(provider)
        .join("tests")
        .join(TEST_TARGET)
        .join(format!("{name}.rs"));
    file.is_file().then(|| (TEST_TARGET, format!("{name}::")))
}

pub fn run(args: &[&str]) -> Result<(), String> {
    let usage = || {
        format!(
            "usage: cargo xtask conformance [--official | [--binary] [{}]]",
            PROVIDERS.join("|")
        )
    };
    let (binary, args) = match args {
        ["--official"] => return official(),
        ["--binary", rest @ ..] => (true, rest),
        rest => (false, rest),
    };
    let selected: Vec<&str> = match args {
        [] => PROVIDERS.to_vec(),
        [one] if PROVIDERS.contains(one) => vec![*one],
        _ => return Err(usage()),
    };
    let artifacts = build_artifacts(TEST_BUILD)?;
    let server = if binary {
        let only = if let [one] = args { Some(*one) } else { None };
        Some(EmulatorServer::start(&emulator_binary(&artifacts)?, only)?)
    } else {
        None
    };
    let mut rows = Vec::new();
    let mut failed = 0;
    let mut passed = 0;
    for provider in selected {
        let Some((target, module)) = suite(provider, "conformance") else {
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
        let mut cmd = Command::new(&bin.executable);
        match &server {
            // Only the binary module, its ignored tests, one at a time: one shared server.
            Some(server) => cmd
                .arg(format!("{module}{BINARY_MODULE}"))
                .args(["--ignored", "--test-threads", "1"])
                .env("OOB_EMULATOR_URL", &server.control_url),
            // Everything but the binary module (its tests need the server).
            None => cmd
                .arg(&module)
                .args(["--skip", &format!("{module}{BINARY_MODULE}")])
                .args(["--test-threads", "2"])
                .env_remove("OOB_EMULATOR_URL"),
        };
        let out = cmd
            .current_dir(root().join("crates").join(provider))
            .env("CARGO_MANIFEST_DIR", root().join("crates").join(provider))
            .output()
            .map_err(|e| format!("could not run {}: {e}", bin.executable.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let mut lines: Vec<(String, String)> = stdout
            .lines()
            .filter_map(|l| {
                let rest = l.strip_prefix("test ")?;
                let (name, result) = rest.rsplit_once(" ... ")?;
                let name = name.strip_prefix(module.as_str()).unwrap_or(name);
                Some((name.to_owned(), result.to_owned()))
            })
            .collect();
        lines.sort();
        let seen = lines.len();
        for (name, result) in lines {
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
        } else if seen == 0 && server.is_some() {
            rows.push(vec![
                provider.into(),
                BINARY_MODULE.trim_end_matches(':').into(),
                "no binary scenarios yet".into(),
            ]);
        }
        if !out.status.success() {
            eprintln!("--- {provider} conformance output ---\n{stdout}");
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        }
    }
    if let Some(server) = server {
        server.stop(failed > 0);
    }
    println!();
    table(&["provider", "scenario", "result"], &rows);
    println!();
    let what = if binary {
        "conformance against the server binary"
    } else {
        "conformance"
    };
    println!("{what}: {passed} passed, {failed} failed");
    if failed > 0 {
        Err(format!("{failed} {what} scenario(s) failed"))
    } else {
        Ok(())
    }
}

/// The `oob-auth-emulator` binary itself among the test build's artifacts (not its unit-test
/// harness, also of kind `bin`, under `deps/`).
fn emulator_binary(artifacts: &[Artifact]) -> Result<PathBuf, String> {
    artifacts
        .iter()
        .find(|a| {
            a.package == "oob-auth-emulator"
                && a.kind == "bin"
                && a.executable
                    .file_name()
                    .is_some_and(|n| n == "oob-auth-emulator")
        })
        .map(|a| a.executable.clone())
        .ok_or_else(|| "the oob-auth-emulator binary was not built".to_owned())
}

/// The server binary, running: killed when dropped (a failure or a panic included), its
/// directory removed.
struct EmulatorServer {
    child: Child,
    dir: PathBuf,
    control_url: String,
}

impl EmulatorServer {
    /// Starts `binary` on free ports with a fresh directory under `target/` and reads its
    /// first stdout line (`--print-json`) for the control URL.
    fn start(binary: &Path, only: Option<&str>) -> Result<EmulatorServer, String> {
        let dir = root()
            .join("target")
            .join("conformance-binary")
            .join(std::process::id().to_string());
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("could not create {}: {e}", dir.display()))?;
        let log = dir.join("server.log");
        let stderr = std::fs::File::create(&log)
            .map_err(|e| format!("could not create {}: {e}", log.display()))?;
        let mut cmd = Command::new(binary);
        cmd.args(["--base-port", "0", "--print-json", "--dir"])
            .arg(&dir)
            .args(only.into_iter().flat_map(|p| ["--only", p]))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        eprintln!("$ {}", crate::util::show(&cmd));
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", binary.display()))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("the server's stdout was not captured".into());
        };
        // From here on, dropping the server kills it.
        let mut server = EmulatorServer {
            child,
            dir,
            control_url: String::new(),
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let read = reader.read_line(&mut line).map(|_| line);
            let _ = tx.send(read);
            // Keep draining, so the server never blocks on a full pipe.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = match rx.recv_timeout(SERVER_START) {
            Ok(Ok(line)) if !line.trim().is_empty() => line,
            Ok(Ok(_)) => return Err(server.failed_to_start("it exited without printing")),
            Ok(Err(e)) => return Err(server.failed_to_start(&e.to_string())),
            Err(_) => return Err(server.failed_to_start("it printed nothing in time")),
        };
        let info: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| server.failed_to_start(&format!("its first line is not JSON: {e}")))?;
        let Some(url) = info["control_url"].as_str() else {
            return Err(server.failed_to_start("its first line has no control_url"));
        };
        server.control_url = url.to_owned();
        eprintln!("oob-auth-emulator: control API at {url}");
        Ok(server)
    }

    /// An error saying why, with what the server wrote on stderr.
    fn failed_to_start(&mut self, why: &str) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        format!("the oob-auth-emulator server did not start: {why}\n{log}")
    }

    /// Stops the server; when something failed, shows what it wrote on stderr first.
    fn stop(self, show_log: bool) {
        if show_log {
            let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
            if !log.trim().is_empty() {
                eprintln!("--- oob-auth-emulator stderr ---\n{log}");
            }
        }
        drop(self);
    }
}

impl Drop for EmulatorServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
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
    let bin = emulator_binary(&artifacts)?;
    let out = Command::new("bash")
        .arg(root().join("crates/oob-auth-emulator/official/run.sh"))
        .arg(&bin)
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
