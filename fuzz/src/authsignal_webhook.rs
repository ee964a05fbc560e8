//! Authsignal webhooks: the `X-Signature-V2` header (`webhook::SignatureHeader::parse`), its
//! verification against the raw body (`WebhookVerifier::verify_signature`, `verify`,
//! `verify_headers`), and the body parser behind it (`WebhookPayload::parse`, the events'
//! `delivery()`/`authenticator()`, `Timestamp`).
//!
//! Input: the header value, `\n`, the body. The verifier holds the spec's example secret and a
//! rotation fixture secret, at the spec example's time (1740016316) with the default 5-minute
//! tolerance.
//!
//! Invariants: never a panic; a parsed header has 1..=16 signatures and a non-negative time;
//! a fuzzed header verifies only if its time is within the tolerance and one of its `v2`
//! values (padded or not) is the HMAC of one of the secrets; a genuine header (made with
//! `sign_header` over the fuzzed body at a time from the input) verifies exactly when its
//! time is within the tolerance, also with the fuzzed header's parts appended whenever the
//! combination still parses; the body with one byte more never verifies; a verifier with an
//! empty secret verifies nothing; `verify_headers` agrees with `verify` (and refuses a
//! non-ASCII value); an event's `Debug`
//! never shows its OTP (`data.code`); `Timestamp::from_unix` round-trips for years 0000–9999.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use auth_core::FakeClock;
use authsignal::webhook::{
    self, MAX_SIGNATURES, SIGNATURE_HEADER, SignatureHeader, WebhookPayload, WebhookVerifier,
};
use authsignal::{SecretKey, Timestamp, WebhookError};
use http::{HeaderMap, HeaderValue};
use serde_json::Value;

const NOW: i64 = 1_740_016_316;
const TOLERANCE: i64 = 300;
const SECRETS: [&str; 2] = ["YOUR_AUTHSIGNAL_SECRET_KEY", "whsec_new_fixture_key_2"];

static VERIFIER: LazyLock<WebhookVerifier> = LazyLock::new(|| {
    WebhookVerifier::new(SecretKey::new(SECRETS[0]))
        .also_accept(SecretKey::new(SECRETS[1]))
        .tolerance(Duration::from_secs(TOLERANCE as u64))
        .clock(Arc::new(FakeClock::at_unix(NOW as u64)))
});
static EMPTY: LazyLock<WebhookVerifier> = LazyLock::new(|| {
    WebhookVerifier::new(SecretKey::new(""))
        .insecure_disable_timestamp_check()
        .clock(Arc::new(FakeClock::at_unix(NOW as u64)))
});

/// What `HeaderValue::to_str` accepts: visible ASCII and TAB.
fn value_is_visible(s: &str) -> bool {
    s.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
}

fn in_tolerance(t: i64) -> bool {
    (i128::from(NOW) - i128::from(t)).abs() <= i128::from(TOLERANCE)
}

/// Every secret-named key removed, at any depth (what `Debug` may still show).
fn without_secrets(v: &Value) -> Value {
    const SECRET: [&str; 7] = [
        "code",
        "verificationCode",
        "token",
        "accessToken",
        "refreshToken",
        "recoveryCodes",
        "otpUri",
    ];
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !SECRET.contains(&k.as_str()))
                .map(|(k, x)| (k.clone(), without_secrets(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_secrets).collect()),
        other => other.clone(),
    }
}

fn check_payload(body: &[u8]) {
    let Ok(payload) = WebhookPayload::parse(body) else {
        return;
    };
    if let WebhookPayload::Event(_) = payload {
        assert_eq!(payload.events().len(), 1);
    }
    for event in payload.events() {
        let _ = event.delivery();
        let _ = event.authenticator();
        let _ = event.event_type.to_string();
        if let Some(t) = &event.time {
            let _ = t.unix_seconds();
            let _ = t.to_system_time();
        }
        if let Some(Value::String(code)) = event.data.get("code") {
            let shown = format!("{event:?}");
            let visible = format!(
                "{} {:?} {:?} {:?} {} {}",
                event.id,
                event.tenant_id,
                event.time,
                event.source,
                event.event_type,
                without_secrets(&event.data)
            );
            // Debug escapes strings: compare with the escaped form too.
            let escaped = format!("{code:?}");
            let escaped = &escaped[1..escaped.len() - 1];
            if code.len() >= 6
                && !visible.contains(escaped)
                && !visible.contains(code.as_str())
                && !"WebhookEvent { id: , event_type: , time: , tenant_id: , data: [redacted] .. }"
                    .contains(escaped)
            {
                assert!(!shown.contains(escaped), "OTP in Debug: {shown}");
            }
        }
    }
}

