//! The key-listing parser (`KeyListing::parse`, `AuthorizedKey::parse_line`): the text a
//! credential server (or anyone in the middle) answers to `GET …/keys/{principal}`.
//!
//! Invariants: never a panic; every accepted key's line round-trips; line numbers of skipped
//! lines are within the input; a listing without the `# Authorized` header is refused.

use logonbox::{AuthorizedKey, KeyListing};

/// Runs one input (what libFuzzer hands the target); panics when an invariant breaks.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    // As served, and with the header a real server puts first.
    for listing in [
        text.to_string(),
        format!("# Authorized keys for fuzz\n{text}"),
    ] {
        let Ok(parsed) = KeyListing::parse(&listing) else {
            continue;
        };
        let lines = listing.lines().count();
        for skipped in parsed.skipped() {
            assert!(skipped.line >= 1 && skipped.line <= lines);
        }
        for key in parsed.keys() {
            let again = AuthorizedKey::parse_line(&key.to_line()).expect("round trip");
            assert_eq!(&again, key);
            assert_eq!(
                parsed.find(key.fingerprint()).map(|k| k.blob()),
                Some(key.blob())
            );
        }
    }
    // The header rule: a byte-order mark first is allowed, then the first non-blank line must
    // be the header.
    let body = text.strip_prefix('\u{feff}').unwrap_or(&text);
    if let Some(first) = body.lines().map(str::trim).find(|l| !l.is_empty()) {
        if !first.starts_with("# Authorized") {
            assert!(KeyListing::parse(&text).is_err());
        }
    } else {
        assert!(KeyListing::parse(&text).is_err());
    }
    for line in text.lines() {
        let _ = AuthorizedKey::parse_line(line);
    }
}
