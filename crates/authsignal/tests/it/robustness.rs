//! Bad input gives a typed error, never a panic: deterministic pseudo-random inputs (and
//! mutations of valid ones) for the parsers that see untrusted bytes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use auth_core::FakeClock;
use authsignal::webhook::{SignatureHeader, WebhookPayload, WebhookVerifier, sign_header};
use authsignal::{SecretKey, Timestamp, TrackResponse, UserAuthenticator};

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, alphabet: &[u8], max: usize) -> Vec<u8> {
        let n = (self.next() as usize) % max;
        (0..n)
            .map(|_| alphabet[(self.next() as usize) % alphabet.len()])
            .collect()
    }
}

const HEADER_ALPHABET: &[u8] = b"tv2=,0123456789+/=ABCxyz -\xff";
const JSON_ALPHABET: &[u8] = b"{}[]\":,0123456789.-eE truefalsnl\\recordsdatatypeid";

#[test]
fn signature_headers_never_panic() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let verifier =
        WebhookVerifier::new(SecretKey::new("k")).clock(Arc::new(FakeClock::at_unix(100)));
    for _ in 0..20_000 {
        let raw = rng.bytes(HEADER_ALPHABET, 80);
        let header = String::from_utf8_lossy(&raw);
        let _ = SignatureHeader::parse(&header);
        let _ = verifier.verify(b"{}", Some(&header));
    }
    assert!(SignatureHeader::parse(&"v2=a,".repeat(2000)).is_err());
    assert!(SignatureHeader::parse("t=99999999999999999999999,v2=a").is_err());
    assert!(SignatureHeader::parse("t=1,t=2,v2=a").is_err());
}

#[test]
fn mutated_signed_bodies_are_rejected_or_parsed_never_panic() {
    let key = SecretKey::new("whsec");
    let body = br#"{"version":1,"id":"e","type":"sms.created","data":{"to":"+1","code":"123456"}}"#;
    let header = sign_header(&[&key], 100, body);
    let verifier = WebhookVerifier::new(key).clock(Arc::new(FakeClock::at_unix(100)));
    assert!(verifier.verify(body, Some(&header)).is_ok());
    let mut rng = XorShift(42);
    for _ in 0..5_000 {
        let mut m = body.to_vec();
        let i = (rng.next() as usize) % m.len();
        m[i] = (rng.next() & 0xff) as u8;
        if m != body.as_slice() {
            assert!(verifier.verify(&m, Some(&header)).is_err());
        }
    }
}

#[test]
fn json_parsers_never_panic() {
    let mut rng = XorShift(7);
    for _ in 0..20_000 {
        let raw = rng.bytes(JSON_ALPHABET, 120);
        let _ = WebhookPayload::parse(&raw);
        let _ = serde_json::from_slice::<TrackResponse>(&raw);
        let _ = serde_json::from_slice::<UserAuthenticator>(&raw);
        let _ = Timestamp::new(String::from_utf8_lossy(&raw).into_owned()).unix_seconds();
    }
    for ts in [
        "9999-12-31T23:59:59Z",
        "0000-01-01T00:00:00Z",
        "2025-02-30T00:00:00+23:59",
    ] {
        let _ = Timestamp::new(ts).to_system_time();
    }
}
