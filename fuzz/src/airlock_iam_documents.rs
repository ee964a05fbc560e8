//! The Loginapp REST JSON:API documents, as any server (or anything in front of it) answers:
//! `StepResponse::from_json`, `ErrorDocument::from_json`, `MobileOnlyChallenge::from_json`,
//! `QrCode::from_json`, `Device::list_from_json`, and the pieces they rely on,
//! `MobileAuthUri::parse` and auth-core's `Timestamp::parse`.
//!
//! Invariants: never a panic; a step's `next` is exactly `attributes.nextAuthStep` read with
//! `NextAuthStep::from_code`; an error document has at least one error and `code()` is the
//! first one's; the secret parts (a `mobileAuthUri`'s session token, a QR code's image) live
//! only in their redacting types and never show in `Debug`; a device list's capabilities are
//! found by `has_capability`; a timestamp written with `to_rfc3339_millis` (Airlock's form)
//! parses back to the same instant and offset (to the millisecond).

use airlock_iam::{
    Device, ErrorDocument, MobileAuthUri, MobileOnlyChallenge, NextAuthStep, QrCode, StepResponse,
};
use auth_core::time::Timestamp;
use serde_json::Value;

/// Whether `shown` reveals `secret` beyond the places it is allowed to appear (`allowed`:
/// the other, non-secret fields printed next to it).
fn leaks(shown: &str, secret: &str, allowed: &[&str]) -> bool {
    if secret.len() < 6 || allowed.iter().any(|a| a.contains(secret)) {
        return false;
    }
    // Every fixed text the Debug impls print could contain a short secret by accident.
    const FIXED: &str = "MobileOnlyChallenge { id: , uri: MobileAuthUri(://…?session_token=[redacted]&user_id=), .. } QrCode { id: , image: Some(\"[redacted]\"), None }";
    !FIXED.contains(secret) && shown.contains(secret)
}

fn check_timestamp(t: Timestamp) {
    let text = t.to_rfc3339_millis();
    let back = Timestamp::parse(&text)
        .unwrap_or_else(|e| panic!("our own timestamp text {text:?} does not parse: {e}"));
    assert_eq!(t.offset_seconds(), back.offset_seconds(), "{text}");
    assert_eq!(t.unix_seconds(), back.unix_seconds(), "{text}");
    assert_eq!(t.subsec_millis(), back.subsec_millis(), "{text}");
    let _ = t.to_system_time();
}

/// Runs one input (what libFuzzer hands the target); panics when an invariant breaks.
pub fn run(data: &[u8]) {
    if let Ok(step) = StepResponse::from_json(data) {
        assert_eq!(step.is_done(), step.next.is_none());
        match step.attributes.get("nextAuthStep") {
            None | Some(Value::Null) => assert!(step.next.is_none()),
            Some(Value::String(code)) => {
                let next = step.next.as_ref().expect("a string nextAuthStep is a step");
                assert_eq!(next, &NextAuthStep::from_code(code));
                assert_eq!(next.as_str(), code);
            }
            Some(other) => panic!("accepted a non-string nextAuthStep {other}"),
        }
        for t in [step.meta.timestamp, step.meta.temporary_lock_expiry]
            .into_iter()
            .flatten()
        {
            check_timestamp(t);
        }
    }
    for status in [400u16, 503] {
        if let Some(doc) = ErrorDocument::from_json(status, data) {
            assert_eq!(doc.http_status, status);
            assert!(!doc.errors.is_empty());
            assert_eq!(doc.code(), &doc.errors[0].code);
            let shown = doc.to_string();
            assert!(shown.starts_with(&format!("HTTP {status} ")));
            if let Some(t) = doc.temporary_lock_expiry() {
                check_timestamp(t);
            }
        }
    }
    if let Ok(challenge) = MobileOnlyChallenge::from_json(data) {
        assert!(!challenge.attributes.contains_key("mobileAuthUri"));
        let uri = &challenge.uri;
        let token = uri.session_token().expose_secret();
        assert!(!token.is_empty() && !uri.user_id().is_empty());
        let shown = format!("{challenge:?}");
        assert!(
            !leaks(&shown, token, &[&challenge.id, uri.scheme(), uri.user_id()]),
            "session token in Debug: {shown}"
        );
        let raw = uri.expose_secret();
        assert!(!leaks(
            &shown,
            raw,
            &[&challenge.id, uri.scheme(), uri.user_id()]
        ));
    }
    if let Ok(qr) = QrCode::from_json(data) {
        assert!(!matches!(
            qr.attributes.get("qrCode"),
            Some(Value::String(_))
        ));
        if let Some(image) = &qr.image {
            let shown = format!("{qr:?}");
            assert!(
                !leaks(&shown, image.expose_secret(), &[&qr.id]),
                "QR image in Debug: {shown}"
            );
        }
    }
    if let Ok(devices) = Device::list_from_json(data) {
        for device in &devices {
            let id = device.id.as_str();
            assert!(!id.is_empty() && id.len() <= 256 && id != "." && id != "..");
            assert!(!id.chars().any(char::is_control));
            for c in &device.capabilities {
                assert!(device.has_capability(c));
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(uri) = MobileAuthUri::parse(text) {
            assert!(!uri.session_token().expose_secret().is_empty());
            assert!(!uri.user_id().is_empty());
            assert_eq!(uri.expose_secret(), text.trim());
        }
        if let Ok(t) = Timestamp::parse(text) {
            check_timestamp(t);
        }
    }
}
