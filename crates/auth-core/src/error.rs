//! The shared error type.
//!
//! Every provider crate has its own error enum and wraps [`Error`] for the cases all providers
//! share: the network failed, the server answered with an error status, a response did not
//! decode, the configuration was wrong, a deadline passed, or the caller cancelled.

use std::fmt;
use std::time::Duration;

/// How many bytes of a provider's error body an [`Error`] keeps.
pub const ERROR_BODY_LIMIT: usize = 2048;

/// A failure shared by every provider crate.
///
/// No variant ever contains a secret: error bodies are truncated and scrubbed of the secrets the
/// transport knows about (see [`ErrorBody::new`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request never got a complete HTTP response.
    #[error("transport error: {0}")]
    Transport(#[from] TransportError),
    /// The server answered with a status the provider crate did not expect.
    #[error("HTTP {status}: {body}")]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The (bounded, scrubbed) response body.
        body: ErrorBody,
        /// The provider's request id header, when it sent one.
        request_id: Option<String>,
    },
    /// A response (or webhook) body did not have the expected shape.
    #[error("could not decode {what} at `{path}`: {message}")]
    Decode {
        /// What was being decoded (e.g. `"auth response"`).
        what: &'static str,
        /// The JSON path of the offending field (`.` for the document itself).
        path: String,
        /// What was wrong there.
        message: String,
    },
    /// The client was configured wrongly; nothing was sent.
    #[error("configuration error: {0}")]
    Config(#[from] ConfigError),
    /// An overall deadline passed before the operation settled.
    #[error("deadline of {deadline:?} exceeded after {attempts} attempt(s)")]
    DeadlineExceeded {
        /// The deadline that was configured.
        deadline: Duration,
        /// How many attempts were made before it passed.
        attempts: u32,
    },
    /// The server asked to be called again later than the deadline allows (a `Retry-After` or
    /// poll hint that reaches past it), so waiting was given up at once instead of at the
    /// deadline.
    #[error(
        "the server asked to wait {retry_after:?}, past the deadline ({remaining:?} left) after {attempts} attempt(s)"
    )]
    HintBeyondDeadline {
        /// What the server asked for.
        retry_after: Duration,
        /// What was left of the deadline.
        remaining: Duration,
        /// How many attempts were made.
        attempts: u32,
    },
    /// A step-up handle from another provider (or edited) was given to this one.
    #[error("this step-up handle belongs to `{found}`, not `{expected}`")]
    ForeignHandle {
        /// This provider's name.
        expected: &'static str,
        /// The provider named in the handle (cut to 32 characters).
        found: String,
    },
    /// The operation was cancelled by the caller.
    #[error("cancelled")]
    Cancelled,
}

impl Error {
    /// Builds an [`Error::Decode`].
    pub fn decode(what: &'static str, path: impl Into<String>, message: impl fmt::Display) -> Self {
        Error::Decode {
            what,
            path: path.into(),
            message: message.to_string(),
        }
    }

    /// Builds an [`Error::Status`] from a status and a raw body, truncating the body and
    /// scrubbing the given secrets out of it.
    pub fn status(status: u16, body: &[u8], secrets: &[&str]) -> Self {
        Error::Status {
            status,
            body: ErrorBody::new(body, secrets),
            request_id: None,
        }
    }

    /// Whether the operation may succeed if repeated (connection failures, timeouts, 429, 5xx).
    ///
    /// This says nothing about whether repeating is *safe*; see [`crate::RetryPolicy`].
    /// The same answer as [`Classify::is_retryable`].
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport(t) => matches!(
                t.kind(),
                TransportErrorKind::Connect | TransportErrorKind::Timeout
            ),
            Error::Status { status, .. } => matches!(*status, 429 | 502 | 503 | 504),
            _ => false,
        }
    }

    /// The HTTP status, for [`Error::Status`].
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the server refused the credentials (HTTP 401).
    pub fn is_unauthorized(&self) -> bool {
        self.http_status() == Some(401)
    }

    /// Whether the server asked us to slow down (HTTP 429).
    pub fn is_rate_limited(&self) -> bool {
        self.http_status() == Some(429)
    }

    /// Whether the server failed (HTTP 5xx).
    pub fn is_server_error(&self) -> bool {
        self.http_status().is_some_and(|s| (500..600).contains(&s))
    }

    /// Whether this is a timeout (transport timeout or an exceeded deadline).
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Error::DeadlineExceeded { .. } | Error::HintBeyondDeadline { .. }
        ) || matches!(self, Error::Transport(t) if t.kind() == TransportErrorKind::Timeout)
    }
}

