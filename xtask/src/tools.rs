//! The cargo subcommands `cargo xtask ci` runs, pinned, and installed when missing.
//!
//! Each one builds from crates.io source (`cargo install --locked <crate>@<version>`, a minute
//! or a few on 2 cores, once per machine) into cargo's own bin directory, exactly as `.ci/run`
//! used to do before calling `cargo xtask ci`. An installed copy of another version is left
//! alone: the pinned one then goes under `target/tools/` (inside the checkout) and is used from
//! there.

use std::path::PathBuf;
use std::process::Command;

use crate::util::{cargo, root, run};

/// A cargo subcommand from crates.io, pinned.
pub struct Tool {
    /// The subcommand (`cargo <sub>`, binary `cargo-<sub>`).
    pub sub: &'static str,
    /// The crate that provides it.
    pub krate: &'static str,
    /// The version `cargo install` is pinned to.
    pub pinned: &'static str,
    /// An installed version is used when it starts with this.
    pub accepts: &'static str,
    /// What `cargo xtask ci` uses it for (printed when it is installed).
    pub why: &'static str,
}

/// Runs the tests (machines of this project have it preinstalled).
pub const NEXTEST: Tool = Tool {
    sub: "nextest",
    krate: "cargo-nextest",
    pinned: "0.9.143",
    accepts: "0.9.",
    why: "runs the tests, one process per test",
};

/// Licences, bans, duplicate versions, sources, advisories. Exactly this version: where it
/// looks for the advisory database depends on it (see `ci::deny`).
pub const DENY: Tool = Tool {
    sub: "deny",
    krate: "cargo-deny",
    pinned: "0.20.2",
    accepts: "0.20.2",
    why: "checks licences, banned crates, duplicate versions, sources and advisories",
};

/// Every crate with each of its features alone, and with none.
pub const HACK: Tool = Tool {
    sub: "hack",
    krate: "cargo-hack",
    pinned: "0.6.46",
    accepts: "0.6.",
    why: "checks every crate with each of its features alone and with no default features",
};

/// Builds and runs the libFuzzer targets in `fuzz/`.
pub const FUZZ: Tool = Tool {
    sub: "fuzz",
    krate: "cargo-fuzz",
    pinned: "0.13.2",
    accepts: "0.13.",
    why: "builds the fuzz targets and runs each briefly from its seeds (the fuzz smoke)",
};

/// Every tool `cargo xtask ci` needs, in the order they are installed.
pub const ALL: &[&Tool] = &[&NEXTEST, &DENY, &HACK, &FUZZ];

/// Where a tool was found.
pub enum Found {
    /// `cargo <sub>` finds an accepted version (on `PATH` or in cargo's bin directory).
    ViaCargo,
    /// The pinned version installed under `target/tools/`.
    Local(PathBuf),
}

impl Tool {
    fn local_root() -> PathBuf {
        root().join("target/tools")
    }

    fn local_bin(&self) -> PathBuf {
        Self::local_root()
            .join("bin")
            .join(format!("cargo-{}", self.sub))
    }

    /// The version `cmd --version` prints (`cargo-deny 0.20.2` → `0.20.2`), if it runs.
    fn version_of(mut cmd: Command) -> Option<String> {
        let out = cmd.arg("--version").output().ok()?;
        if !out.status.success() {
            return None;
        }
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.split_whitespace()
            .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))
            .map(str::to_owned)
    }

    fn accepted(&self, version: Option<&str>) -> bool {
        version.is_some_and(|v| v.starts_with(self.accepts))
    }

    /// Where an accepted version is, without installing anything.
    pub fn find(&self) -> Option<Found> {
        let local = self.local_bin();
        if local.is_file() {
            let mut cmd = Command::new(&local);
            cmd.arg(self.sub);
            if self.accepted(Self::version_of(cmd).as_deref()) {
                return Some(Found::Local(local));
            }
        }
        let mut cmd = cargo();
        cmd.arg(self.sub);
        self.accepted(Self::version_of(cmd).as_deref())
            .then_some(Found::ViaCargo)
    }

    /// Finds the tool, installing the pinned version when no accepted one is installed.
    pub fn ensure(&self) -> Result<Found, String> {
        if let Some(found) = self.find() {
            return Ok(found);
        }
        let mut probe = cargo();
        probe.arg(self.sub);
        let installed = Self::version_of(probe);
        let mut install = cargo();
        install.args(["install", "--locked"]);
        match &installed {
            None => println!(
                "{} is not installed; `cargo xtask ci` uses it: it {}. Installing {}@{} \
                 (builds from source, a few minutes, once per machine):",
                self.krate, self.why, self.krate, self.pinned
            ),
            Some(v) => {
                println!(
                    "{} {v} is installed but `cargo xtask ci` needs {}{}: it {}. Installing {}@{} \
                     under target/tools/ (yours is left alone):",
                    self.krate,
                    self.accepts,
                    if self.accepts == self.pinned { "" } else { "x" },
                    self.why,
                    self.krate,
                    self.pinned
                );
                install.arg("--root").arg(Self::local_root());
            }
        }
        install.arg(format!("{}@{}", self.krate, self.pinned));
        let started = std::time::Instant::now();
        run(&mut install)?;
        println!(
            "installed {}@{} in {:.0}s",
            self.krate,
            self.pinned,
            started.elapsed().as_secs_f64()
        );
        self.find().ok_or_else(|| {
            format!(
                "installed {}@{} but `cargo {} --version` still does not report it \
                 (is cargo's bin directory shadowed by another copy on PATH?)",
                self.krate, self.pinned, self.sub
            )
        })
    }

    /// `cargo <sub>` with an accepted version, installing the pinned one first if need be.
    pub fn command(&self) -> Result<Command, String> {
        Ok(self.command_for(&self.ensure()?))
    }

    /// `cargo <sub>` where `found` (from [`Tool::ensure`]) says it is.
    pub fn command_for(&self, found: &Found) -> Command {
        match found {
            Found::ViaCargo => {
                let mut cmd = cargo();
                cmd.arg(self.sub);
                cmd
            }
            Found::Local(path) => {
                let mut cmd = Command::new(path);
                cmd.arg(self.sub)
                    .current_dir(root())
                    .env("CARGO", crate::util::cargo_program());
                cmd
            }
        }
    }
}

/// Installs whatever is missing, one tool after the other; reports every failure.
pub fn ensure_all() -> Result<(), String> {
    let mut failed = Vec::new();
    for tool in ALL {
        match tool.ensure() {
            Ok(found) => {
                let shown = match &found {
                    Found::Local(p) => format!(" ({})", p.display()),
                    Found::ViaCargo => String::new(),
                };
                let v = Tool::version_of(tool.command_for(&found)).unwrap_or_default();
                println!("{} {v}{shown}", tool.krate);
            }
            Err(e) => failed.push(e),
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("\n"))
    }
}
