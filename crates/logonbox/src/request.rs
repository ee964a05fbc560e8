//! What we send: principals, prompt text, the direct-flow sign form and the redirect-flow
//! request blob (spec §5.2, §5.5, §6).

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::key::{Fingerprint, KeySelection};
use crate::wire::{Reader, WireError, Writer};

/// The remote name shown to the user as the requester, unless configured otherwise.
pub(crate) const DEFAULT_REMOTE_NAME: &str = "LogonBox Authenticator API";
/// The prompt shown on the phone, unless configured otherwise (placeholders: see
/// [`Placeholders`]).
pub(crate) const DEFAULT_PROMPT_TEXT: &str =
    "{username} wants to authenticate from {remoteName} using your {hostname} credentials.";
/// The approve-button label, unless configured otherwise.
pub(crate) const DEFAULT_AUTHORIZE_TEXT: &str = "Authorize";
/// The placeholder a redirect URL must contain once; the server replaces it with the response.
pub(crate) const RESPONSE_PLACEHOLDER: &str = "{response}";
/// How many random bytes the direct flow asks the phone to sign.
pub(crate) const PAYLOAD_LEN: usize = 128;

pub(crate) const MAX_PRINCIPAL_LEN: usize = 512;
pub(crate) const MAX_TEXT_LEN: usize = 2048;
pub(crate) const MAX_PAYLOAD_LEN: usize = 16 * 1024;

/// Checks a principal before anything is sent.
pub(crate) fn validate_principal(principal: &str) -> Result<(), Error> {
    let reason = if principal.trim().is_empty() {
        Some("empty".to_owned())
    } else if principal.len() > MAX_PRINCIPAL_LEN {
        Some(format!("longer than {MAX_PRINCIPAL_LEN} bytes"))
    } else if principal.chars().any(char::is_control) {
        Some("contains control characters".to_owned())
    } else if principal == "." || principal == ".." {
        Some("is a dot path segment".to_owned())
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidPrincipal { reason }),
        None => Ok(()),
    }
}

pub(crate) fn validate_text(name: &'static str, text: &str) -> Result<(), Error> {
    if text.len() > MAX_TEXT_LEN {
        return Err(Error::config(
            name,
            format!("longer than {MAX_TEXT_LEN} bytes"),
        ));
    }
    Ok(())
}

/// Percent-encodes a principal as one path segment ([`auth_core::base_url::encode_path_segment`]),
/// but keeps `@` as it is: it is legal in a path segment, every e-mail principal has one, and
/// every official client sends it so.
pub(crate) fn encode_principal(principal: &str) -> String {
    auth_core::base_url::encode_path_segment(principal).replace("%40", "@")
}

/// The values of the prompt placeholders: `{username}` and `{principal}` → the principal,
/// `{remoteName}` → the remote name, `{hostname}` → the credential server's host.
pub(crate) struct Placeholders<'a> {
    pub(crate) principal: &'a str,
    pub(crate) remote_name: &'a str,
    pub(crate) hostname: &'a str,
}

impl Placeholders<'_> {
    /// Replaces the placeholders of `template`, every occurrence, in one pass (a replaced
    /// value is never scanned again).
    pub(crate) fn fill(&self, template: &str) -> String {
        let replacements = [
            ("{username}", self.principal),
            ("{principal}", self.principal),
            ("{remoteName}", self.remote_name),
            ("{hostname}", self.hostname),
        ];
        let mut out = String::with_capacity(template.len() + 64);
        let mut rest = template;
        'outer: while !rest.is_empty() {
            if rest.starts_with('{') {
                for (placeholder, value) in replacements {
                    if let Some(after) = rest.strip_prefix(placeholder) {
                        out.push_str(value);
                        rest = after;
                        continue 'outer;
                    }
                }
            }
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                out.push(c);
            }
            rest = chars.as_str();
        }
        out
    }
}

/// A direct-flow authentication: the principal, optional texts for the phone, and optionally
/// your own payload.
///
/// ```
/// let request = logonbox::AuthRequest::new("lee@logonbox.com")
///     .prompt_text("Sign in to {remoteName} as {principal}?")
///     .authorize_text("Sign in")
///     .remote_name("Payroll");
/// # let _ = request;
/// ```
///
/// `Debug` shows the payload's length only, never its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthRequest {
    pub(crate) principal: String,
    pub(crate) prompt_text: Option<String>,
    pub(crate) authorize_text: Option<String>,
    pub(crate) remote_name: Option<String>,
    pub(crate) payload: Option<Vec<u8>>,
    pub(crate) key: Option<KeySelection>,
}