/// What kind of failure an error is: one classification, implemented by every crate's error
/// (see [`Classify`]), so that applications and generic code decide the same way for every
/// provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The network failed: no connection, a reset, a TLS failure, a malformed response.
    Transport,
    /// A timeout or a deadline passed.
    Timeout,
    /// The provider asked us to slow down (HTTP 429, or its own rate-limit code).
    RateLimited,
    /// The provider refused our credentials (API key, signature, client secret, session).
    Unauthorized,
    /// The user (or the provider's rules on their behalf) said no.
    Rejected,
    /// The provider answered, but not as its protocol says (unexpected status, undecodable
    /// body, failed verification), or refused the request as invalid.
    Protocol,
    /// The client or a request was configured wrongly; nothing was sent.
    Configuration,
    /// The caller cancelled.
    Cancelled,
}

impl ErrorKind {
    /// Whether a failure of this kind may succeed if the operation is repeated later
    /// (transport failures, timeouts, rate limits). Whether repeating is *safe* is another
    /// matter: see [`crate::RetryPolicy`].
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Transport | ErrorKind::Timeout | ErrorKind::RateLimited
        )
    }
}

/// The one error classification every oob-auth error implements (after smithy-rs's
/// `ProvideErrorKind`): kind, HTTP status, the provider's own error code, retryable or not,
/// and the server's hint for when to try again.
///
/// ```
/// use auth_core::{Classify, Error, ErrorKind};
///
/// let e = Error::status(429, b"{}", &[]);
/// assert_eq!(e.kind(), ErrorKind::RateLimited);
/// assert_eq!(e.http_status(), Some(429));
/// assert!(e.is_retryable());
/// ```
pub trait Classify {
    /// The kind of failure.
    fn kind(&self) -> ErrorKind;

    /// The HTTP status the provider answered with, if the failure came from one.
    fn http_status(&self) -> Option<u16> {
        None
    }

    /// The provider's own error code (`ARG-001`, `invalid_grant`, `9022`…), when it sent one.
    fn provider_code(&self) -> Option<&str> {
        None
    }

    /// How long the provider asked us to wait before trying again, when it said.
    fn retry_after(&self) -> Option<Duration> {
        None
    }

    /// Whether the operation may succeed if repeated later (by default: by [`Classify::kind`]).
    fn is_retryable(&self) -> bool {
        self.kind().is_retryable()
    }
}

impl Classify for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::Transport(t) => match t.kind() {
                TransportErrorKind::Timeout => ErrorKind::Timeout,
                _ => ErrorKind::Transport,
            },
            Error::Status { status: 429, .. } => ErrorKind::RateLimited,
            Error::Status {
                status: 401 | 403, ..
            } => ErrorKind::Unauthorized,
            Error::Status {
                status: 502..=504, ..
            } => ErrorKind::Transport,
            Error::Status { .. } | Error::Decode { .. } => ErrorKind::Protocol,
            Error::Config(_) | Error::ForeignHandle { .. } => ErrorKind::Configuration,
            Error::DeadlineExceeded { .. } | Error::HintBeyondDeadline { .. } => ErrorKind::Timeout,
            Error::Cancelled => ErrorKind::Cancelled,
        }
    }

    fn http_status(&self) -> Option<u16> {
        Error::http_status(self)
    }

    /// Connection failures, timeouts of one request, 429, 502, 503 and 504; not a TLS
    /// failure, a refused redirect, an over-size body, nor an overall deadline that passed.
    fn is_retryable(&self) -> bool {
        self.is_transient()
    }
}

