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
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport(t) => matches!(
                t.kind(),
                TransportErrorKind::Connect | TransportErrorKind::Timeout
            ),
            Error::Status { status, .. } => *status == 429 || *status == 503 || *status == 502,
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
        matches!(self, Error::DeadlineExceeded { .. })
            || matches!(self, Error::Transport(t) if t.kind() == TransportErrorKind::Timeout)
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

/// Replaces every occurrence of each non-empty string in `secrets` by `[redacted]`.
///
/// For text that may echo what a request carried (error descriptions, provider messages)
/// before it reaches an error, a log or `Debug`. Scrub before truncating, so a secret cut in
/// half by a length limit cannot survive.
///
/// ```
/// assert_eq!(
///     auth_core::error::scrub_secrets("bad code 123456 for tok_abc", &["123456", "tok_abc", ""]),
///     "bad code [redacted] for [redacted]"
/// );
/// ```
pub fn scrub_secrets(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        if out.contains(secret) {
            out = out.replace(secret, "[redacted]");
        }
    }
    out
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
