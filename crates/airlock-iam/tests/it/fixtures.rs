//! The transcripts in `fixtures/airlock-iam/` are hand-written (not generated): check that each
//! is well-formed, carries its provenance, and is replayed by the conformance suite.

// Test code: panicking on a broken expectation is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use serde_json::Value;

fn names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(common::fixtures_dir())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".json").map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

#[test]
fn every_fixture_is_well_formed() {
    let names = names();
    assert!(names.len() >= 12, "{names:?}");
    for name in names {
        let f = common::load(&name);
        assert!(
            f["_provenance"]
                .as_str()
                .is_some_and(|p| p.contains("Hand-written")),
            "{name}"
        );
        assert!(
            f.get("_generated").is_none(),
            "{name}: not a generated fixture"
        );
        let exchanges = f["exchanges"].as_array().unwrap();
        assert!(!exchanges.is_empty(), "{name}");
        for (i, ex) in exchanges.iter().enumerate() {
            let req = &ex["request"];
            assert!(
                matches!(req["method"].as_str(), Some("POST" | "GET" | "DELETE")),
                "{name}#{i}"
            );
            assert!(
                req["path"].as_str().unwrap().contains("/rest/public/"),
                "{name}#{i}"
            );
            assert!(req["expectCookie"].is_boolean(), "{name}#{i}");
            let resp = &ex["response"];
            let status = resp["status"].as_u64().unwrap();
            let body = &resp["body"];
            assert_eq!(
                body["meta"]["type"], "jsonapi.metadata.document",
                "{name}#{i}"
            );
            if status < 300 {
                assert!(
                    body["data"].is_object() || body["data"].is_array(),
                    "{name}#{i}"
                );
            } else {
                let errors = body["errors"].as_array().unwrap();
                assert_eq!(errors[0]["status"].as_u64(), Some(status), "{name}#{i}");
                assert!(errors[0]["code"].is_string(), "{name}#{i}");
            }
            // Parsed timestamps, as the client will.
            for key in ["timestamp", "temporaryLockExpiry"] {
                if let Some(Value::String(t)) = body["meta"].get(key) {
                    auth_core::time::Timestamp::parse(t).unwrap();
                }
            }
        }
    }
}

#[test]
fn every_fixture_is_replayed_by_the_conformance_suite() {
    let suite = include_str!("conformance.rs");
    for name in names() {
        assert!(
            suite.contains(&format!("\"{name}\"")),
            "fixture {name} is not replayed in tests/conformance.rs"
        );
    }
}
