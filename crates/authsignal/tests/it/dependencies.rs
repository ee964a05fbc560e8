//! The issue's weight limit, checked: no RSA, ed25519 or JOSE crates anywhere below
//! `authsignal` (HMAC for webhooks comes from aws-lc-rs).
//!
//! Walks the workspace's `Cargo.lock` from the `authsignal` package through every
//! dependency (normal, dev and optional ones alike: the lock file does not tell them apart,
//! and it lists target-specific dependencies for every target, which makes this check
//! stricter than `cargo tree -e normal`).
//!
//! `ring` is not on the list: the lock file shows it under `rustls-webpki` and `quinn-proto`
//! for targets aws-lc-rs does not build on (wasm), which the walk cannot tell apart; `cargo
//! tree -p authsignal --all-features -e all -i ring` prints nothing on Linux.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeSet, HashMap};

/// Crate names (or name prefixes) that must not be in the tree.
const FORBIDDEN: [&str; 10] = [
    "rsa",
    "ed25519",
    "ed25519-dalek",
    "curve25519-dalek",
    "jsonwebtoken",
    "josekit",
    "jose",
    "biscuit",
    "jwt-simple",
    "compact_jwt",
];

/// `name` → the names of its dependencies, for every package in the lock file.
fn lock_graph(lock: &str) -> HashMap<String, Vec<String>> {
    let mut graph: HashMap<String, Vec<String>> = HashMap::new();
    for block in lock.split("[[package]]").skip(1) {
        let mut name = None;
        let mut deps = Vec::new();
        let mut in_deps = false;
        for line in block.lines().map(str::trim) {
            if let Some(v) = line.strip_prefix("name = ") {
                name = Some(v.trim_matches('"').to_owned());
            } else if line.starts_with("dependencies = [") {
                in_deps = !line.ends_with(']');
            } else if in_deps {
                if line == "]" {
                    in_deps = false;
                } else {
                    // `"name"`, or `"name version"` / `"name version (source)"` when ambiguous.
                    let entry = line.trim_end_matches(',').trim_matches('"');
                    deps.push(entry.split(' ').next().unwrap_or(entry).to_owned());
                }
            }
        }
        if let Some(n) = name {
            graph.entry(n).or_default().extend(deps);
        }
    }
    graph
}

fn reachable(graph: &HashMap<String, Vec<String>>, root: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![root.to_owned()];
    while let Some(n) = stack.pop() {
        if seen.insert(n.clone()) {
            stack.extend(graph.get(&n).into_iter().flatten().cloned());
        }
    }
    seen
}

fn is_forbidden(name: &str) -> bool {
    FORBIDDEN.contains(&name)
        || name.starts_with("rsa-")
        || name.starts_with("ed25519")
        || name.starts_with("jose")
}

#[test]
fn no_rsa_ed25519_or_jose_crates_below_authsignal() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock");
    let lock = std::fs::read_to_string(path).unwrap();
    let graph = lock_graph(&lock);
    let tree = reachable(&graph, "authsignal");
    // The walk found the real tree (guards against a parser that silently finds nothing).
    for expected in ["auth-core", "aws-lc-rs", "serde_json", "reqwest"] {
        assert!(
            tree.contains(expected),
            "{expected} not found below authsignal"
        );
    }
    let bad: Vec<&String> = tree.iter().filter(|n| is_forbidden(n)).collect();
    assert!(bad.is_empty(), "forbidden crates below authsignal: {bad:?}");
}

#[test]
fn the_walk_would_notice_a_forbidden_crate() {
    let lock = r#"
[[package]]
name = "authsignal"
dependencies = [
 "auth-core",
]

[[package]]
name = "auth-core"
dependencies = [
 "jsonwebtoken 10.0.0",
]

[[package]]
name = "jsonwebtoken"
dependencies = [
 "rsa",
]

[[package]]
name = "rsa"
"#;
    let tree = reachable(&lock_graph(lock), "authsignal");
    let bad: Vec<&String> = tree.iter().filter(|n| is_forbidden(n)).collect();
    assert_eq!(bad, ["jsonwebtoken", "rsa"]);
}
