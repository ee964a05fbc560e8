//! The per-flow cookie store: see [`CookieJar`].

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderValue;
use http::header::{HeaderMap, SET_COOKIE};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::limits::{MAX_COOKIE_BYTES, MAX_COOKIES};

/// One stored cookie.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cookie {
    name: String,
    value: String,
    domain: String,
    host_only: bool,
    path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires: Option<u64>,
    #[serde(default)]
    secure: bool,
    #[serde(default)]
    http_only: bool,
}

impl Cookie {
    /// The cookie's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cookie's value. A secret (usually a session id).
    pub fn expose_value(&self) -> &str {
        &self.value
    }

    /// The domain it is sent to.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The path it is sent under.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether it is sent only over secure connections.
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// Whether the server marked it `HttpOnly`.
    pub fn http_only(&self) -> bool {
        self.http_only
    }

    /// When it expires (`None`: a session cookie, kept as long as the flow).
    pub fn expires(&self) -> Option<SystemTime> {
        self.expires.map(from_unix)
    }

    fn expired(&self, now: SystemTime) -> bool {
        self.expires().is_some_and(|e| e <= now)
    }

    /// Whether the cookie goes with a request to `host` (lower case) / `path`, over a secure
    /// channel or not, at `now`.
    fn matches(&self, host: &str, path: &str, secure_channel: bool, now: SystemTime) -> bool {
        let domain_ok = if self.host_only {
            host == self.domain
        } else {
            domain_match(host, &self.domain)
        };
        domain_ok
            && (!self.secure || secure_channel)
            && path_match(path, &self.path)
            && !self.expired(now)
    }
}

impl fmt::Debug for Cookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cookie")
            .field("name", &self.name)
            .field("value", &"[redacted]")
            .field("domain", &self.domain)
            .field("host_only", &self.host_only)
            .field("path", &self.path)
            .field("expires", &self.expires)
            .field("secure", &self.secure)
            .field("http_only", &self.http_only)
            .finish()
    }
}

/// The cookies of one flow: a small cookie store (RFC 6265 subset) on top of
/// [`auth_core::Transport`].
///
/// Airlock advises clients to store every cookie they receive and send them all back
/// (documented S13); cookie names are not known, so nothing here depends on a name. One
/// [`CookieJar`] belongs to one authentication flow: two users' flows never share cookies.
///
/// Implemented: `Set-Cookie` name/value, `Domain` (host-only unless given; must domain-match the
/// request host), `Path` (default path per RFC 6265 §5.1.4; path matching §5.1.4), `Expires`
/// and `Max-Age` (Max-Age wins; a past expiry deletes), `Secure` (sent only over https, or to a
/// loopback host), `HttpOnly` (kept, irrelevant for a non-browser client). Not implemented: the
/// public-suffix list (a `Domain` that is a public suffix is accepted when it domain-matches),
/// `SameSite` (no cross-site context here).
///
/// Cookie values are secrets (session ids): `Debug` shows names only. The jar is serializable so
/// a flow can be saved and resumed; the serialized form contains the values in clear — store it
/// like a session secret.
///
/// ```
/// use airlock_iam::CookieJar;
/// use std::time::SystemTime;
/// use url::Url;
///
/// let mut jar = CookieJar::new();
/// let url = Url::parse("https://iam.example.com/auth/rest/public/authentication/password/check/").unwrap();
/// jar.store("JSESSIONID=abc123; Path=/; Secure; HttpOnly", &url, SystemTime::now());
/// let header = jar.cookie_header(&url, SystemTime::now()).unwrap();
/// assert_eq!(header.to_str().unwrap(), "JSESSIONID=abc123");
/// assert!(!format!("{jar:?}").contains("abc123"));
/// ```
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CookieJar {
    cookies: Vec<Cookie>,
}

impl fmt::Debug for CookieJar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieJar")
            .field("cookies", &self.cookies)
            .finish()
    }
}

impl CookieJar {
    /// An empty jar.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many cookies are stored (expired ones included until the next store).
    pub fn len(&self) -> usize {
        self.cookies.len()
    }