/// A provider's error body, bounded to [`ERROR_BODY_LIMIT`] bytes and scrubbed of known secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct ErrorBody {
    text: String,
    truncated: bool,
}

impl ErrorBody {
    /// Keeps at most [`ERROR_BODY_LIMIT`] bytes of `raw` (cut on a character boundary, lossy
    /// UTF-8) and replaces every occurrence of each non-empty string in `secrets` by `[redacted]`.
    ///
    /// Scrubbing happens on the whole body before truncation, so a secret cut in half by the
    /// limit cannot survive either.
    pub fn new(raw: &[u8], secrets: &[&str]) -> Self {
        let mut text = scrub_secrets(&String::from_utf8_lossy(raw), secrets);
        let truncated = text.len() > ERROR_BODY_LIMIT;
        if truncated {
            let mut cut = ERROR_BODY_LIMIT;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        ErrorBody { text, truncated }
    }

    /// The kept text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the original body was longer than what is kept.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// Parses the kept text as JSON (for provider crates that read an error code from it).
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.text).ok()
    }
}

impl fmt::Debug for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)?;
        if self.truncated {
            f.write_str("…")?;
        }
        Ok(())
    }
}

impl fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.text.is_empty() {
            return f.write_str("(empty body)");
        }
        f.write_str(&self.text)?;
        if self.truncated {
            f.write_str("…")?;
        }
        Ok(())
    }
}

/// Replaces every occurrence of each non-empty string in `secrets`, in every spelling a server
/// may echo it in, by `[redacted]`.
///
/// For text that may echo what a request carried (error descriptions, provider messages)
/// before it reaches an error, a log or `Debug`. Scrub before truncating, so a secret cut in
/// half by a length limit cannot survive.
///
/// Besides the raw text, each secret is caught
/// - JSON-escaped (`"` and `\` escaped, and non-ASCII as `\u00fc` or `\u00FC`),
/// - percent-encoded (RFC 3986 or form style, space as `+` or `%20`, upper- or lower-case hex),
/// - base64-encoded (standard or URL-safe alphabet), also inside a longer encoded value at any
///   alignment: `Basic base64(client_id:secret)` loses the secret's part.
///
/// Encoded forms shorter than [`MIN_ENCODED_FORM`] characters are not scrubbed, so a short
/// secret cannot blank out unrelated text.
///
/// ```
/// use auth_core::error::scrub_secrets;
///
/// assert_eq!(
///     scrub_secrets("bad code 123456 for tok_abc", &["123456", "tok_abc", ""]),
///     "bad code [redacted] for [redacted]"
/// );
/// // base64 of "client:s3cr3t-value", as in an HTTP Basic header
/// let echoed = "got Authorization: Basic Y2xpZW50OnMzY3IzdC12YWx1ZQ==";
/// assert!(!scrub_secrets(echoed, &["s3cr3t-value"]).contains("MzY3IzdC12YWx1"));
/// // a password with a quote, echoed inside JSON
/// assert_eq!(
///     scrub_secrets(r#"{"password":"p\"w\u00fcrd"}"#, &["p\"würd"]),
///     r#"{"password":"[redacted]"}"#
/// );
/// ```
pub fn scrub_secrets(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        for form in secret_forms(secret) {
            if out.contains(form.as_str()) {
                out = out.replace(form.as_str(), "[redacted]");
            }
        }
    }
    out
}

/// The shortest encoded form of a secret that [`scrub_secrets`] removes (the raw form is always
/// removed, whatever its length).
pub const MIN_ENCODED_FORM: usize = 6;

