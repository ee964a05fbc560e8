//! Base URLs, validated once: `https://`, or plain `http://` for loopback addresses only.

use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

use crate::ConfigError;

/// A validated base URL for a provider's API.
///
/// Rules: scheme `https`, or `http` when the host is a loopback address (`127.0.0.0/8`, `::1`,
/// `localhost`); no user name or password, query or fragment. A trailing `/` is removed, and
/// [`BaseUrl::join`] appends paths verbatim (`base + path`), as the official SDKs do.
///
/// ```
/// use auth_core::BaseUrl;
///
/// let base = BaseUrl::parse("https://api.example.com/v1/").unwrap();
/// assert_eq!(base.join("/users/u1").as_str(), "https://api.example.com/v1/users/u1");
/// assert!(BaseUrl::parse("http://127.0.0.1:8080").is_ok());
/// assert!(BaseUrl::parse("http://api.example.com").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BaseUrl {
    url: Url,
    text: String,
}

impl BaseUrl {
    /// Parses and validates a base URL.
    pub fn parse(input: &str) -> Result<Self, ConfigError> {
        let invalid = |reason: &str| ConfigError::InvalidUrl {
            url: redact_url(input),
            reason: reason.to_owned(),
        };
        let url = Url::parse(input.trim()).map_err(|e| invalid(&e.to_string()))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("a base URL may not carry credentials"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("a base URL may not have a query or fragment"));
        }
        let host = url.host().ok_or_else(|| invalid("no host"))?;
        match url.scheme() {
            "https" => {}
            "http" => {
                if !is_loopback(&host) {
                    return Err(ConfigError::InsecureScheme {
                        host: host.to_string(),
                    });
                }
            }
            other => return Err(invalid(&format!("unsupported scheme `{other}`"))),
        }
        let mut text = url.as_str().to_owned();
        while text.ends_with('/') {
            text.pop();
        }
        Ok(BaseUrl { url, text })
    }

    /// The base URL without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The parsed URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The host (name or address) of the base URL.
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    /// Whether the base URL points at a loopback address.
    pub fn is_loopback(&self) -> bool {
        is_loopback_url(&self.url)
    }

    /// The path part of the base URL, without a trailing slash (`""` for none).
    pub fn path(&self) -> &str {
        self.url.path().trim_end_matches('/')
    }

    /// Appends `path` (which should start with `/`; a `?query` part is kept as the query)
    /// verbatim to the base path. Infallible: characters a URL path cannot hold are
    /// percent-encoded, never dropped.
    pub fn join(&self, path: &str) -> Url {
        let (path, query) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path, None),
        };
        let mut url = self.url.clone();
        let base_path = self.path();
        let joined = if path.starts_with('/') || path.is_empty() {
            format!("{base_path}{path}")
        } else {
            format!("{base_path}/{path}")
        };
        url.set_path(&joined);
        url.set_query(query);
        url
    }
}

/// Whether `url`'s host is a loopback address (`127.0.0.0/8`, `::1`, `localhost`): the one place
/// where plain `http://` is allowed, and where a provider may treat `http` like `https` (e.g.
/// sending `Secure` cookies to a local emulator).
pub fn is_loopback_url(url: &Url) -> bool {
    url.host().is_some_and(|h| is_loopback(&h))
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

/// A URL (absolute or relative, valid or not) fit for an error message or a log: user name and
/// password, query values and the fragment are replaced by `[redacted]`; scheme, host, port,
/// path and query parameter names are kept.
///
/// Queries and fragments carry tokens (`?token=…`, OAuth's `#access_token=…`), and a URL that
/// fails to parse is just as likely to: the redaction is textual, so it works on both.
///
/// ```
/// use auth_core::base_url::redact_url;
///
/// assert_eq!(
///     redact_url("https://user:PW@host:99999/v1?token=abc&x=1#frag"),
///     "https://[redacted]@host:99999/v1?token=[redacted]&x=[redacted]#[redacted]"
/// );
/// assert_eq!(redact_url("/v1/users?token=abc"), "/v1/users?token=[redacted]");
/// assert_eq!(redact_url("https://api.example.com/v1"), "https://api.example.com/v1");
/// ```
pub fn redact_url(input: &str) -> String {
    const R: &str = "[redacted]";
    let (before_fragment, fragment) = match input.split_once('#') {
        Some((b, _)) => (b, true),
        None => (input, false),
    };
    let (before_query, query) = match before_fragment.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (before_fragment, None),
    };
    let mut out = String::with_capacity(input.len());
    match before_query.split_once("://") {
        Some((scheme, rest)) => {
            out.push_str(scheme);
            out.push_str("://");
            let (authority, path) = match rest.find('/') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            match authority.rsplit_once('@') {
                Some((_, host)) => {
                    out.push_str(R);
                    out.push('@');
                    out.push_str(host);
                }
                None => out.push_str(authority),
            }
            out.push_str(path);
        }
        None => out.push_str(before_query),
    }
    if let Some(query) = query {
        out.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((name, _)) => {
                    out.push_str(name);
                    out.push('=');
                    out.push_str(R);
                }
                None if pair.is_empty() => {}
                None => out.push_str(R),
            }
        }
    }
    if fragment {
        out.push('#');
        out.push_str(R);
    }
    out
}