impl std::fmt::Debug for AuthRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthRequest")
            .field("principal", &self.principal)
            .field("prompt_text", &self.prompt_text)
            .field("authorize_text", &self.authorize_text)
            .field("remote_name", &self.remote_name)
            .field("payload_len", &self.payload.as_ref().map(Vec::len))
            .field("key", &self.key)
            .finish()
    }
}

impl AuthRequest {
    /// Authenticates `principal` (the user name, usually an e-mail address).
    pub fn new(principal: impl Into<String>) -> Self {
        AuthRequest {
            principal: principal.into(),
            prompt_text: None,
            authorize_text: None,
            remote_name: None,
            payload: None,
            key: None,
        }
    }

    /// The prompt on the phone (placeholders `{username}`/`{principal}`, `{remoteName}`, `{hostname}`); default: the
    /// client's.
    pub fn prompt_text(mut self, text: impl Into<String>) -> Self {
        self.prompt_text = Some(text.into());
        self
    }

    /// The approve-button label; default: the client's.
    pub fn authorize_text(mut self, text: impl Into<String>) -> Self {
        self.authorize_text = Some(text.into());
        self
    }

    /// The requester's name shown to the user; default: the client's.
    pub fn remote_name(mut self, name: impl Into<String>) -> Self {
        self.remote_name = Some(name.into());
        self
    }

    /// Signs your own bytes instead of 128 fresh random bytes (1 to 16 KiB). Use fresh,
    /// unpredictable bytes: a predictable payload lets an old signature be replayed.
    pub fn payload(mut self, payload: impl Into<Vec<u8>>) -> Self {
        self.payload = Some(payload.into());
        self
    }

    /// Which key to ask; default: the client's [`KeySelection`].
    pub fn key(mut self, selection: KeySelection) -> Self {
        self.key = Some(selection);
        self
    }

    /// The principal.
    pub fn principal(&self) -> &str {
        &self.principal
    }
}

impl From<&str> for AuthRequest {
    fn from(principal: &str) -> Self {
        AuthRequest::new(principal)
    }
}

impl From<String> for AuthRequest {
    fn from(principal: String) -> Self {
        AuthRequest::new(principal)
    }
}

/// A redirect-flow request: the principal, the URL the server sends the browser back to
/// (containing `{response}` once), and optional texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectRequest {
    pub(crate) principal: String,
    pub(crate) redirect_url: String,
    pub(crate) prompt_text: Option<String>,
    pub(crate) authorize_text: Option<String>,
    pub(crate) remote_name: Option<String>,
    pub(crate) key: Option<KeySelection>,
}

impl RedirectRequest {
    /// A request for `principal`, returning to `redirect_url`, which must be an absolute
    /// `http(s)` URL containing the literal `{response}` exactly once, e.g.
    /// `https://app.example.com/logonbox/finish?response={response}`.
    pub fn new(principal: impl Into<String>, redirect_url: impl Into<String>) -> Self {
        RedirectRequest {
            principal: principal.into(),
            redirect_url: redirect_url.into(),
            prompt_text: None,
            authorize_text: None,
            remote_name: None,
            key: None,
        }
    }

    /// The prompt on the phone; default: the client's. Placeholders are replaced before the
    /// text goes into the blob (the PHP SDK's behaviour; correct whether or not the server
    /// substitutes).
    pub fn prompt_text(mut self, text: impl Into<String>) -> Self {
        self.prompt_text = Some(text.into());
        self
    }

    /// The approve-button label; default: the client's.
    pub fn authorize_text(mut self, text: impl Into<String>) -> Self {
        self.authorize_text = Some(text.into());
        self
    }

    /// The requester's name shown to the user; default: the client's.
    pub fn remote_name(mut self, name: impl Into<String>) -> Self {
        self.remote_name = Some(name.into());
        self
    }

    /// Which key to ask; default: the client's [`KeySelection`].
    pub fn key(mut self, selection: KeySelection) -> Self {
        self.key = Some(selection);
        self
    }
}

