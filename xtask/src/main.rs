//! oob-auth contributors' tasks. Run `cargo xtask help`.
//!
//! xtask drives cargo and the provider crates' own test targets; it links none of them, so it
//! builds in seconds and stays out of the way of feature unification.

mod ci;
mod conformance;
mod demo;
mod fixtures;
mod fuzz;
mod services;
mod tidy;
mod tools;
mod util;

use std::process::ExitCode;

/// The provider crates, in the order tables and the demo show them.
pub const PROVIDERS: &[&str] = &[
    "launchkey",
    "authsignal",
    "airlock-iam",
    "logonbox",
    "onegini-model",
    "ciba",
];

const HELP: &str = "\
cargo xtask <task>

tasks:
  demo                      run every provider's end-to-end flow against its emulator
  ci [step…]                what CI runs: fmt, clippy, tests + doctests, docs, each feature alone,
                            dependency rules, conformance, cargo-deny, duplicate versions, fuzz smoke
                            (installs the pinned cargo tools it needs when they are missing);
                            with words, only the steps whose name contains one (`ci fuzz deny`)
  conformance [provider]    each client against its emulator and recorded transcripts; one table
  conformance --binary [provider]
                            the same suites against the oob-auth-emulator server binary (started
                            here; OOB_EMULATOR_URL), one scenario at a time
  conformance --official    the providers' official SDKs (PyPI, npm) against the emulator server
  tools                     install the pinned cargo tools `ci` uses, when missing
  services                  install what the tests run besides Rust, when missing: Chromium and
                            its driver, the OpenID Provider (npm), the official SDKs (PyPI, npm)
  fuzz [--seconds N] [target…]
                            the fuzz smoke: every fuzz target briefly from its seeds and regressions
  fixtures                  regenerate fixtures/ deterministically (OOB_AUTH_BLESS=1 test run)
  fixtures --check          fail if a checked-in fixture is stale
  fixtures --independent [provider]
                            regenerate the independent-implementation fixtures (Python, PyPI)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(&rest),
        Some("conformance") => conformance::run(&rest),
        Some("demo") => demo::run(&rest),
        Some("fixtures") => fixtures::run(&rest),
        Some("fuzz") => fuzz::smoke(&rest),
        Some("tools") if rest.is_empty() => tools::ensure_all(),
        Some("services") if rest.is_empty() => services::ensure_all(),
        Some("help" | "-h" | "--help") | None => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => Err(format!("unknown task `{other}`\n\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
