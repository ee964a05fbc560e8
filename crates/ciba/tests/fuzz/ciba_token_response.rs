//! Harness of the fuzz target `ciba_token_response` (`pub fn run`): what a CIBA OP (or anyone who can reach a
//! notification endpoint) sends the `ciba` client — token responses, ID tokens, JWK sets, ping
//! and push bodies.
//!
//! The first byte picks the parser; the rest is its input. Invariants beyond "no panic":
//! * a token response that parses never shows its tokens in `Debug`;
//! * an ID token made of fuzz bytes never verifies (the key was made in this process);
//! * an ID token the harness signs itself over fuzzed claims verifies only when those claims
//!   are valid for the expected issuer, audience and time;
//! * a JWK set keeps at most `ciba::limits::MAX_KEYS` keys;
//! * a ping or push verifies only with the token that is in its `Authorization` header.
//!
//! The libFuzzer entry point is `fuzz/fuzz_targets/ciba_token_response.rs`; the crate's
//! `tests/it/fuzz_regressions.rs` replays the seeds and regressions through this same code on
//! stable.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ciba::{
    Algorithm, AuthReqId, ClientId, ClientNotificationToken, Expected, IdTokenVerifier, KeySet,
    PingNotification, PushNotification, SigningKey, TokenResponse,
};

/// `expected` for the request `id` (if any), in push mode when `push`.
fn expect<'a>(expected: Expected<'a>, id: Option<&'a AuthReqId>, push: bool) -> Expected<'a> {
    let expected = match id {
        Some(id) => expected.with_auth_req_id(id),
        None => expected,
    };
    if push {
        expected.in_push_mode()
    } else {
        expected
    }
}

const ISSUER: &str = "https://op.example";
const CLIENT: &str = "fuzz-client";
const NOW: u64 = 1_800_000_000;

struct Fixture {
    keys: Vec<SigningKey>,
    set: KeySet,
    verifier: IdTokenVerifier,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let keys: Vec<SigningKey> = [Algorithm::RS256, Algorithm::PS256, Algorithm::ES256]
            .into_iter()
            .map(|a| SigningKey::generate(a).unwrap())
            .collect();
        let jwks = SigningKey::public_jwk_set(&keys).to_string();
        let set = KeySet::parse(jwks.as_bytes()).unwrap();
        let verifier = IdTokenVerifier::new(ISSUER, ClientId::new(CLIENT).unwrap());
        Fixture {
            keys,
            set,
            verifier,
        }
    })
}

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

fn expectations(selector: u8) -> (Option<AuthReqId>, bool) {
    let id = AuthReqId::new("fuzz-request").ok();
    match selector % 3 {
        0 => (None, false),
        1 => (id, false),
        _ => (id, true),
    }
}

/// Claims made of fuzz bytes, signed by the fixture's key: accepted only if valid.
fn signed_claims(selector: u8, data: &[u8]) {
    let Ok(claims) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let f = fixture();
    let key = &f.keys[usize::from(selector) % f.keys.len()];
    let Ok(jwt) = key.sign(&claims, None) else {
        return;
    };
    let (id, push) = expectations(selector / 3);
    let expected = expect(
        Expected::default().with_access_token("at"),
        id.as_ref(),
        push,
    );
    if let Ok(c) = f.verifier.verify(&jwt, &f.set, now(), &expected) {
        assert_eq!(c.iss, ISSUER);
        assert!(c.aud.iter().any(|a| a == CLIENT));
        assert!(c.exp + 60 > NOW as i64, "expired token accepted");
        assert!(c.iat <= NOW as i64 + 60, "future token accepted");
        assert!(!c.sub.is_empty());
        if c.aud.len() > 1 {
            assert_eq!(c.azp.as_deref(), Some(CLIENT));
        }
        if push {
            assert_eq!(c.auth_req_id.as_deref(), Some("fuzz-request"));
            assert!(c.at_hash.is_some());
        }
    }
}

/// Feeds `data` to the parser its first byte picks, and checks the invariants above.
pub fn run(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    match selector % 6 {
        0 => {
            if let Ok(t) = TokenResponse::parse(rest) {
                let _ = t.expires_in();
                let shown = format!("{t:?}");
                // The non-secret members may happen to contain the token's text.
                let public = format!("{:?} {:?} {:?}", t.token_type, t.scope, t.expires_in);
                for secret in [
                    Some(t.access_token.expose_secret()),
                    t.refresh_token.as_ref().map(|r| r.expose_secret()),
                    t.id_token.as_ref().map(|i| i.expose_secret()),
                ]
                .into_iter()
                .flatten()
                {
                    let quoted = format!("{secret:?}");
                    if secret.len() >= 4 && !public.contains(&quoted) {
                        assert!(!shown.contains(&quoted), "a token in Debug");
                    }
                }
            }
        }
        1 => {
            let f = fixture();
            let jwt = String::from_utf8_lossy(rest);
            let _ = IdTokenVerifier::peek_header(&jwt);
            let (id, push) = expectations(selector / 6);
            let expected = expect(
                Expected::default()
                    .with_access_token("at")
                    .with_refresh_token("rt"),
                id.as_ref(),
                push,
            );
            assert!(
                f.verifier.verify(&jwt, &f.set, now(), &expected).is_err(),
                "a token not signed by the fixture's keys verified"
            );
        }
        2 => signed_claims(selector / 6, rest),
        3 => {
            if let Ok(set) = KeySet::parse(rest) {
                assert!(set.keys().len() <= ciba::limits::MAX_KEYS);
            }
        }
        4 | 5 => {
            // `Authorization` header value, a newline, the body.
            let (header, body) = match rest.iter().position(|b| *b == b'\n') {
                Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
                None => (None, rest),
            };
            let other = ClientNotificationToken::new("the-real-notification-token");
            if selector % 6 == 4 {
                if let Ok(p) = PingNotification::parse(header, body) {
                    let _ = p.auth_req_id();
                    let in_header = header
                        .and_then(|h| std::str::from_utf8(h).ok())
                        .unwrap_or("");
                    if !in_header.contains("the-real-notification-token") {
                        assert!(
                            p.verify(&other).is_err(),
                            "ping verified with a token it does not carry"
                        );
                    }
                }
            } else if let Ok(p) = PushNotification::parse(header, body) {
                let _ = p.auth_req_id();
                let in_header = header
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .unwrap_or("");
                if !in_header.contains("the-real-notification-token") {
                    assert!(
                        p.verify(&other).is_err(),
                        "push verified with a token it does not carry"
                    );
                }
            }
        }
        _ => {}
    }
}