pub(crate) fn validate_redirect_url(url: &str) -> Result<(), Error> {
    let invalid = |reason: &str| Error::InvalidRedirectUrl {
        reason: reason.to_owned(),
    };
    if url.len() > MAX_TEXT_LEN {
        return Err(invalid("too long"));
    }
    if url.matches(RESPONSE_PLACEHOLDER).count() != 1 {
        return Err(invalid("must contain `{response}` exactly once"));
    }
    let probe = url.replace(RESPONSE_PLACEHOLDER, "x");
    let parsed = url::Url::parse(&probe).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(invalid("must be an absolute http(s) URL"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid("may not carry credentials"));
    }
    Ok(())
}

/// The redirect-flow request blob (spec §5.5): what the browser carries to the server and
/// what the phone signs, byte for byte.
///
/// Its fields are the protocol's nine, in order; the protocol fixes them, so the struct is
/// exhaustive (build one with a struct expression to reproduce a blob).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestBlob {
    /// 1. The principal.
    pub principal: String,
    /// 2. The fingerprint of the key asked to sign.
    pub fingerprint: Fingerprint,
    /// 3. The remote name.
    pub remote_name: String,
    /// 4. The prompt text (ours: placeholders already replaced).
    pub prompt_text: String,
    /// 5. The approve-button label.
    pub authorize_text: String,
    /// 6. The flags (0 ed25519, 4 RSA/SHA-512, 2 RSA/SHA-256).
    pub flags: u32,
    /// 7. Four random bytes.
    pub nonce: [u8; 4],
    /// 8. The redirect URL with the `{response}` placeholder.
    pub redirect_url: String,
    /// 9. Random bytes to the end (16 when we make them).
    pub noise: Vec<u8>,
}

impl RequestBlob {
    /// The SSH wire encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.text(&self.principal)
            .text(self.fingerprint.as_str())
            .text(&self.remote_name)
            .text(&self.prompt_text)
            .text(&self.authorize_text)
            .u32(self.flags)
            .raw(&self.nonce)
            .text(&self.redirect_url)
            .raw(&self.noise);
        w.into_bytes()
    }

    /// Parses the SSH wire encoding.
    pub fn parse(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let principal = r.text("principal")?.to_owned();
        let fingerprint = read_fingerprint(&mut r)?;
        let remote_name = r.text("remote name")?.to_owned();
        let prompt_text = r.text("prompt text")?.to_owned();
        let authorize_text = r.text("authorize text")?.to_owned();
        let flags = r.u32("flags")?;
        let nonce_bytes = r.raw("nonce", 4)?;
        let nonce = [
            nonce_bytes[0],
            nonce_bytes[1],
            nonce_bytes[2],
            nonce_bytes[3],
        ];
        let redirect_url = r.text("redirect URL")?.to_owned();
        let noise = r.rest().to_vec();
        Ok(RequestBlob {
            principal,
            fingerprint,
            remote_name,
            prompt_text,
            authorize_text,
            flags,
            nonce,
            redirect_url,
            noise,
        })
    }
}

/// Reads a `string` that must be a key fingerprint.
fn read_fingerprint(r: &mut Reader<'_>) -> Result<Fingerprint, WireError> {
    Fingerprint::new(r.text("fingerprint")?).map_err(|e| WireError::Malformed {
        field: "fingerprint",
        reason: e.reason,
    })
}

/// The redirect-flow response blob (spec §5.6), carried back in the `response` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseBlob {
    /// The phone signed.
    Signed {
        /// The user whose key signed.
        username: String,
        /// The fingerprint of that key.
        fingerprint: Fingerprint,
        /// The flags the phone signed with.
        flags: u32,
        /// The raw signature over the whole request blob.
        signature: Vec<u8>,
    },
    /// The user or keystore refused.
    Rejected {
        /// The message, e.g. `The keystore rejected the signature request.`.
        message: String,
    },
}

impl ResponseBlob {
    /// The SSH wire encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            ResponseBlob::Signed {
                username,
                fingerprint,
                flags,
                signature,
            } => {
                w.boolean(true)
                    .text(username)
                    .text(fingerprint.as_str())
                    .u32(*flags)
                    .bytes(signature);
            }
            ResponseBlob::Rejected { message } => {
                w.boolean(false).text(message);
            }
        }
        w.into_bytes()
    }

    /// Parses the SSH wire encoding; bytes after the last field are an error.
    pub fn parse(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let blob = if r.boolean("success")? {
            ResponseBlob::Signed {
                username: r.text("username")?.to_owned(),
                fingerprint: read_fingerprint(&mut r)?,
                flags: r.u32("flags")?,
                signature: r.bytes("signature")?.to_vec(),
            }
        } else {
            ResponseBlob::Rejected {
                message: r.text("message")?.to_owned(),
            }
        };
        r.finish()?;
        Ok(blob)
    }
}