    /// Whether the jar is empty.
    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }

    /// The stored cookies.
    pub fn cookies(&self) -> &[Cookie] {
        &self.cookies
    }

    /// Forgets every cookie (the server session is then unreachable from this jar).
    pub fn clear(&mut self) {
        self.cookies.clear();
    }

    /// Stores every `Set-Cookie` header of a response to `url`.
    pub fn store_response(&mut self, url: &Url, headers: &HeaderMap, now: SystemTime) {
        for value in headers.get_all(SET_COOKIE) {
            if let Ok(text) = value.to_str() {
                self.store(text, url, now);
            } else {
                tracing::debug!("ignored a Set-Cookie header that is not visible ASCII");
            }
        }
    }

    /// Stores one `Set-Cookie` header value received from `url`. Invalid cookies are ignored
    /// (RFC 6265 §5.2), and so are cookies for a domain `url` is not in. Returns whether the jar
    /// changed.
    pub fn store(&mut self, set_cookie: &str, url: &Url, now: SystemTime) -> bool {
        let Some(cookie) = parse_set_cookie(set_cookie, url, now) else {
            return false;
        };
        let before = self.cookies.len();
        self.cookies.retain(|c| {
            let same = c.name == cookie.name && c.domain == cookie.domain && c.path == cookie.path;
            !same && !c.expired(now)
        });
        let removed = before != self.cookies.len();
        if cookie.expired(now) {
            return removed;
        }
        if self.cookies.len() >= MAX_COOKIES {
            self.cookies.remove(0);
        }
        self.cookies.push(cookie);
        true
    }

    /// The `Cookie` header for a request to `url` (marked sensitive), or `None` when no cookie
    /// applies. Longer paths first, then older cookies first (RFC 6265 §5.4).
    pub fn cookie_header(&self, url: &Url, now: SystemTime) -> Option<HeaderValue> {
        // The url crate lower-cases domain hosts already; done once here, not per cookie.
        let host = url.host_str()?.to_ascii_lowercase();
        let secure_channel = url.scheme() == "https" || auth_core::base_url::is_loopback_url(url);
        let mut matching: Vec<&Cookie> = self
            .cookies
            .iter()
            .filter(|c| c.matches(&host, url.path(), secure_channel, now))
            .collect();
        if matching.is_empty() {
            return None;
        }
        // Stable sort: equal path lengths keep their (oldest first) order.
        matching.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        let mut text = String::new();
        for (i, c) in matching.iter().enumerate() {
            if i > 0 {
                text.push_str("; ");
            }
            text.push_str(&c.name);
            text.push('=');
            text.push_str(&c.value);
        }
        let mut value = HeaderValue::from_str(&text).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    /// Checks a jar that came from outside this process (a [`SavedFlow`](crate::SavedFlow) being
    /// resumed) before any of it is sent to `url`: at most [`MAX_COOKIES`] cookies, each with a
    /// valid name and value within [`MAX_COOKIE_BYTES`], a path starting with `/`, and a domain
    /// that `url`'s host belongs to — so a saved flow of another Loginapp (or a tampered one)
    /// is refused instead of silently sending nothing or sending cookies elsewhere.
    ///
    /// The error names the offending cookie by position and name, never by value.
    ///
    /// ```
    /// use airlock_iam::CookieJar;
    /// use std::time::SystemTime;
    /// use url::Url;
    ///
    /// let iam = Url::parse("https://iam.example.com/auth/rest/x").unwrap();
    /// let mut jar = CookieJar::new();
    /// jar.store("JSESSIONID=abc; Path=/", &iam, SystemTime::now());
    /// assert!(jar.validate_for(&iam).is_ok());
    /// let other = Url::parse("https://iam.other.example/auth/rest/x").unwrap();
    /// assert!(jar.validate_for(&other).is_err());
    /// ```
    pub fn validate_for(&self, url: &Url) -> Result<(), crate::Error> {
        let invalid = |reason: String| crate::error::invalid("saved cookies", reason);
        if self.cookies.len() > MAX_COOKIES {
            return Err(invalid(format!("more than {MAX_COOKIES} cookies")));
        }
        let host = url
            .host_str()
            .ok_or_else(|| invalid("the URL has no host".into()))?
            .to_ascii_lowercase();
        for (i, c) in self.cookies.iter().enumerate() {
            // The name is shown only once it is known to be a short, printable token.
            if !valid_pair(&c.name, &c.value) {
                return Err(invalid(format!("cookie #{i}: invalid name or value")));
            }
            // Host-only: exactly this host. Domain cookie: this host or a parent domain that is
            // not a single label (the same rules as when storing).
            let covers = if c.host_only {
                c.domain == host
            } else {
                c.domain == host || (c.domain.contains('.') && domain_match(&host, &c.domain))
            };
            let problem = if !valid_path(&c.path) {
                Some("its path is not absolute or holds control characters")
            } else if c.domain.is_empty() || c.domain != c.domain.to_ascii_lowercase() {
                Some("its domain is empty or not lower case")
            } else if !covers && c.host_only {
                Some("it belongs to another host")
            } else if !covers {
                Some("its domain does not cover this host")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(invalid(format!("cookie #{i} `{}`: {problem}", c.name)));
            }
        }
        Ok(())
    }

    /// Every stored cookie value (to scrub them out of error bodies).
    pub(crate) fn values(&self) -> Vec<String> {
        self.cookies.iter().map(|c| c.value.clone()).collect()
    }
}