/// Every spelling of `secret` that [`scrub_secrets`] looks for, longest first.
fn secret_forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_owned()];
    let mut add = |form: String| {
        if form.len() >= MIN_ENCODED_FORM && !forms.contains(&form) {
            forms.push(form);
        }
    };
    add(json_escaped(secret, false, false));
    add(json_escaped(secret, true, false));
    add(json_escaped(secret, true, true));
    add(json_escaped(secret, false, false).replace('/', "\\/"));
    for upper in [true, false] {
        for plus in [true, false] {
            for whatwg in [true, false] {
                add(percent_encoded(secret, plus, whatwg, upper));
            }
        }
    }
    for core in base64_cores(secret.as_bytes()) {
        add(core);
    }
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms
}

/// JSON string escaping (without the quotes); `ascii` also escapes non-ASCII as `\uXXXX`.
fn json_escaped(s: &str, ascii: bool, upper_hex: bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(s.len() + 8);
    let mut utf16 = [0u16; 2];
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || (ascii && !c.is_ascii()) => {
                for unit in c.encode_utf16(&mut utf16) {
                    let _ = if upper_hex {
                        write!(out, "\\u{unit:04X}")
                    } else {
                        write!(out, "\\u{unit:04x}")
                    };
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Percent-encoding of every byte but the unreserved ones: RFC 3986's (`-._~`) or, with
/// `whatwg`, the form encoder's (`*-._`); `plus` writes a space as `+`.
fn percent_encoded(s: &str, plus: bool, whatwg: bool, upper_hex: bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => out.push(char::from(b)),
            b'~' if !whatwg => out.push('~'),
            b'*' if whatwg => out.push('*'),
            b' ' if plus => out.push('+'),
            b => {
                let _ = if upper_hex {
                    write!(out, "%{b:02X}")
                } else {
                    write!(out, "%{b:02x}")
                };
            }
        }
    }
    out
}

/// The base64 characters that `secret` alone determines when it sits at each of the three byte
/// alignments inside a longer encoded value, in both alphabets.
fn base64_cores(secret: &[u8]) -> Vec<String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let mut cores = Vec::new();
    for offset in 0..3usize {
        let mut buf = vec![0u8; offset];
        buf.extend_from_slice(secret);
        // Character i covers bits [6i, 6i+6): keep those inside the secret's bits.
        let start = (8 * offset).div_ceil(6);
        let end = 8 * (offset + secret.len()) / 6;
        if end <= start {
            continue;
        }
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            let encoded = engine.encode(&buf);
            if let Some(core) = encoded.get(start..end) {
                cores.push(core.to_owned());
            }
        }
        zeroize::Zeroize::zeroize(&mut buf);
    }
    cores
}

/// What kind of transport failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The connection could not be made (DNS, refused, reset before a response).
    Connect,
    /// The connect or total timeout passed.
    Timeout,
    /// The TLS handshake or certificate check failed.
    Tls,
    /// The response body was larger than the configured limit.
    BodyTooLarge,
    /// The server tried to redirect an API call (redirects are never followed).
    Redirect,
    /// Anything else (a malformed response, an I/O error mid-body…).
    Other,
}

/// A transport failure: the kind, and the underlying error.
#[derive(Debug, thiserror::Error)]
#[error("{kind:?}: {source}")]
pub struct TransportError {
    kind: TransportErrorKind,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl TransportError {
    /// Wraps an underlying error.
    pub fn new(
        kind: TransportErrorKind,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        TransportError {
            kind,
            source: source.into(),
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }
}

/// A configuration mistake, found before anything was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The base URL does not parse, or has parts a base URL may not have.
    #[error("invalid base URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given (base URLs never carry credentials: those are rejected).
        url: String,
        /// Why it was rejected.
        reason: String,
    },
    /// Plain `http://` to a host that is not a loopback address.
    #[error("plain http is only allowed for loopback addresses, not `{host}`: use https")]
    InsecureScheme {
        /// The non-loopback host.
        host: String,
    },
    /// Any other invalid setting.
    #[error("invalid setting `{name}`: {reason}")]
    Invalid {
        /// The setting's name.
        name: &'static str,
        /// Why it was rejected.
        reason: String,
    },
}