/// A redirect-flow request waiting for the browser to come back.
///
/// Keep it in the user's server-side session (it is serializable) and hand it to
/// [`crate::Client::process_response`], which consumes it: one response per request.
///
/// Deserializing checks that the stored principal, fingerprint and flags are the ones inside
/// the stored blob (the bytes the phone signs), so a session entry whose fields were edited
/// apart from its blob is refused rather than verified against the wrong user or key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StoredPendingRequest")]
pub struct PendingRequest {
    #[serde(with = "blob_b64")]
    pub(crate) blob: Vec<u8>,
    pub(crate) principal: String,
    pub(crate) fingerprint: Fingerprint,
    pub(crate) flags: u32,
    pub(crate) created_at: u64,
}

impl std::fmt::Debug for PendingRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingRequest")
            .field("principal", &self.principal)
            .field("fingerprint", &self.fingerprint)
            .field("flags", &self.flags)
            .field("created_at", &self.created_at)
            .field("blob_len", &self.blob.len())
            .finish()
    }
}

/// The serialized form of a [`PendingRequest`], checked on the way in.
#[derive(Deserialize)]
struct StoredPendingRequest {
    #[serde(with = "blob_b64")]
    blob: Vec<u8>,
    principal: String,
    fingerprint: Fingerprint,
    flags: u32,
    created_at: u64,
}

impl TryFrom<StoredPendingRequest> for PendingRequest {
    type Error = String;

    fn try_from(stored: StoredPendingRequest) -> Result<Self, String> {
        let parsed =
            RequestBlob::parse(&stored.blob).map_err(|e| format!("invalid request blob: {e}"))?;
        let mismatch = if parsed.principal != stored.principal {
            Some("principal")
        } else if parsed.fingerprint != stored.fingerprint {
            Some("fingerprint")
        } else if parsed.flags != stored.flags {
            Some("flags")
        } else {
            None
        };
        if let Some(field) = mismatch {
            return Err(format!(
                "the pending request's {field} is not the one in its blob"
            ));
        }
        Ok(PendingRequest {
            blob: stored.blob,
            principal: stored.principal,
            fingerprint: stored.fingerprint,
            flags: stored.flags,
            created_at: stored.created_at,
        })
    }
}

impl PendingRequest {
    /// Wraps an already encoded request blob (as the Node/PHP SDKs keep it in the session),
    /// taking principal, fingerprint and flags from the blob. `created_at` is Unix seconds.
    pub fn from_encoded(encoded: &str, created_at: u64) -> Result<Self, Error> {
        let blob = crate::b64::decode_lenient(encoded)
            .map_err(|e| Error::decode("request blob", ".", e))?;
        let parsed =
            RequestBlob::parse(&blob).map_err(|e| Error::decode("request blob", ".", e))?;
        Ok(PendingRequest {
            principal: parsed.principal,
            fingerprint: parsed.fingerprint,
            flags: parsed.flags,
            blob,
            created_at,
        })
    }

    /// The request blob, unpadded base64url (the last path segment of the sign URL).
    pub fn encoded(&self) -> String {
        crate::b64::encode_url(&self.blob)
    }

    /// The raw request blob (what the phone signs).
    pub fn blob(&self) -> &[u8] {
        &self.blob
    }

    /// The principal.
    pub fn principal(&self) -> &str {
        &self.principal
    }

    /// The fingerprint of the key asked to sign.
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }

    /// The flags requested.
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// When it was made, in Unix seconds.
    pub fn created_at(&self) -> u64 {
        self.created_at
    }
}

mod blob_b64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(blob: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::b64::encode_url(blob))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        crate::b64::decode_lenient(&text).map_err(serde::de::Error::custom)
    }
}

/// The direct-flow form (spec §5.2), fields in the official order.
pub(crate) struct SignForm<'a> {
    pub(crate) username: &'a str,
    pub(crate) fingerprint: &'a Fingerprint,
    pub(crate) remote_name: &'a str,
    pub(crate) text: &'a str,
    pub(crate) authorize_text: &'a str,
    pub(crate) flags: u32,
    pub(crate) payload: &'a [u8],
}