/// Percent-encodes `value` as one URL path segment: every byte but RFC 3986's unreserved ones
/// (`A-Z a-z 0-9 - . _ ~`) is encoded, so an id can never add a segment (`/`), a query (`?`)
/// or a traversal (`..` is encoded as `%2E%2E`).
///
/// ```
/// use auth_core::base_url::encode_path_segment;
///
/// assert_eq!(encode_path_segment("usr_ada"), "usr_ada");
/// assert_eq!(encode_path_segment("a/b?c d"), "a%2Fb%3Fc%20d");
/// assert_eq!(encode_path_segment(".."), "%2E%2E");
/// assert_eq!(encode_path_segment("ü"), "%C3%BC");
/// ```
pub fn encode_path_segment(value: &str) -> String {
    use std::fmt::Write as _;
    if value == "." || value == ".." {
        return value.bytes().map(|_| "%2E").collect();
    }
    let mut out = String::with_capacity(value.len());
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Decodes percent-escapes (`%2F` → `/`); `None` for a malformed escape or bytes that are not
/// UTF-8. With `plus_is_space`, `+` decodes to a space (form encoding).
///
/// ```
/// use auth_core::base_url::percent_decode;
///
/// assert_eq!(percent_decode("a%2Fb%20c", false).as_deref(), Some("a/b c"));
/// assert_eq!(percent_decode("a+b", true).as_deref(), Some("a b"));
/// assert_eq!(percent_decode("a+b", false).as_deref(), Some("a+b"));
/// assert_eq!(percent_decode("%zz", false), None);
/// assert_eq!(percent_decode("%FF", false), None);
/// ```
pub fn percent_decode(value: &str, plus_is_space: bool) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = value.get(i + 1..i + 3)?;
                if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                    return None;
                }
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BaseUrl({})", self.text)
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for BaseUrl {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BaseUrl::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_https_anywhere_and_http_on_loopback() {
        for ok in [
            "https://api.launchkey.com",
            "https://example.com:8443/prefix/",
            "http://127.0.0.1:1234",
            "http://127.8.9.10",
            "http://localhost:80/x",
            "http://[::1]:9000",
        ] {
            assert!(BaseUrl::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_plain_http_elsewhere() {
        for bad in [
            "http://example.com",
            "http://10.0.0.1",
            "http://192.168.1.1",
            "http://[::2]",
            "http://localhost.evil.com",
        ] {
            assert!(
                matches!(BaseUrl::parse(bad), Err(ConfigError::InsecureScheme { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn rejects_junk() {
        for bad in [
            "ftp://example.com",
            "not a url",
            "https://u:p@example.com",
            "https://example.com/?q=1",
            "https://example.com/#f",
        ] {
            assert!(
                matches!(BaseUrl::parse(bad), Err(ConfigError::InvalidUrl { .. })),
                "{bad}"
            );
        }
        let err = BaseUrl::parse("https://u:hunter2@example.com").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
        // A URL that does not even parse is redacted too: credentials and query values.
        for (bad, secret) in [
            ("https://user:PW1234@host:99999", "PW1234"),
            ("https://host:99999/?token=tok_abc", "tok_abc"),
            ("https://example.com/?token=tok_abc", "tok_abc"),
            ("https://example.com/#access_token=tok_abc", "tok_abc"),
        ] {
            let err = BaseUrl::parse(bad).unwrap_err();
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains(secret), "{shown}");
            assert!(shown.contains("[redacted]"), "{shown}");
        }
    }

    #[test]
    fn join_is_verbatim() {
        let b = BaseUrl::parse("https://h.example/v1/").unwrap();
        assert_eq!(b.as_str(), "https://h.example/v1");
        assert_eq!(b.join("/a/b").as_str(), "https://h.example/v1/a/b");
        assert_eq!(b.join("a").as_str(), "https://h.example/v1/a");
        assert_eq!(
            b.join("/a b/c?x=1&y=%20").as_str(),
            "https://h.example/v1/a%20b/c?x=1&y=%20"
        );
        let root = BaseUrl::parse("http://127.0.0.1:8080/").unwrap();
        assert_eq!(root.join("/ping").as_str(), "http://127.0.0.1:8080/ping");
        assert_eq!(root.join("").as_str(), "http://127.0.0.1:8080/");
        assert_eq!(b.path(), "/v1");
        assert_eq!(b.host(), "h.example");
        assert!(!b.is_loopback());
    }
}