/// A cookie path we store and accept on resume: absolute and free of control characters. Used
/// by both [`CookieJar::store`] and [`CookieJar::validate_for`], so a jar filled from responses
/// always validates.
fn valid_path(path: &str) -> bool {
    path.starts_with('/') && !path.chars().any(char::is_control)
}

/// RFC 6265 cookie-name / cookie-value characters, and the size limit.
fn valid_pair(name: &str, value: &str) -> bool {
    let valid = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_graphic() && b != b';' && b != b',' && b != b'"' && b != b'\\')
    };
    !name.is_empty() && valid(name) && valid(value) && name.len() + value.len() <= MAX_COOKIE_BYTES
}

fn parse_set_cookie(input: &str, url: &Url, now: SystemTime) -> Option<Cookie> {
    let host = url.host_str()?.to_ascii_lowercase();
    let mut parts = input.split(';');
    let pair = parts.next()?;
    let (name, value) = pair.split_once('=')?;
    let name = name.trim();
    let mut value = value.trim();
    if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
        value = &value[1..value.len() - 1];
    }
    if !valid_pair(name, value) {
        return None;
    }
    let mut domain: Option<String> = None;
    let mut path: Option<String> = None;
    let mut expires: Option<SystemTime> = None;
    let mut max_age: Option<i64> = None;
    let mut secure = false;
    let mut http_only = false;
    for attr in parts {
        let (key, val) = match attr.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (attr.trim(), ""),
        };
        match key.to_ascii_lowercase().as_str() {
            "domain" if !val.is_empty() => {
                domain = Some(val.trim_start_matches('.').to_ascii_lowercase());
            }
            // A malformed Path is ignored (the default path applies), as RFC 6265 §5.2.4 does
            // for one that does not start with `/`.
            "path" if valid_path(val) => path = Some(val.to_owned()),
            "expires" => expires = parse_cookie_date(val).or(expires),
            "max-age" => {
                if let Ok(n) = val.parse::<i64>() {
                    max_age = Some(n);
                }
            }
            "secure" => secure = true,
            "httponly" => http_only = true,
            _ => {}
        }
    }
    let expiry = match (max_age, expires) {
        (Some(n), _) if n <= 0 => Some(UNIX_EPOCH),
        (Some(n), _) => Some(
            now.checked_add(Duration::from_secs(n.unsigned_abs()))
                .unwrap_or_else(|| from_unix(MAX_EXPIRY_UNIX)),
        ),
        (None, Some(t)) => Some(t),
        (None, None) => None,
    };
    let (domain, host_only) = match domain {
        Some(d) if d == host => (d, false),
        // A single-label domain (`com`, `local`) would send the cookie to every host under it:
        // refused, a cheap stand-in for the public-suffix list.
        Some(d) if domain_match(&host, &d) && d.contains('.') => (d, false),
        Some(_) => return None,
        None => (host, true),
    };
    Some(Cookie {
        name: name.to_owned(),
        value: value.to_owned(),
        domain,
        host_only,
        path: path.unwrap_or_else(|| default_path(url.path())),
        expires: expiry.map(to_unix),
        secure,
        http_only,
    })
}

/// The latest expiry kept (year 9999): later ones are clamped, so no date arithmetic on hostile
/// `Max-Age`/`Expires` values or on a resumed saved flow can overflow.
const MAX_EXPIRY_UNIX: u64 = 253_402_300_799;

