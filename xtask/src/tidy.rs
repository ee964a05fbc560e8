//! Hygiene checks that run as ordinary tests (`cargo test -p xtask`), as in rust-analyzer.

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use crate::PROVIDERS;
    use crate::util::root;

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn members() -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = PROVIDERS
            .iter()
            .chain(["auth-core"].iter())
            .map(|p| root().join("crates").join(p))
            .collect();
        v.push(root().join("xtask"));
        v
    }

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    #[test]
    fn every_member_inherits_the_workspace_lints() {
        for m in members() {
            let manifest = read(&m.join("Cargo.toml"));
            assert!(
                manifest.contains("[lints]\nworkspace = true"),
                "{} does not inherit [workspace.lints]",
                m.display()
            );
            assert!(
                manifest.contains("rust-version.workspace = true"),
                "{} does not inherit rust-version",
                m.display()
            );
        }
    }

    #[test]
    fn readme_and_ci_run_the_same_test_command() {
        let readme = read(&root().join("README.md"));
        assert!(readme.contains("cargo xtask demo"));
        assert!(readme.contains("cargo xtask ci"));
        let ci = read(&root().join(".ci/run"));
        assert!(
            ci.contains("\ncargo xtask ci\n"),
            ".ci/run must run `cargo xtask ci`"
        );
        assert!(ci.contains("set -euo pipefail"));
    }

    #[test]
    fn no_placeholders_or_unsafe_in_library_code() {
        for m in members() {
            let mut files = Vec::new();
            rust_files(&m.join("src"), &mut files);
            for f in files {
                let text = read(&f);
                // Built at run time so this file does not match itself.
                for word in ["todo", "unimplemented"] {
                    let bad = format!("{word}!(");
                    assert!(!text.contains(&bad), "{} contains `{bad}`", f.display());
                }
                let unsafe_block = format!("{} {{", "unsafe");
                assert!(
                    !text.contains(&unsafe_block),
                    "{} contains an unsafe block",
                    f.display()
                );
            }
        }
    }

    #[test]
    fn library_crates_forbid_unsafe_and_document_everything() {
        for m in members().iter().filter(|m| !m.ends_with("xtask")) {
            let lib = read(&m.join("src/lib.rs"));
            if lib.lines().count() < 5 {
                continue; // a provider crate not built yet
            }
            assert!(lib.contains("#![forbid(unsafe_code)]"), "{}", m.display());
            assert!(lib.contains("#![warn(missing_docs)]"), "{}", m.display());
        }
    }

    #[test]
    fn auth_core_declares_no_crypto_dependency() {
        let manifest = read(&root().join("crates/auth-core/Cargo.toml"));
        for heavy in [
            "aws-lc-rs",
            "jsonwebtoken",
            "rsa",
            "ed25519",
            "ring",
            "openssl",
        ] {
            let decl = format!("\n{heavy}");
            assert!(!manifest.contains(&decl), "auth-core depends on {heavy}");
        }
    }
}