fn genuine(t: i64, body: &[u8]) -> String {
    let keys: Vec<SecretKey> = SECRETS.iter().map(|s| SecretKey::new(*s)).collect();
    let refs: Vec<&SecretKey> = keys.iter().collect();
    webhook::sign_header(&refs[..1 + (t.rem_euclid(2)) as usize], t, body)
}

/// Runs one input (what libFuzzer hands the target); panics when an invariant breaks.
pub fn run(data: &[u8]) {
    let (header_bytes, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let header = String::from_utf8_lossy(header_bytes);
    let verifier = &*VERIFIER;

    // The fuzzed header as received.
    let parsed = SignatureHeader::parse(&header);
    if let Ok(h) = &parsed {
        assert!(!h.signatures.is_empty() && h.signatures.len() <= MAX_SIGNATURES);
        assert!(h.timestamp >= 0);
        assert!(header.len() <= 4096);
    }
    let result = verifier.verify_signature(body, Some(&header));
    match (&parsed, &result) {
        (Err(e), r) => assert_eq!(r, &Err(e.clone())),
        (Ok(h), Ok(t)) => {
            assert_eq!(*t, h.timestamp);
            assert!(in_tolerance(*t));
            let expected: Vec<String> = SECRETS
                .iter()
                .map(|s| webhook::signature(&SecretKey::new(*s), *t, body))
                .collect();
            assert!(
                h.signatures
                    .iter()
                    .any(|v| expected.iter().any(|e| v == e || *v == format!("{e}="))),
                "accepted without a matching v2: {header}"
            );
        }
        (Ok(h), Err(e)) => match e {
            WebhookError::Stale { .. } | WebhookError::FromTheFuture { .. } => {
                assert!(!in_tolerance(h.timestamp))
            }
            WebhookError::NoMatchingSignature { count } => {
                assert_eq!(*count, h.signatures.len())
            }
            other => panic!("unexpected error {other:?} for a parsed header"),
        },
    }
    assert!(EMPTY.verify_signature(body, Some(&header)).is_err());
    assert_eq!(
        verifier.verify_signature(body, None),
        Err(WebhookError::MissingHeader)
    );
    if let Ok(value) = HeaderValue::from_str(&header) {
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE_HEADER, value);
        let via_headers = verifier.verify_headers(body, &headers);
        if value_is_visible(&header) {
            assert_eq!(via_headers, verifier.verify(body, Some(&header)));
        } else {
            // `HeaderValue::from_str` takes obs-text (bytes ≥ 0x80) that `to_str` refuses.
            assert_eq!(
                via_headers,
                Err(WebhookError::Malformed {
                    reason: "header is not ASCII"
                })
            );
        }
    }

    // A genuine header over this body, at a time the input picks (±400 s around now).
    let t = NOW - 400 + (header_bytes.len() as i64 * 37 + body.len() as i64) % 801;
    let real = genuine(t, body);
    let ok = verifier.verify_signature(body, Some(&real));
    assert_eq!(ok.is_ok(), in_tolerance(t), "genuine header {real} at {t}");
    if in_tolerance(t) {
        let mut longer = body.to_vec();
        longer.push(b' ');
        assert!(matches!(
            verifier.verify_signature(&longer, Some(&real)),
            Err(WebhookError::NoMatchingSignature { .. })
        ));
        // The fuzzed header's parts after the genuine ones.
        let combined = format!("{real},{header}");
        let r = verifier.verify_signature(body, Some(&combined));
        match SignatureHeader::parse(&combined) {
            Ok(h) => {
                assert_eq!(h.timestamp, t);
                assert_eq!(r, Ok(t), "{combined}");
            }
            Err(e) => assert_eq!(r, Err(e)),
        }
    }

    check_payload(body);

    // Timestamps formatted for any time the header carries; years 0000..=9999 round-trip.
    if let Ok(h) = &parsed {
        let _ = Timestamp::from_unix(h.timestamp);
    }
    let secs = i64::from_le_bytes({
        let mut b = [0u8; 8];
        let n = body.len().min(8);
        b[..n].copy_from_slice(&body[..n]);
        b
    });
    let text = Timestamp::from_unix(secs);
    if (-62_167_219_200..=253_402_300_799).contains(&secs) {
        assert_eq!(text.unix_seconds(), Some(secs), "{text}");
    }
    let _ = Timestamp::new(header.as_ref()).unix_seconds();
}