impl ConfigError {
    /// [`ConfigError::Invalid`]: the setting `name` was refused, and why.
    pub fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        ConfigError::Invalid {
            name,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

    const SECRETS: &[&str] = &[
        "sk_live_4f1e\"9\\ü/x y+z",
        "123456",
        "rt.eyJhbGciOi-_~long.refresh",
        "pässwörd \"quoted\" \\ back",
    ];

    fn assert_scrubbed(text: &str, secret: &str) {
        let out = scrub_secrets(text, &[secret]);
        assert!(out.contains("[redacted]"), "nothing scrubbed in {text:?}");
        for form in secret_forms(secret) {
            assert!(!out.contains(&form), "{form:?} survived in {out:?}");
        }
    }

    #[test]
    fn raw_json_and_percent_forms_are_scrubbed() {
        for secret in SECRETS {
            assert_scrubbed(&format!("raw: {secret}."), secret);
            // serde_json's escaping, and an ASCII-only escaper (Python's json.dumps).
            let json = serde_json::to_string(secret).unwrap();
            assert_scrubbed(&format!("{{\"echo\":{json}}}"), secret);
            assert_scrubbed(
                &format!("echo: \"{}\"", json_escaped(secret, true, false)),
                secret,
            );
            assert_scrubbed(
                &format!("echo: \"{}\"", json_escaped(secret, true, true)),
                secret,
            );
            // Form encoding (as a body echoed back) and strict percent-encoding (a path or query).
            let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
            assert_scrubbed(&format!("body was code={form}&x=1"), secret);
            assert_scrubbed(
                &format!("path /v1/{}", percent_encoded(secret, false, false, false)),
                secret,
            );
        }
    }

    #[test]
    fn base64_at_any_alignment_is_scrubbed() {
        for secret in SECRETS {
            for prefix in ["", "a", "ab", "client_id:", "x:"] {
                for suffix in ["", ":", "tail"] {
                    let plain = format!("{prefix}{secret}{suffix}");
                    let std = STANDARD.encode(plain.as_bytes());
                    let out = scrub_secrets(&format!("Authorization: Basic {std}"), &[secret]);
                    assert!(out.contains("[redacted]"), "{plain:?} -> {out}");
                    let url = URL_SAFE_NO_PAD.encode(plain.as_bytes());
                    let out2 = scrub_secrets(&format!("state={url}"), &[secret]);
                    assert!(out2.contains("[redacted]"), "{plain:?} -> {out2}");
                    // What survives can no longer be decoded back to the secret.
                    for survivor in [out, out2] {
                        for piece in survivor.split("[redacted]") {
                            let tail = piece.rsplit(' ').next().unwrap_or_default();
                            let decoded = STANDARD
                                .decode(tail.trim_start_matches("state="))
                                .unwrap_or_default();
                            assert!(
                                !String::from_utf8_lossy(&decoded).contains(secret),
                                "{survivor}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn short_encoded_forms_do_not_blank_out_text() {
        // A 2-character secret: its raw form goes, its tiny encodings are left alone.
        let out = scrub_secrets("ok ab T0s= done", &["ab"]);
        assert_eq!(out, "ok [redacted] T0s= done");
        assert_eq!(scrub_secrets("nothing here", &["123456"]), "nothing here");
    }

    #[test]
    fn error_body_keeps_no_form_of_a_secret() {
        let secret = "p\"w\\ü rd-0123";
        let body = format!(
            "{{\"message\":\"bad password {}\",\"form\":\"{}\",\"auth\":\"{}\"}}",
            json_escaped(secret, true, false),
            percent_encoded(secret, true, false, true),
            STANDARD.encode(format!("user:{secret}"))
        );
        let err = Error::status(400, body.as_bytes(), &[secret]);
        let shown = format!("{err} {err:?}");
        for form in secret_forms(secret) {
            assert!(!shown.contains(&form), "{form:?} in {shown}");
        }
    }
}
