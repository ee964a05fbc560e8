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
            .chain(["auth-core", "oob-auth-emulator"].iter())
            .map(|p| root().join("crates").join(p))
            .collect();
        v.push(root().join("xtask"));
        v.push(root().join("xtask/demos"));
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
        for m in members()
            .iter()
            .filter(|m| m.starts_with(root().join("crates")))
        {
            let lib = read(&m.join("src/lib.rs"));
            if lib.lines().count() < 5 {
                continue; // a provider crate not built yet
            }
            assert!(lib.contains("#![forbid(unsafe_code)]"), "{}", m.display());
            assert!(lib.contains("#![warn(missing_docs)]"), "{}", m.display());
        }
    }

    /// `cargo xtask demo` runs every provider's `examples/demo.rs` as a binary of `xtask/demos`.
    #[test]
    fn every_provider_demo_is_a_binary_of_the_demos_package() {
        let manifest = read(&root().join("xtask/demos/Cargo.toml"));
        for p in PROVIDERS {
            if !root()
                .join("crates")
                .join(p)
                .join("examples/demo.rs")
                .is_file()
            {
                continue; // a provider crate not built yet
            }
            let bin = format!(
                "[[bin]]\nname = \"{p}-demo\"\npath = \"../../crates/{p}/examples/demo.rs\"\n"
            );
            let dep = format!("\n{p} = {{ workspace = true, features = [\"emulator\"] }}\n");
            assert!(
                manifest.contains(&bin) && manifest.contains(&dep),
                "xtask/demos/Cargo.toml must build crates/{p}/examples/demo.rs:\n{dep}\n{bin}"
            );
        }
    }

    /// The files a Rust file includes with `#[path = "…"]`, resolved against its directory.
    fn path_includes(file: &Path) -> Vec<PathBuf> {
        let dir = file.parent().unwrap_or(Path::new("."));
        std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().strip_prefix("#[path = \""))
            .filter_map(|l| l.split('"').next())
            .filter_map(|p| dir.join(p).canonicalize().ok())
            .collect()
    }

    /// Every crate's integration tests are one binary, `tests/it/main.rs` with a module per
    /// concern: each test binary links AWS-LC again, and the same layout everywhere tells a
    /// newcomer where a crate's tests are.
    #[test]
    fn every_crates_integration_tests_are_one_binary_in_tests_it() {
        let mut strays = Vec::new();
        for krate in std::fs::read_dir(root().join("crates"))
            .unwrap_or_else(|e| panic!("crates/: {e}"))
            .flatten()
        {
            let Ok(entries) = std::fs::read_dir(krate.path().join("tests")) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                // A top-level file, or a folder with a `main.rs`, is a test binary of its own.
                let binary = path.extension().is_some_and(|e| e == "rs")
                    || (path.is_dir() && path.join("main.rs").is_file());
                if binary && entry.file_name() != "it" {
                    strays.push(
                        path.strip_prefix(root())
                            .unwrap_or(&path)
                            .display()
                            .to_string(),
                    );
                }
            }
            if krate.path().join("tests").is_dir() {
                assert!(
                    krate.path().join("tests/it/main.rs").is_file(),
                    "{}: its integration tests belong in tests/it/main.rs",
                    krate.path().display()
                );
            }
        }
        assert!(
            strays.is_empty(),
            "test binaries outside tests/it/ (make each a module of tests/it/main.rs): {strays:?}"
        );
    }

    /// A fixed fuzz finding must not come back unnoticed: every target's harness (a
    /// `pub fn run(data: &[u8])` in its own file, usually `fuzz/src/<target>.rs`, which the entry
    /// point includes with `#[path]`) is also included by its crate's `fuzz_regressions.rs`
    /// test, which replays the target's seeds and regressions in the ordinary test run, on stable.
    #[test]
    fn every_fuzz_target_is_replayed_by_its_crate() {
        let crates: Vec<String> = std::fs::read_dir(root().join("crates"))
            .unwrap_or_else(|e| panic!("crates/: {e}"))
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let targets = std::fs::read_dir(root().join("fuzz/fuzz_targets"))
            .unwrap_or_else(|e| panic!("fuzz/fuzz_targets/: {e}"));
        let mut seen = 0;
        for entry in targets.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(target) = name.strip_suffix(".rs") else {
                continue;
            };
            seen += 1;
            let krate = crates
                .iter()
                .filter(|c| target.starts_with(&format!("{}_", c.replace('-', "_"))))
                .max_by_key(|c| c.len())
                .unwrap_or_else(|| {
                    panic!("fuzz target `{target}` is not named `<crate>_<what>` after a crate")
                });
            let harness = path_includes(&entry.path()).pop().unwrap_or_else(|| {
                panic!(
                    "fuzz target `{target}`: put its harness (`pub fn run(data: &[u8])`) in \
                     fuzz/src/{name} and include it with `#[path]`, so that its crate's tests \
                     can replay it"
                )
            });
            // `tests/it/fuzz_regressions.rs`: a module of the crate's one test binary.
            let mut test_files = Vec::new();
            rust_files(
                &root().join("crates").join(krate).join("tests"),
                &mut test_files,
            );
            let replayed = test_files.iter().any(|f| {
                f.ends_with("fuzz_regressions.rs")
                    && path_includes(f).contains(&harness)
                    && read(f).contains(&format!("\"{target}\""))
            });
            assert!(
                replayed,
                "crates/{krate}/tests/it/fuzz_regressions.rs must replay fuzz target `{target}`: \
                 include {} with #[path] and run the target's seeds and regressions through it, \
                 as the other crates do",
                harness.display()
            );
        }
        assert!(seen > 0, "no fuzz targets found");
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
