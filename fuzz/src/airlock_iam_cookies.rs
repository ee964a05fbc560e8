//! The per-flow cookie store: `CookieJar::store` / `store_response` with the `Set-Cookie`
//! values a server (or anything on the path) sends, `cookie_header`, and a jar read back from
//! a saved flow (`serde_json` → `CookieJar` → `validate_for`).
//!
//! Input: the first byte picks the request URL (https, http, loopback IPv4/IPv6, a deep
//! domain); the rest, split on `\n`, are `Set-Cookie` values stored one after the other.
//! The whole input is also read as a saved jar (JSON).
//!
//! Invariants: never a panic; at most `MAX_COOKIES` cookies; every stored cookie has a valid
//! name/value, a path starting with `/`, a lower-case domain the URL's host belongs to, so the
//! jar passes `validate_for` of the URL it came from (a saved flow always resumes; a `Path`
//! with a control character once broke that: `regressions/airlock_iam_cookies/`); a
//! non-expired `Path=/` cookie (not `Secure` on plain http) is sent back to that URL; the jar
//! round-trips through its serialized (saved-flow) form; `Debug` never shows a value.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use airlock_iam::CookieJar;
use airlock_iam::limits::MAX_COOKIES;
use http::{HeaderMap, HeaderValue, header::SET_COOKIE};
use url::Url;

const URLS: [&str; 5] = [
    "https://iam.example.com/auth/rest/public/authentication/password/check/",
    "http://iam.example.com/auth/rest/",
    "http://127.0.0.1:8080/auth/rest/public/x",
    "https://[::1]/auth/",
    "https://a.b.iam.example.co.uk/p/q/r",
];

fn check_jar(jar: &CookieJar, url: &Url, now: SystemTime) {
    assert!(jar.len() <= MAX_COOKIES);
    // A saved flow always resumes. Once broken (`store` kept a `Path` with a control character
    // that `validate_for` refused): `regressions/airlock_iam_cookies/`.
    if let Err(e) = jar.validate_for(url) {
        panic!("a jar filled from {url} does not validate for it: {e}");
    }
    let header = jar.cookie_header(url, now);
    let header_text = header.as_ref().map(|h| {
        h.to_str()
            .expect("a Cookie header is visible ASCII")
            .to_owned()
    });
    let secure_channel = url.scheme() == "https"
        || matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
    let shown = format!("{jar:?}");
    // What `Debug` may show: every cookie's non-secret fields (escaped as `Debug` does).
    let public: String = jar
        .cookies()
        .iter()
        .map(|c| {
            format!(
                "{:?} {:?} {:?} {:?} ",
                c.name(),
                c.domain(),
                c.path(),
                c.expires()
            )
        })
        .collect::<String>()
        + "CookieJar { cookies: [Cookie { name: , value: \"[redacted]\", domain: , host_only: true false, path: , expires: Some(None), secure: , http_only: }] }";
    for c in jar.cookies() {
        let pair = format!("{}={}", c.name(), c.expose_value());
        let live = c.expires().is_none_or(|e| e > now);
        if live && c.path() == "/" && (!c.secure() || secure_channel) {
            let text = header_text
                .as_deref()
                .unwrap_or_else(|| panic!("cookie {} not sent back to {url}", c.name()));
            assert!(
                text.split("; ").any(|p| p == pair),
                "cookie {} missing from `{text}`",
                c.name()
            );
        }
        let value = c.expose_value();
        if value.len() >= 8 && !public.contains(value) {
            assert!(!shown.contains(value), "cookie value in Debug: {shown}");
        }
    }
    let saved = serde_json::to_string(jar).expect("a jar serializes");
    let back: CookieJar = serde_json::from_str(&saved).expect("a saved jar reads back");
    assert_eq!(&back, jar);
}

/// Runs one input (what libFuzzer hands the target); panics when an invariant breaks.
pub fn run(data: &[u8]) {
    let now = UNIX_EPOCH + Duration::from_secs(1_714_550_400);
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let url = Url::parse(URLS[usize::from(pick) % URLS.len()]).expect("fixed URL");
    let text = String::from_utf8_lossy(rest);

    // One value at a time through `store`.
    let mut jar = CookieJar::new();
    for line in text.split('\n') {
        jar.store(line, &url, now);
        check_jar(&jar, &url, now);
    }
    // All at once as response headers (what the transport hands over).
    let mut headers = HeaderMap::new();
    for line in text.split('\n') {
        if let Ok(v) = HeaderValue::from_str(line) {
            headers.append(SET_COOKIE, v);
        }
    }
    let mut from_headers = CookieJar::new();
    from_headers.store_response(&url, &headers, now);
    check_jar(&from_headers, &url, now);
    // Later: expired cookies are never sent.
    let later = now + Duration::from_secs(400 * 86_400 * 365);
    if let Some(h) = from_headers.cookie_header(&url, later) {
        for c in from_headers.cookies() {
            if c.expires().is_some_and(|e| e <= later) {
                let pair = format!("{}={}", c.name(), c.expose_value());
                let sent = h.to_str().expect("ascii").split("; ").any(|p| p == pair);
                // The same pair may also belong to another, live cookie (other path/domain).
                let other_live = from_headers.cookies().iter().any(|o| {
                    o.name() == c.name()
                        && o.expose_value() == c.expose_value()
                        && o.expires().is_none_or(|e| e > later)
                });
                assert!(!sent || other_live, "expired cookie {} sent", c.name());
            }
        }
    }

    // A saved flow's jar, as read back from wherever the application stored it.
    if let Ok(saved) = serde_json::from_slice::<CookieJar>(data) {
        for url in URLS {
            let url = Url::parse(url).expect("fixed URL");
            if saved.validate_for(&url).is_ok() {
                let _ = saved.cookie_header(&url, now);
                assert!(saved.len() <= MAX_COOKIES);
            }
        }
    }
}