impl SignForm<'_> {
    pub(crate) fn encode(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("username", self.username)
            .append_pair("fingerprint", self.fingerprint.as_str())
            .append_pair("remoteName", self.remote_name)
            .append_pair("text", self.text)
            .append_pair("authorizeText", self.authorize_text)
            .append_pair("flags", &self.flags.to_string())
            .append_pair("payload", &crate::b64::encode_url(self.payload))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A well-formed fingerprint for tests.
    fn fingerprint(seed: &str) -> Fingerprint {
        Fingerprint::of_blob(seed.as_bytes())
    }

    #[test]
    fn a_malformed_fingerprint_in_a_blob_is_a_wire_error() {
        let mut w = Writer::new();
        w.boolean(true)
            .text("u")
            .text("SHA256:x")
            .u32(0)
            .bytes(&[1]);
        assert!(matches!(
            ResponseBlob::parse(&w.into_bytes()),
            Err(WireError::Malformed {
                field: "fingerprint",
                ..
            })
        ));
        assert!(Fingerprint::new("SHA256:x").is_err());
        assert!(Fingerprint::new(format!("MD5:{}", "A".repeat(43))).is_err());
        assert!(Fingerprint::new(format!("SHA256:{}=", "A".repeat(42))).is_err());
        let good = fingerprint("k");
        assert_eq!(Fingerprint::new(good.as_str()).unwrap(), good);
    }

    #[test]
    fn principals() {
        for bad in ["", "  ", ".", "..", "a\nb", "a\0b"] {
            assert!(validate_principal(bad).is_err(), "{bad:?}");
        }
        assert!(validate_principal(&"x".repeat(MAX_PRINCIPAL_LEN + 1)).is_err());
        validate_principal("lee@logonbox.com").unwrap();
        validate_principal("ünï cödé").unwrap();
        assert_eq!(encode_principal("ü"), "%C3%BC");
        assert_eq!(encode_principal("a#b"), "a%23b");
        assert_eq!(encode_principal("lee@logonbox.com"), "lee@logonbox.com");
        assert_eq!(encode_principal("a b/c?d%@x"), "a%20b%2Fc%3Fd%25@x");
        assert_eq!(encode_principal(".."), "%2E%2E");
    }

    #[test]
    fn placeholders_one_pass_every_occurrence() {
        let values = |principal| Placeholders {
            principal,
            remote_name: "r",
            hostname: "h",
        };
        assert_eq!(
            values("u").fill("{principal} {username} {principal} {x} {"),
            "u u u {x} {"
        );
        // A value holding a placeholder is not expanded again.
        assert_eq!(
            values("{hostname}").fill("{username}@{hostname}"),
            "{hostname}@h"
        );
        let default = Placeholders {
            principal: "lee@logonbox.com",
            remote_name: DEFAULT_REMOTE_NAME,
            hostname: "corp.logonbox.directory",
        };
        assert_eq!(
            default.fill(DEFAULT_PROMPT_TEXT),
            "lee@logonbox.com wants to authenticate from LogonBox Authenticator API using your \
             corp.logonbox.directory credentials."
        );
    }

    #[test]
    fn redirect_urls() {
        validate_redirect_url("https://app.example/cb?response={response}").unwrap();
        validate_redirect_url("http://127.0.0.1:8080/cb/{response}").unwrap();
        for bad in [
            "https://app.example/cb",
            "https://app.example/cb?a={response}&b={response}",
            "/relative?response={response}",
            "javascript:alert(1)//{response}",
            "https://u:p@app.example/?r={response}",
        ] {
            assert!(validate_redirect_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn blobs_round_trip_and_reject_trailing_bytes() {
        let r = ResponseBlob::Signed {
            username: "u".into(),
            fingerprint: fingerprint("x"),
            flags: 4,
            signature: vec![1, 2, 3],
        };
        assert_eq!(ResponseBlob::parse(&r.to_bytes()).unwrap(), r);
        let mut long = r.to_bytes();
        long.push(0);
        assert!(matches!(
            ResponseBlob::parse(&long),
            Err(WireError::TrailingBytes { count: 1 })
        ));
        let rej = ResponseBlob::Rejected {
            message: "no".into(),
        };
        assert_eq!(ResponseBlob::parse(&rej.to_bytes()).unwrap(), rej);
        assert!(ResponseBlob::parse(&[2]).is_err());

        let q = RequestBlob {
            principal: "p".into(),
            fingerprint: fingerprint("f"),
            remote_name: "r".into(),
            prompt_text: "t".into(),
            authorize_text: "a".into(),
            flags: 0,
            nonce: [1, 2, 3, 4],
            redirect_url: "https://x/{response}".into(),
            noise: vec![9; 16],
        };
        assert_eq!(RequestBlob::parse(&q.to_bytes()).unwrap(), q);
        let pending =
            PendingRequest::from_encoded(&crate::b64::encode_url(&q.to_bytes()), 5).unwrap();
        let json = serde_json::to_string(&pending).unwrap();
        let back: PendingRequest = serde_json::from_str(&json).unwrap();
        assert_eq!(back, pending);
        assert_eq!(back.blob(), q.to_bytes());
    }

    #[test]
    fn a_pending_request_edited_apart_from_its_blob_is_refused() {
        let blob = RequestBlob {
            principal: "lee@logonbox.com".into(),
            fingerprint: fingerprint("lee"),
            remote_name: "r".into(),
            prompt_text: "t".into(),
            authorize_text: "a".into(),
            flags: 0,
            nonce: [1, 2, 3, 4],
            redirect_url: "https://x/{response}".into(),
            noise: vec![7; 16],
        };
        let pending =
            PendingRequest::from_encoded(&crate::b64::encode_url(&blob.to_bytes()), 9).unwrap();
        let stored = serde_json::to_value(&pending).unwrap();
        let back: PendingRequest = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!(back, pending);
        for (field, value) in [
            ("principal", serde_json::json!("eve@logonbox.com")),
            ("fingerprint", serde_json::json!(fingerprint("eve"))),
            ("flags", serde_json::json!(4)),
            ("blob", serde_json::json!("AAAA")),
        ] {
            let mut edited = stored.clone();
            edited[field] = value;
            let err = serde_json::from_value::<PendingRequest>(edited).unwrap_err();
            assert!(
                err.to_string().contains(field) || err.to_string().contains("blob"),
                "{field}: {err}"
            );
        }
    }

    #[test]
    fn auth_request_debug_hides_the_payload() {
        let request = AuthRequest::new("lee").payload(b"pay 120 EUR to ACME".to_vec());
        let shown = format!("{request:?}");
        assert!(shown.contains("payload_len: Some(19)"), "{shown}");
        assert!(!shown.contains("112, 97, 121"), "{shown}");
        assert!(!shown.contains("ACME"), "{shown}");
    }

    #[test]
    fn random_blobs_never_panic() {
        let mut rng = fastrand::Rng::with_seed(3);
        let valid = RequestBlob {
            principal: "p".into(),
            fingerprint: fingerprint("f"),
            remote_name: "r".into(),
            prompt_text: "t".into(),
            authorize_text: "a".into(),
            flags: 4,
            nonce: [0; 4],
            redirect_url: "https://x/{response}".into(),
            noise: vec![0; 16],
        }
        .to_bytes();
        for _ in 0..3000 {
            let mut bytes = valid.clone();
            for _ in 0..rng.usize(1..4) {
                let i = rng.usize(..bytes.len());
                bytes[i] = rng.u8(..);
            }
            bytes.truncate(rng.usize(..=bytes.len()));
            let _ = RequestBlob::parse(&bytes);
            let _ = ResponseBlob::parse(&bytes);
            let _ = PendingRequest::from_encoded(&crate::b64::encode_url(&bytes), 0);
            let text: String = bytes.iter().map(|b| char::from(*b)).collect();
            let _ = crate::KeyListing::parse(&format!("# Authorized\n{text}"));
            let _ = crate::b64::decode_lenient(&text);
        }
    }

    #[test]
    fn form_is_in_order_and_payload_unpadded() {
        let fp = Fingerprint::new("SHA256:a+b/cAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
        let form = SignForm {
            username: "lee@logonbox.com",
            fingerprint: &fp,
            remote_name: "LogonBox Authenticator API",
            text: "a b",
            authorize_text: "Authorize",
            flags: 4,
            payload: &[0xfb; 2],
        }
        .encode();
        assert_eq!(
            form,
            "username=lee%40logonbox.com&fingerprint=SHA256%3Aa%2Bb%2FcAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&remoteName=LogonBox+Authenticator+API&text=a+b&authorizeText=Authorize&flags=4&payload=-_s"
        );
    }
}
