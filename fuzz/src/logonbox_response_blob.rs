//! The redirect-flow blobs: the `response` parameter a browser brings back
//! (`ResponseBlob::parse`, attacker-controlled) and the request blob (`RequestBlob::parse`,
//! `PendingRequest::from_encoded`, which also sees the lenient base64 decoder).
//!
//! Invariants: never a panic; whatever parses re-encodes to exactly the input bytes (the
//! encodings are canonical, so the phone's signature covers what we parsed).

use logonbox::{PendingRequest, RequestBlob, ResponseBlob};

/// Runs one input (what libFuzzer hands the target); panics when an invariant breaks.
pub fn run(data: &[u8]) {
    if let Ok(response) = ResponseBlob::parse(data) {
        assert_eq!(response.to_bytes(), data);
    }
    if let Ok(request) = RequestBlob::parse(data) {
        assert_eq!(request.to_bytes(), data);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(pending) = PendingRequest::from_encoded(text, 0) {
            let request = RequestBlob::parse(pending.blob()).expect("a pending request parses");
            assert_eq!(request.principal, pending.principal());
            assert_eq!(&request.fingerprint, pending.fingerprint());
            assert_eq!(request.flags, pending.flags());
        }
    }
}
