//! `null` is the same as absent: every response shape the client reads, taken from the recorded
//! fixtures (`fixtures/launchkey/transcripts/`, `fixtures/launchkey/independent/`) plus the few
//! small bodies no fixture records, must still parse with any one of its fields set to `null`
//! — except the handful of fields the official SDKs require too ([`REQUIRED`]), which must then
//! fail exactly as when they are missing.

use serde_json::{Value, json};

use crate::Error;
use crate::client::{ApiErrorBody, Ping, Totp, map_code};
use crate::response::{CorePackage, DevicePackage, LegacyDevicePackage};

/// The truly required fields, as `<shape>:<path>` (array indices written `[]`). Everything else
/// may be `null`.
///
/// * core package: `service_user_hash`, `user_push_id`, `public_key_id` (required by the
///   official SDKs; spec §5.6);
/// * device package: `auth_request` (the id the answer is checked against), each
///   `auth_methods[].method`, and a fence's defining fields (a circle's coordinates and
///   radius, a territory's country; spec §5.7);
/// * legacy device package: `auth_request` and `response` (the answer itself; spec §5.8);
/// * create response: `auth_request`;
/// * session-end webhook: `service_user_hash`, `api_time` (spec §7);
/// * ping: `api_time`; TOTP: `valid`.
const REQUIRED: &[&str] = &[
    "core:service_user_hash",
    "core:user_push_id",
    "core:public_key_id",
    "device package:auth_request",
    "device package:auth_methods[].method",
    "device package:auth_policy.geofences[].latitude",
    "device package:auth_policy.geofences[].longitude",
    "device package:auth_policy.geofences[].radius",
    "device package:auth_policy.geofences[].country",
    "legacy device package:auth_request",
    "legacy device package:response",
    "create response:auth_request",
    "session end:service_user_hash",
    "session end:api_time",
    "ping:api_time",
    "totp:valid",
];

