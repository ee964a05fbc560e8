//! Running commands and reading cargo's JSON messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The workspace root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// The cargo running xtask (`$CARGO`), else `cargo` from `PATH`.
pub fn cargo_program() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// `cargo`, as the one running xtask.
pub fn cargo() -> Command {
    let mut cmd = Command::new(cargo_program());
    cmd.current_dir(root());
    cmd
}

/// Runs `cmd`, echoing it; an error names the command.
pub fn run(cmd: &mut Command) -> Result<(), String> {
    eprintln!("$ {}", show(cmd));
    let status = cmd
        .status()
        .map_err(|e| format!("could not start `{}`: {e}", show(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", show(cmd)))
    }
}

/// Runs `cmd` and returns its standard output (standard error passes through).
pub fn output(cmd: &mut Command) -> Result<String, String> {
    eprintln!("$ {}", show(cmd));
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not start `{}`: {e}", show(cmd)))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("`{}` failed ({})\n{text}", show(cmd), out.status))
    }
}

/// A command line for the log.
pub fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// An artifact cargo built: which package, which target, and the executable.
#[derive(Debug)]
pub struct Artifact {
    pub package: String,
    pub target: String,
    pub kind: String,
    pub executable: PathBuf,
}

/// Builds with `cargo <args> --message-format=json` and returns the executables it produced.
pub fn build_artifacts(args: &[&str]) -> Result<Vec<Artifact>, String> {
    let mut cmd = cargo();
    cmd.args(args)
        .arg("--message-format=json-render-diagnostics");
    eprintln!("$ {}", show(&cmd));
    // Diagnostics are rendered on stderr; stdout carries one JSON message per line.
    let done = cmd
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not start `{}`: {e}", show(&cmd)))?;
    if !done.status.success() {
        return Err(format!(
            "`{}` failed ({}): see the errors above",
            show(&cmd),
            done.status
        ));
    }
    let out = String::from_utf8_lossy(&done.stdout);
    let mut found = Vec::new();
    for line in out.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let Some(exe) = msg["executable"].as_str() else {
            continue;
        };
        // package_id looks like `path+file:///…/crates/launchkey#0.1.0`; the name is in the manifest path.
        let manifest = msg["manifest_path"].as_str().unwrap_or_default();
        let package = Path::new(manifest)
            .parent()
            .and_then(Path::file_name)
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let kind = msg["target"]["kind"][0]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        found.push(Artifact {
            package,
            target: msg["target"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            kind,
            executable: PathBuf::from(exe),
        });
    }
    Ok(found)
}

/// Prints a table with a header row.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            s.push_str(&format!("{c:<w$}  "));
        }
        println!("{}", s.trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    line(widths.iter().map(|w| "-".repeat(*w)).collect());
    for row in rows {
        line(row.clone());
    }
}
