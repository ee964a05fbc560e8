//! `null` is the same as absent, in every response recorded from the real OP
//! (`fixtures/ciba/oidc-provider/`, oidc-provider 9.13.3): each field of each recording set to
//! `null` gives what leaving it out gives — the same value, or a typed error for both.

use std::path::Path;
use std::time::SystemTime;

use serde_json::Value;

use crate::discovery::{Endpoints, ProviderMetadata};
use crate::jwks::KeySet;
use crate::request::Acknowledgement;
use crate::token::{ErrorBody, TokenResponse};
use crate::types::DeliveryMode;

fn recorded(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/ciba/oidc-provider")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `value` without the field at `path` (as [`auth_core::json::null_variants`] names it:
/// `a`, `a.b`, `a.b[0].c`).
fn without(value: &Value, path: &str) -> Value {
    let mut copy = value.clone();
    let mut steps: Vec<String> = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        if let Some(i) = rest.find('[') {
            steps.push(rest[..i].to_owned());
            rest = &rest[i..];
            while let Some(end) = rest.find(']') {
                steps.push(rest[..=end].to_owned());
                rest = &rest[end + 1..];
            }
        } else {
            steps.push(rest.to_owned());
        }
    }
    let (last, parents) = steps.split_last().unwrap();
    let mut at = &mut copy;
    for step in parents {
        at = match step.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            Some(i) => &mut at[i.parse::<usize>().unwrap()],
            None => &mut at[step.as_str()],
        };
    }
    at.as_object_mut().unwrap().remove(last);
    copy
}

/// Runs `outcome` on every null variant of the recording `name` and on the same recording
/// without that field; they must agree.
fn null_is_absent(name: &str, outcome: impl Fn(&[u8]) -> Option<String>) {
    let text = recorded(name);
    assert!(outcome(text.as_bytes()).is_some(), "{name} itself parses");
    let value: Value = serde_json::from_str(&text).unwrap();
    let mut fields = 0;
    for (path, nulled) in auth_core::json::null_variants(&value) {
        let absent = without(&value, &path);
        assert_eq!(
            outcome(&serde_json::to_vec(&nulled).unwrap()),
            outcome(&serde_json::to_vec(&absent).unwrap()),
            "{name}: `{path}` null vs absent"
        );
        fields += 1;
    }
    assert!(fields > 0, "{name} has fields");
}

#[test]
fn discovery() {
    null_is_absent("discovery.json", |b| {
        let m: ProviderMetadata = auth_core::json::from_slice("discovery", b).ok()?;
        let endpoints = Endpoints::from_metadata(&m.issuer, &m).ok();
        Some(format!("{m:?} {endpoints:?}"))
    });
}

#[test]
fn jwks() {
    null_is_absent("jwks.json", |b| {
        let set = KeySet::parse(b).ok()?;
        Some(format!("{:?}", set.keys()))
    });
}

#[test]
fn backchannel_acknowledgement() {
    null_is_absent("backchannel_ack.json", |b| {
        let ack: Acknowledgement = serde_json::from_slice(b).ok()?;
        let r = ack
            .into_request(SystemTime::UNIX_EPOCH, None, DeliveryMode::Poll)
            .ok()?;
        Some(format!(
            "{} {:?} {:?}",
            r.auth_req_id, r.expires_in, r.interval
        ))
    });
}

#[test]
fn token_response() {
    null_is_absent("token_response.json", |b| {
        let t = TokenResponse::parse(b).ok()?;
        Some(format!("{t:?} {:?}", t.expires_in()))
    });
}

#[test]
fn error_bodies() {
    for name in [
        "backchannel_error_invalid_client.json",
        "backchannel_error_invalid_user_code.json",
        "backchannel_error_unknown_user_id.json",
        "token_error_access_denied.json",
        "token_error_authorization_pending.json",
        "token_error_invalid_grant.json",
    ] {
        null_is_absent(name, |b| {
            let e = ErrorBody::parse(b)?;
            Some(format!(
                "{} {:?} {:?}",
                e.error, e.error_description, e.error_uri
            ))
        });
    }
}