fn fixture(path: &str) -> Value {
    let full = format!(
        "{}/../../fixtures/launchkey/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn exchange_response(transcript: &Value, status: u64) -> Value {
    transcript["exchanges"]
        .as_array()
        .and_then(|list| {
            list.iter()
                .find(|e| e["response"]["status"] == status)
                .map(|e| e["response"].clone())
        })
        .unwrap_or_else(|| panic!("no {status} exchange"))
}

type Parse = fn(Value) -> Result<(), Error>;

fn parse_core(v: Value) -> Result<(), Error> {
    auth_core::json::from_value::<CorePackage>("core", v).map(drop)?;
    Ok(())
}

fn parse_device(v: Value) -> Result<(), Error> {
    auth_core::json::from_value::<DevicePackage>("device package", v).map(drop)?;
    Ok(())
}

fn parse_legacy(v: Value) -> Result<(), Error> {
    auth_core::json::from_value::<LegacyDevicePackage>("legacy", v).map(drop)?;
    Ok(())
}

fn parse_created(v: Value) -> Result<(), Error> {
    auth_core::json::from_value::<crate::AuthorizationRequestCreated>("create", v).map(drop)?;
    Ok(())
}

fn parse_error_body(v: Value) -> Result<(), Error> {
    let body: ApiErrorBody = auth_core::json::from_value("error body", v)?;
    if let Some(code) = body.error_code {
        // The mapping reads `error_data` leniently; it must not trip over nulls either.
        let _ = map_code(409, &code, body.error_detail, body.error_data);
    }
    Ok(())
}

fn parse_session_end(v: Value) -> Result<(), Error> {
    let bytes = serde_json::to_vec(&v).map_err(|e| auth_core::Error::decode("test", ".", e))?;
    crate::webhook::session_end(&bytes).map(drop)
}

fn parse_ping(v: Value) -> Result<(), Error> {
    auth_core::json::from_value::<Ping>("ping", v).map(drop)?;
    Ok(())
}

fn parse_totp(v: Value) -> Result<(), Error> {
    auth_core::json::from_value::<Totp>("totp", v).map(drop)?;
    Ok(())
}

/// Every shape, with where it comes from.
fn shapes() -> Vec<(&'static str, &'static str, Value, Parse)> {
    let poll = exchange_response(&fixture("transcripts/poll_approved.json"), 200);
    let created = fixture("transcripts/create_in_progress.json");
    let webhook = fixture("independent/webhook.json");
    let legacy = fixture("independent/legacy_auth.json");
    vec![
        (
            "core",
            "poll_approved core",
            poll["core"].clone(),
            parse_core,
        ),
        (
            "device package",
            "poll_approved device package",
            poll["device_package"].clone(),
            parse_device,
        ),
        ("core", "webhook core", webhook["core"].clone(), parse_core),
        (
            "device package",
            "webhook device package",
            webhook["device_package"].clone(),
            parse_device,
        ),
        (
            "legacy device package",
            "legacy_auth plaintext",
            legacy["plaintext"].clone(),
            parse_legacy,
        ),
        (
            "create response",
            "create_in_progress 201",
            exchange_response(&created, 201)["body"].clone(),
            parse_created,
        ),
        (
            "error body",
            "create_in_progress 409 (SVC-005)",
            exchange_response(&created, 409)["body"].clone(),
            parse_error_body,
        ),
        // Shapes no fixture records (spec §3.2, §4, §5.7, §7).
        (
            "device package",
            "typed fences",
            json!({"auth_request": "a5f1d5b6-3af0-11e7-9b43-0469f8dc10a5", "type": "DENIED",
                   "reason": "POLICY", "auth_policy": {"requirement": "amount", "amount": 2,
                   "types": ["KNOWLEDGE"], "geofences": [
                       {"type": "GEO_CIRCLE", "name": "c", "latitude": 1.0, "longitude": 2.0, "radius": 3.0},
                       {"type": "TERRITORY", "name": "t", "country": "US", "administrative_area": "US-NV",
                        "postal_code": "89169"}]}}),
            parse_device,
        ),
        (
            "core",
            "legacy core",
            json!({"auth": "AAAA", "auth_jwe": null, "service_user_hash": "s", "org_user_hash": "o",
                   "user_push_id": "u", "public_key_id": "k"}),
            parse_core,
        ),
        (
            "session end",
            "session end webhook",
            json!({"service_user_hash": "suh", "api_time": "2019-01-01T00:00:00Z"}),
            parse_session_end,
        ),
        (
            "ping",
            "ping",
            json!({"api_time": "2017-10-03T22:50:15Z"}),
            parse_ping,
        ),
        ("totp", "totp", json!({"valid": true}), parse_totp),
        (
            "error body",
            "ARG-001 with object detail",
            json!({"error_code": "ARG-001", "error_detail": {"ttl": "bad"}, "error_data": {}}),
            parse_error_body,
        ),
    ]
}

/// `auth_methods[2].method` → `auth_methods[].method`.
fn without_indices(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            _ if in_index => {}
            c => out.push(c),
        }
    }
    out
}

#[test]
fn null_is_the_same_as_absent_in_every_response_shape() {
    let mut checked = 0;
    let mut exempt_seen = std::collections::HashSet::new();
    for (kind, source, value, parse) in shapes() {
        if let Err(e) = parse(value.clone()) {
            panic!("{source}: the fixture itself does not parse: {e}");
        }
        for (path, variant) in auth_core::json::null_variants(&value) {
            let key = format!("{kind}:{}", without_indices(&path));
            let result = parse(variant);
            if REQUIRED.contains(&key.as_str()) {
                exempt_seen.insert(key.clone());
                assert!(
                    result.is_err(),
                    "{source}: `{path}` is listed as required but null was accepted"
                );
            } else if let Err(e) = result {
                panic!("{source}: `{path}` = null was rejected: {e}");
            }
            checked += 1;
        }
    }
    assert!(checked > 80, "only {checked} variants");
    // The list stays honest: every exemption is exercised by some shape.
    for r in REQUIRED {
        assert!(exempt_seen.contains(*r), "{r} is never exercised");
    }
}

#[test]
fn the_reported_auth_policy_example_parses() {
    let device = json!({
        "auth_request": "a5f1d5b6-3af0-11e7-9b43-0469f8dc10a5", "type": "AUTHORIZED", "reason": "APPROVED",
        "auth_policy": {"requirement": null, "amount": null, "types": null, "geofences": []},
        "auth_methods": null, "service_pins": null,
    });
    parse_device(device).unwrap();
}
