//! What the tests run besides Rust, installed when missing (and said so), like the cargo tools:
//! - a real headless browser: Debian's `chromium` and `chromium-driver` (the emulator server's
//!   browser test), with `apt-get` when running as root;
//! - a real OpenID Provider: npm `oidc-provider`, pinned by `crates/ciba/op/package-lock.json`,
//!   into `target/ciba-op` (the `ciba` real-provider tests);
//! - the providers' official SDKs from PyPI and npm, pinned, into `target/official-sdks`
//!   (`cargo xtask conformance --official`).
//!
//! Everything goes under `target/` except the two Debian packages; nothing is installed twice.

use std::path::Path;
use std::process::Command;

use crate::util::{root, run};

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Debian's chromium and chromium-driver, for the browser test.
pub fn browser() -> Result<(), String> {
    if have("chromium") && have("chromedriver") {
        return Ok(());
    }
    if !is_root() || !have("apt-get") {
        return Err("the browser test needs Chromium and its driver: \
             `sudo apt-get install -y chromium chromium-driver`"
            .into());
    }
    eprintln!("installing chromium and chromium-driver (Debian packages) for the browser test");
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get").args([
        "install",
        "-y",
        "-qq",
        "--no-install-recommends",
        "chromium",
        "chromium-driver",
    ]))
}

/// npm `oidc-provider` for the ciba tests, into `target/ciba-op` when its lock changed.
pub fn openid_provider() -> Result<(), String> {
    let src = root().join("crates/ciba/op");
    let dir = root().join("target/ciba-op");
    let lock = src.join("package-lock.json");
    let installed = dir
        .join("node_modules/oidc-provider/package.json")
        .is_file()
        && same_file(&lock, &dir.join("package-lock.json"));
    if installed {
        return Ok(());
    }
    eprintln!(
        "installing the OpenID Provider for the ciba tests (npm oidc-provider, pinned) into target/ciba-op"
    );
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(src.join(file), dir.join(file))
            .map_err(|e| format!("copying {file}: {e}"))?;
    }
    run(Command::new("npm").args([
        "ci",
        "--prefix",
        &dir.to_string_lossy(),
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
    ]))
}

/// The official SDKs (PyPI, npm), pinned, into `target/official-sdks`.
pub fn official_sdks() -> Result<(), String> {
    run(Command::new("bash").arg(root().join("crates/oob-auth-emulator/official/install.sh")))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::read(a), std::fs::read(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// All of them.
pub fn ensure_all() -> Result<(), String> {
    let mut problems = Vec::new();
    for (what, f) in [
        ("browser", browser as fn() -> Result<(), String>),
        ("OpenID Provider", openid_provider),
        ("official SDKs", official_sdks),
    ] {
        if let Err(e) = f() {
            problems.push(format!("{what}: {e}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}