fn from_unix(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds.min(MAX_EXPIRY_UNIX))
}

fn to_unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .min(MAX_EXPIRY_UNIX)
}

fn parse_cookie_date(value: &str) -> Option<SystemTime> {
    if let Ok(t) = httpdate::parse_http_date(value) {
        return Some(t);
    }
    // Netscape form `Wed, 21-Oct-2015 07:28:00 GMT`.
    let (day, rest) = value.split_once(", ")?;
    let fixed = format!("{day}, {}", rest.replacen('-', " ", 2));
    httpdate::parse_http_date(&fixed).ok()
}

fn domain_match(host: &str, domain: &str) -> bool {
    if host == domain {
        return true;
    }
    host.parse::<std::net::IpAddr>().is_err()
        && host.len() > domain.len()
        && host.ends_with(domain)
        && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
}

fn default_path(request_path: &str) -> String {
    if !request_path.starts_with('/') {
        return "/".into();
    }
    match request_path.rfind('/') {
        Some(0) | None => "/".into(),
        Some(i) => request_path[..i].to_owned(),
    }
}

fn path_match(request_path: &str, cookie_path: &str) -> bool {
    let request_path = if request_path.is_empty() {
        "/"
    } else {
        request_path
    };
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/')
                || request_path.as_bytes().get(cookie_path.len()) == Some(&b'/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn header(jar: &CookieJar, u: &str) -> Option<String> {
        jar.cookie_header(&url(u), now())
            .map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn host_only_path_and_order() {
        let mut jar = CookieJar::new();
        let from = url("https://iam.example.com/auth/rest/public/authentication/password/check/");
        assert!(jar.store("JSESSIONID=s1; Path=/; HttpOnly", &from, now()));
        assert!(jar.store("deep=d; Path=/auth/rest", &from, now()));
        assert!(jar.store("dflt=x", &from, now()));
        assert_eq!(
            jar.cookies()[2].path(),
            "/auth/rest/public/authentication/password/check"
        );
        assert_eq!(
            header(&jar, "https://iam.example.com/auth/rest/public/x").as_deref(),
            Some("deep=d; JSESSIONID=s1")
        );
        assert_eq!(header(&jar, "https://other.example.com/auth/rest/x"), None);
        assert_eq!(header(&jar, "https://sub.iam.example.com/"), None);
        assert_eq!(
            header(&jar, "https://iam.example.com/auth/restless").as_deref(),
            Some("JSESSIONID=s1")
        );
    }

    #[test]
    fn domain_attribute_rules() {
        let mut jar = CookieJar::new();
        let from = url("https://login.example.com/auth/");
        assert!(jar.store("gw=1; Domain=.example.com; Path=/", &from, now()));
        assert!(!jar.store("evil=1; Domain=attacker.com; Path=/", &from, now()));
        assert!(!jar.store("evil=1; Domain=ample.com; Path=/", &from, now()));
        assert_eq!(
            header(&jar, "https://api.example.com/x").as_deref(),
            Some("gw=1")
        );
        assert_eq!(
            header(&jar, "https://example.com/x").as_deref(),
            Some("gw=1")
        );
        assert_eq!(header(&jar, "https://notexample.com/x"), None);
    }

    #[test]
    fn expiry_and_replacement() {
        let mut jar = CookieJar::new();
        let from = url("https://iam.example.com/");
        jar.store("a=1; Max-Age=60", &from, now());
        jar.store("b=2; Expires=Wed, 21 Oct 2015 07:28:00 GMT", &from, now());
        jar.store("c=3; Expires=Wed, 21-Oct-2037 07:28:00 GMT", &from, now());
        assert_eq!(jar.len(), 2, "{jar:?}");
        assert_eq!(
            header(&jar, "https://iam.example.com/").as_deref(),
            Some("a=1; c=3")
        );
        jar.store("a=9", &from, now());
        assert_eq!(
            header(&jar, "https://iam.example.com/").as_deref(),
            Some("c=3; a=9")
        );
        jar.store("a=; Max-Age=0", &from, now());
        assert_eq!(
            header(&jar, "https://iam.example.com/").as_deref(),
            Some("c=3")
        );
        let later = now() + Duration::from_secs(3600 * 24 * 365 * 30);
        assert!(jar.cookie_header(&from, later).is_none());
        // Max-Age wins over Expires.
        jar.store(
            "m=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Max-Age=10",
            &from,
            now(),
        );
        assert!(
            header(&jar, "https://iam.example.com/")
                .unwrap()
                .contains("m=1")
        );
    }

    #[test]
    fn secure_cookies_only_over_https_or_loopback() {
        let mut jar = CookieJar::new();
        jar.store("s=1; Secure", &url("https://iam.example.com/"), now());
        assert_eq!(header(&jar, "http://iam.example.com/"), None);
        let mut local = CookieJar::new();
        local.store("s=1; Secure", &url("http://127.0.0.1:8080/"), now());
        assert_eq!(
            header(&local, "http://127.0.0.1:8080/x").as_deref(),
            Some("s=1")
        );
    }

    #[test]
    fn junk_is_ignored_never_panics() {
        let mut jar = CookieJar::new();
        let from = url("https://iam.example.com/");
        for junk in [
            "",
            "=",
            "novalue",
            "=v",
            "a b=c",
            "a=b c",
            "a=\u{e9}",
            ";;;",
            "a=1; Max-Age=x; Path=nope",
        ] {
            jar.store(junk, &from, now());
        }
        assert_eq!(jar.len(), 1, "{jar:?}");
        assert_eq!(jar.cookies()[0].path(), "/");
        let long = format!("big={}", "x".repeat(MAX_COOKIE_BYTES));
        assert!(!jar.store(&long, &from, now()));
        for i in 0..(MAX_COOKIES + 5) {
            jar.store(&format!("c{i}=v"), &from, now());
        }
        assert_eq!(jar.len(), MAX_COOKIES);
    }

    #[test]
    fn debug_redacts_and_serde_round_trips() {
        let mut jar = CookieJar::new();
        jar.store(
            "JSESSIONID=topsecret-session; Path=/; Max-Age=100",
            &url("https://iam.example.com/"),
            now(),
        );
        let dbg = format!("{jar:?}");
        assert!(!dbg.contains("topsecret"), "{dbg}");
        assert!(dbg.contains("JSESSIONID"));
        let json = serde_json::to_string(&jar).unwrap();
        let back: CookieJar = serde_json::from_str(&json).unwrap();
        assert_eq!(back, jar);
        let h = back
            .cookie_header(&url("https://iam.example.com/a"), now())
            .unwrap();
        assert!(h.is_sensitive());
    }

    #[test]
    fn random_set_cookie_headers_never_panic() {
        let mut rng = fastrand::Rng::with_seed(7);
        let alphabet = b"abcXYZ=;, \t\"./-:0123456789DomainPathExpiresMax-AgeSecureHttpOnly";
        let from = url("https://iam.example.com/auth/rest/x");
        let mut jar = CookieJar::new();
        for _ in 0..3000 {
            let len = rng.usize(0..60);
            let s: String = (0..len)
                .map(|_| char::from(alphabet[rng.usize(..alphabet.len())]))
                .collect();
            jar.store(&s, &from, now());
            let _ = jar.cookie_header(&from, now());
        }
        assert!(jar.len() <= MAX_COOKIES);
    }

    #[test]
    fn hostile_expiry_values_never_overflow() {
        let from = url("https://iam.example.com/");
        let mut jar = CookieJar::new();
        for attr in [
            "Max-Age=9223372036854775807",
            "Max-Age=-9223372036854775808",
            "Max-Age=18446744073709551616",
            "Expires=Fri, 31 Dec 9999 23:59:59 GMT",
        ] {
            jar.store(&format!("a=1; {attr}"), &from, now());
            let _ = jar.cookie_header(&from, now());
        }
        assert!(jar.store("big=1; Max-Age=9223372036854775807", &from, now()));
        let big = jar.cookies().iter().find(|c| c.name() == "big").unwrap();
        assert_eq!(big.expires(), Some(from_unix(MAX_EXPIRY_UNIX)));
        // A saved jar with an absurd expiry (tampered or hostile) is clamped, not a panic.
        let json = serde_json::json!({"cookies": [{"name": "s", "value": "v",
            "domain": "iam.example.com", "hostOnly": true, "path": "/", "expires": u64::MAX}]});
        let saved: CookieJar = serde_json::from_value(json).unwrap();
        assert_eq!(
            saved.cookies()[0].expires(),
            Some(from_unix(MAX_EXPIRY_UNIX))
        );
        assert_eq!(
            header(&saved, "https://iam.example.com/").as_deref(),
            Some("s=v")
        );
    }

    /// Found by `fuzz/fuzz_targets/airlock_iam_cookies.rs` (reproducers in
    /// `fuzz/regressions/airlock_iam_cookies/`): a `Path` with a control character was stored,
    /// and the saved jar then failed `validate_for`, so the flow could not be resumed.
    #[test]
    fn a_jar_filled_from_responses_always_validates() {
        let from = url("https://iam.example.com/auth/rest/");
        let mut jar = CookieJar::new();
        assert!(jar.store(
            "JSESSIONID=4f1c0b7e; Path=/auth\trest; HttpOnly",
            &from,
            now()
        ));
        assert!(jar.store("Q=; Path=/\u{0}", &from, now()));
        assert!(jar.validate_for(&from).is_ok());
        // The malformed paths were ignored: the default path applies and the cookies are sent.
        let header = jar.cookie_header(&from, now()).unwrap();
        let header = header.to_str().unwrap();
        assert!(header.contains("JSESSIONID=4f1c0b7e"), "{header}");
    }

    #[test]
    fn single_label_domains_are_refused() {
        let mut jar = CookieJar::new();
        let from = url("https://login.example.com/");
        assert!(!jar.store("tld=1; Domain=com; Path=/", &from, now()));
        assert!(!jar.store("tld=1; Domain=.com; Path=/", &from, now()));
        assert_eq!(header(&jar, "https://evil.com/"), None);
        // Equal to the host is fine even without a dot (e.g. `localhost`).
        let local = url("http://localhost:8080/");
        assert!(jar.store("l=1; Domain=localhost", &local, now()));
        assert_eq!(header(&jar, "http://localhost:9/x").as_deref(), Some("l=1"));
        // IP hosts never domain-match anything but themselves.
        let ip = url("http://127.0.0.1/");
        assert!(!jar.store("ip=1; Domain=0.0.1", &ip, now()));
        assert!(jar.store("ip=1; Domain=127.0.0.1", &ip, now()));
        assert_eq!(header(&jar, "http://127.0.0.1/").as_deref(), Some("ip=1"));
    }

    #[test]
    fn saved_jars_are_validated_for_the_host() {
        let iam = url("https://iam.example.com/auth/rest/x");
        let mut jar = CookieJar::new();
        jar.store("JSESSIONID=s1; Path=/", &iam, now());
        jar.store("gw=g; Domain=example.com; Path=/", &iam, now());
        jar.validate_for(&iam).unwrap();
        jar.validate_for(&url("https://api.example.com/"))
            .unwrap_err();
        jar.validate_for(&url("https://iam.example.org/"))
            .unwrap_err();
        let tampered = |c: serde_json::Value| {
            let jar: CookieJar =
                serde_json::from_value(serde_json::json!({ "cookies": [c] })).unwrap();
            jar.validate_for(&iam)
        };
        let ok = serde_json::json!({"name": "s", "value": "v", "domain": "iam.example.com",
            "hostOnly": true, "path": "/"});
        tampered(ok.clone()).unwrap();
        for (key, bad) in [
            ("value", serde_json::json!("a b")),
            ("value", serde_json::json!("line\r\nX-Injected: 1")),
            ("name", serde_json::json!("")),
            ("path", serde_json::json!("auth")),
            ("domain", serde_json::json!("evil.example")),
            ("domain", serde_json::json!("IAM.example.com")),
        ] {
            let mut c = ok.clone();
            c[key] = bad.clone();
            let err = tampered(c).unwrap_err();
            assert!(
                matches!(
                    err,
                    crate::Error::Core(auth_core::Error::Config(
                        auth_core::ConfigError::Invalid { .. }
                    ))
                ),
                "{key}={bad}"
            );
            assert!(!err.to_string().contains("line"), "{err}");
        }
        let mut c = ok.clone();
        c["hostOnly"] = false.into();
        c["domain"] = "com".into();
        tampered(c).unwrap_err();
        let many: Vec<_> = (0..=MAX_COOKIES).map(|_| ok.clone()).collect();
        let jar: CookieJar =
            serde_json::from_value(serde_json::json!({ "cookies": many })).unwrap();
        jar.validate_for(&iam).unwrap_err();
    }
}
