//! Webhook verification: the `X-Signature-V2` scheme.
//!
//! Header: `t=<unix seconds>,v2=<sig>[,v2=<sig>…]`, where
//! `sig = base64(HMAC-SHA256(secret key, "<t>.<raw body>"))` without `=` padding. While two
//! secrets are active (key rotation) the header carries one `v2` per secret: any match
//! accepts.
//!
//! [`WebhookVerifier::verify`] works on the **raw body bytes as received** — never on JSON you
//! parsed and re-serialized — and in this order: parse the header, check the timestamp against
//! the tolerance (in **both** directions, default 5 minutes, against an injectable clock),
//! compute one HMAC per configured secret and compare it with every `v2` in constant time,
//! and only then parse the JSON. Hostile headers cost little: more than 4096
//! bytes or more than [`MAX_SIGNATURES`] `v2` values are refused before any HMAC.
//!
//! ```
//! use authsignal::webhook::{WebhookVerifier, WebhookPayload, EventType};
//! use authsignal::SecretKey;
//! use auth_core::FakeClock;
//! use std::sync::Arc;
//!
//! // The spec's worked example (§9).
//! let body = br#"{"version":1,"id":"bc1598bc-e5d6-4c69-9afb-1a6fe3469d6e","source":"https://authsignal.com","time":"2025-02-20T01:51:56.070Z","tenantId":"7752d28e-e627-4b1b-bb81-b45d68d617bc","type":"email.created","data":{"to":"not-a-real-email@authsignal.com","code":"157743","userId":"b9f74d36-fcfc-4efc-87f1-3664ab5a7fb0","actionCode":"accountRecovery","idempotencyKey":"ba8c1a7c-775d-4dff-9abe-be798b7b8bb9","verificationMethod":"EMAIL_OTP"}}"#;
//! let header = "t=1740016316,v2=OToSMT/TC94bppHq3DDqA+OgomFQxMh2ktPFWrntGyE";
//!
//! let verifier = WebhookVerifier::new(SecretKey::new("YOUR_AUTHSIGNAL_SECRET_KEY"))
//!     .clock(Arc::new(FakeClock::at_unix(1_740_016_316)));
//! let WebhookPayload::Event(event) = verifier.verify(body, Some(header))? else { unreachable!() };
//! assert_eq!(event.event_type, EventType::EmailCreated);
//! assert_eq!(event.data["to"], "not-a-real-email@authsignal.com");
//!
//! // One byte changed: rejected.
//! let mut tampered = body.to_vec();
//! tampered[200] ^= 1;
//! assert!(verifier.verify(&tampered, Some(header)).is_err());
//! # Ok::<(), authsignal::WebhookError>(())
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use auth_core::secret::constant_time_eq;
use auth_core::{SharedClock, SystemClock};
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use serde::Deserialize;
use serde_json::Value;

pub(crate) use crate::error::WebhookError;
use crate::types::{SecretKey, Timestamp, VerificationCode};

/// The header carrying the signatures.
pub const SIGNATURE_HEADER: &str = "X-Signature-V2";

/// The default tolerance: 5 minutes either side of the verifier's clock.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Longest header accepted (a header carries a handful of signatures).
const MAX_HEADER_LEN: usize = 4096;

/// The most `v2` values a header may carry (Authsignal sends one per active secret: two while
/// a secret is rotated).
pub const MAX_SIGNATURES: usize = 16;

/// The length of an HMAC-SHA256 tag.
const TAG_LEN: usize = 32;

/// A parsed `X-Signature-V2` header.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignatureHeader {
    /// The `t` value.
    pub timestamp: i64,
    /// The `v2` values, in order.
    pub signatures: Vec<String>,
}

impl SignatureHeader {
    /// Parses `t=<secs>,v2=<sig>[,v2=<sig>…]`. Unknown keys (`v1`, future schemes) are ignored.
    ///
    /// Hostile input is cheap to refuse: a header longer than 4096 bytes, or with more than
    /// [`MAX_SIGNATURES`] `v2` values, is [`WebhookError::Malformed`] before anything is
    /// computed, so the work per request is bounded whatever the header holds.
    pub fn parse(header: &str) -> Result<Self, WebhookError> {
        if header.len() > MAX_HEADER_LEN {
            return Err(WebhookError::Malformed {
                reason: "header too long",
            });
        }
        let mut timestamp = None;
        let mut signatures = Vec::new();
        for part in header.split(',') {
            let Some((k, v)) = part.trim().split_once('=') else {
                continue;
            };
            match k.trim() {
                "t" => {
                    if timestamp.is_some() {
                        return Err(WebhookError::Malformed {
                            reason: "more than one `t`",
                        });
                    }
                    let v = v.trim();
                    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(WebhookError::Malformed {
                            reason: "`t` is not a Unix time",
                        });
                    }
                    timestamp = Some(v.parse::<i64>().map_err(|_| WebhookError::Malformed {
                        reason: "`t` is out of range",
                    })?);
                }
                "v2" => {
                    if signatures.len() == MAX_SIGNATURES {
                        return Err(WebhookError::Malformed {
                            reason: "too many `v2` signatures",
                        });
                    }
                    signatures.push(v.trim().to_owned());
                }
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or(WebhookError::Malformed {
            reason: "no `t` timestamp",
        })?;
        if signatures.is_empty() {
            return Err(WebhookError::Malformed {
                reason: "no `v2` signature",
            });
        }
        Ok(SignatureHeader {
            timestamp,
            signatures,
        })
    }
}

/// Decodes one `v2` value (unpadded standard base64 as Authsignal sends it, or padded) into a
/// SHA-256 tag; `None` for anything else.
fn decode_tag(sig: &str) -> Option<[u8; TAG_LEN]> {
    // A 32-byte tag is 43 characters unpadded: refuse anything else before decoding.
    let unpadded = sig.strip_suffix('=').unwrap_or(sig);
    if unpadded.len() != 43 {
        return None;
    }
    let bytes = STANDARD_NO_PAD.decode(unpadded).ok()?;
    bytes.try_into().ok()
}

/// Computes the `v2` signature (unpadded standard base64) for `timestamp` and `body`.
pub fn signature(secret: &SecretKey, timestamp: i64, body: &[u8]) -> String {
    STANDARD_NO_PAD.encode(tag(&key(secret), timestamp, body).as_ref())
}

/// Builds a complete `X-Signature-V2` header value, one `v2` per secret (as Authsignal does
/// during key rotation). Used by the emulator and by tests of your webhook route.
pub fn sign_header(secrets: &[&SecretKey], timestamp: i64, body: &[u8]) -> String {
    let mut out = format!("t={timestamp}");
    for s in secrets {
        out.push_str(",v2=");
        out.push_str(&signature(s, timestamp, body));
    }
    out
}

fn key(secret: &SecretKey) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, secret.expose_secret().as_bytes())
}

/// HMAC-SHA256 over `"<t>.<raw body>"`, streamed (the body is not copied).
fn tag(key: &hmac::Key, timestamp: i64, body: &[u8]) -> hmac::Tag {
    let mut ctx = hmac::Context::with_key(key);
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    ctx.sign()
}

/// Verifies Authsignal webhooks.
///
/// Cheap to clone. Holds one or more secrets (add the new one with
/// [`WebhookVerifier::also_accept`] while you rotate), the tolerance and a clock.
///
/// Work per call is bounded: one HMAC over the body per secret (never one per `v2` value),
/// then a constant-time comparison of each of at most [`MAX_SIGNATURES`] decoded tags.
/// An empty secret never verifies anything (a missing environment variable must not turn
/// into a key everyone knows).
#[derive(Clone)]
pub struct WebhookVerifier {
    keys: Vec<hmac::Key>,
    tolerance: Option<Duration>,
    clock: SharedClock,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("secrets", &self.keys.len())
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

impl WebhookVerifier {
    /// A verifier for the tenant's secret key, with a 5-minute tolerance and the system clock.
    pub fn new(secret: SecretKey) -> Self {
        WebhookVerifier {
            keys: Vec::new(),
            tolerance: Some(DEFAULT_TOLERANCE),
            clock: Arc::new(SystemClock),
        }
        .also_accept(secret)
    }

    /// Also accepts signatures made with `secret` (your side of a key rotation).
    pub fn also_accept(mut self, secret: SecretKey) -> Self {
        if !secret.expose_secret().is_empty() {
            self.keys.push(key(&secret));
        }
        self
    }

    /// Sets how far the timestamp may be from now, either way (default 5 minutes; zero means
    /// the same second only).
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = Some(tolerance);
        self
    }

    /// Accepts any timestamp. This re-opens replay of captured webhooks: only for tests and
    /// replays of stored events.
    pub fn insecure_disable_timestamp_check(mut self) -> Self {
        self.tolerance = None;
        self
    }

    /// Sets the clock (default: the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Checks the timestamp against the tolerance, either way.
    fn check_time(&self, timestamp: i64) -> Result<(), WebhookError> {
        let Some(tolerance) = self.tolerance else {
            return Ok(());
        };
        // i128: no overflow whatever the clock or the header says.
        let age = i128::from(self.clock.unix_seconds()) - i128::from(timestamp);
        let tol = i128::from(tolerance.as_secs());
        let clamp = |x: i128| i64::try_from(x).unwrap_or(i64::MAX);
        if age > tol {
            return Err(WebhookError::Stale {
                timestamp,
                age_secs: clamp(age),
                tolerance_secs: tolerance.as_secs(),
            });
        }
        if -age > tol {
            return Err(WebhookError::FromTheFuture {
                timestamp,
                ahead_secs: clamp(-age),
                tolerance_secs: tolerance.as_secs(),
            });
        }
        Ok(())
    }

    /// Checks the signature header against the raw body; returns the header's timestamp.
    ///
    /// Order: header present → well-formed → timestamp within the tolerance → some `v2`
    /// matches some secret (constant-time comparison). The body is not parsed.
    pub fn verify_signature(&self, body: &[u8], header: Option<&str>) -> Result<i64, WebhookError> {
        let header = header.ok_or(WebhookError::MissingHeader)?;
        let parsed = SignatureHeader::parse(header)?;
        self.check_time(parsed.timestamp)?;
        let tags: Vec<[u8; TAG_LEN]> = parsed
            .signatures
            .iter()
            .filter_map(|s| decode_tag(s))
            .collect();
        if !tags.is_empty() {
            for k in &self.keys {
                let expected = tag(k, parsed.timestamp, body);
                for candidate in &tags {
                    if constant_time_eq(expected.as_ref(), candidate) {
                        return Ok(parsed.timestamp);
                    }
                }
            }
        }
        Err(WebhookError::NoMatchingSignature {
            count: parsed.signatures.len(),
        })
    }

    /// Verifies the signature, then parses the body into an event (or a batch of log events).
    pub fn verify(
        &self,
        body: &[u8],
        header: Option<&str>,
    ) -> Result<WebhookPayload, WebhookError> {
        self.verify_signature(body, header)?;
        WebhookPayload::parse(body)
    }

    /// [`WebhookVerifier::verify`] reading the header from an [`http::HeaderMap`].
    pub fn verify_headers(
        &self,
        body: &[u8],
        headers: &http::HeaderMap,
    ) -> Result<WebhookPayload, WebhookError> {
        let header = match headers.get(SIGNATURE_HEADER) {
            None => None,
            Some(v) => Some(v.to_str().map_err(|_| WebhookError::Malformed {
                reason: "header is not ASCII",
            })?),
        };
        self.verify(body, header)
    }
}

/// A verified webhook body.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WebhookPayload {
    /// One event.
    Event(WebhookEvent),
    /// A batch of log events (`{"records":[…]}`).
    Batch(Vec<WebhookEvent>),
}

impl WebhookPayload {
    /// Parses a body whose signature was already verified.
    ///
    /// One plain `serde_json` pass on the way in; the JSON path of a bad field is worked out
    /// (by a second, path-tracking pass) only when the body does not parse.
    pub fn parse(body: &[u8]) -> Result<Self, WebhookError> {
        match serde_json::from_slice::<RawBody>(body) {
            Ok(raw) => raw.into_payload(),
            Err(e) => Err(explain::<RawBody>(body, e)),
        }
    }

    /// The events, whichever the shape.
    pub fn events(&self) -> &[WebhookEvent] {
        match self {
            WebhookPayload::Event(e) => std::slice::from_ref(e),
            WebhookPayload::Batch(v) => v,
        }
    }
}

/// The error for a body that failed the plain parse: the same parse again with path
/// tracking, for the path of the offending field (the error path only).
fn explain<T: serde::de::DeserializeOwned>(body: &[u8], plain: serde_json::Error) -> WebhookError {
    match auth_core::json::from_slice::<T>("webhook", body) {
        Err(e) => into_payload_error(e),
        Ok(_) => WebhookError::InvalidPayload {
            path: ".".into(),
            message: plain.to_string(),
        },
    }
}

/// Decodes an event's `data` into a typed view, reading the value in place (no copy) and
/// tracking the JSON path only when it fails.
fn decode_data<T: serde::de::DeserializeOwned>(data: &Value) -> Result<T, WebhookError> {
    T::deserialize(data).map_err(|plain| {
        match auth_core::json::from_value::<T>("webhook", data.clone()) {
            Err(e) => into_payload_error(e),
            Ok(_) => WebhookError::InvalidPayload {
                path: ".".into(),
                message: plain.to_string(),
            },
        }
    })
}

fn into_payload_error(e: auth_core::Error) -> WebhookError {
    match e {
        auth_core::Error::Decode { path, message, .. } => {
            WebhookError::InvalidPayload { path, message }
        }
        other => WebhookError::InvalidPayload {
            path: ".".into(),
            message: other.to_string(),
        },
    }
}

/// A body: one event, or a batch of log events (`records`). `null` reads as absent
/// everywhere.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBody {
    #[serde(default)]
    records: Option<Vec<RawEvent>>,
    #[serde(default)]
    version: Option<u32>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    time: Option<Timestamp>,
    #[serde(default)]
    tenant_id: Option<String>,
    #[serde(default, rename = "type")]
    event_type: Option<EventType>,
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    record: Option<Value>,
}

impl RawBody {
    fn into_payload(self) -> Result<WebhookPayload, WebhookError> {
        if let Some(records) = self.records {
            return Ok(WebhookPayload::Batch(
                records.into_iter().map(RawEvent::into_event).collect(),
            ));
        }
        let missing = |field: &str| WebhookError::InvalidPayload {
            path: field.to_owned(),
            message: format!("missing field `{field}`"),
        };
        let event = RawEvent {
            version: self.version,
            id: self.id.ok_or_else(|| missing("id"))?,
            source: self.source,
            time: self.time,
            tenant_id: self.tenant_id,
            event_type: self.event_type.ok_or_else(|| missing("type"))?,
            data: self.data,
            record: self.record,
        };
        Ok(WebhookPayload::Event(event.into_event()))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEvent {
    #[serde(default)]
    version: Option<u32>,
    id: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    time: Option<Timestamp>,
    #[serde(default)]
    tenant_id: Option<String>,
    #[serde(rename = "type")]
    event_type: EventType,
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    record: Option<Value>,
}

impl RawEvent {
    fn into_event(self) -> WebhookEvent {
        WebhookEvent {
            version: self.version,
            id: self.id,
            source: self.source,
            time: self.time,
            tenant_id: self.tenant_id,
            event_type: self.event_type,
            // `null` or absent: an empty object, so typed views see missing fields.
            data: self
                .data
                .or(self.record)
                .unwrap_or_else(|| Value::Object(serde_json::Map::new())),
        }
    }
}

auth_core::wire_enum! {
    /// An event's `type` (unknown types are kept as `Other`).
    pub enum EventType {
        /// `email.created`: send this OTP / link by e-mail yourself (custom delivery).
        EmailCreated => "email.created",
        /// `sms.created`: send this OTP by SMS yourself.
        SmsCreated => "sms.created",
        /// `push.created`: deliver this push yourself.
        PushCreated => "push.created",
        /// `authenticator.created`.
        AuthenticatorCreated => "authenticator.created",
        /// `authenticator.updated`.
        AuthenticatorUpdated => "authenticator.updated",
        /// `authenticator.deleted`.
        AuthenticatorDeleted => "authenticator.deleted",
        /// `action.verify`.
        ActionVerify => "action.verify",
        /// `action.log_created`.
        ActionLogCreated => "action.log_created",
        /// `challenge.log_created`.
        ChallengeLogCreated => "challenge.log_created",
    }
}

/// One webhook event.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct WebhookEvent {
    /// The envelope version (1).
    pub version: Option<u32>,
    /// The event id: deduplicate on it (deliveries are retried).
    pub id: String,
    /// `https://authsignal.com`.
    pub source: Option<String>,
    /// When it happened.
    pub time: Option<Timestamp>,
    /// The tenant.
    pub tenant_id: Option<String>,
    /// The type.
    pub event_type: EventType,
    /// The event's `data` (or a batched log event's `record`; an empty object when absent or
    /// `null`). For `*.created` events it holds an OTP in `code`: use
    /// [`WebhookEvent::delivery`] and never log `data`.
    pub data: Value,
}

impl fmt::Debug for WebhookEvent {
    /// The envelope, and the payload's *shape*: keys and value types, never values. A payload
    /// carries OTPs (`code`), magic links (`url`), tokens and whatever a future event type
    /// adds; no list of secret field names can keep up, so none is trusted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookEvent")
            .field("id", &self.id)
            .field("event_type", &self.event_type)
            .field("time", &self.time)
            .field("tenant_id", &self.tenant_id)
            .field("data", &Shape(&self.data))
            .finish_non_exhaustive()
    }
}

/// `Debug` of a JSON value showing its structure (keys, value types) but no value.
///
/// ```text
/// {"to": string, "code": string, "list": [number, {"ok": bool}], "x": null}
/// ```
pub(crate) struct Shape<'a>(pub(crate) &'a Value);

impl fmt::Debug for Shape<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Value::Null => f.write_str("null"),
            Value::Bool(_) => f.write_str("bool"),
            Value::Number(_) => f.write_str("number"),
            Value::String(_) => f.write_str("string"),
            Value::Array(items) => f.debug_list().entries(items.iter().map(Shape)).finish(),
            Value::Object(map) => f
                .debug_map()
                .entries(map.iter().map(|(k, v)| (k, Shape(v))))
                .finish(),
        }
    }
}

auth_core::secret_type! {
    /// The magic link of an `email.created` event (`data.url`): whoever has it signs in, so
    /// it is a secret (redacted `Debug`, zeroized on drop).
    pub struct MagicLinkUrl;
    serde
}

/// The `data` of `email.created` / `sms.created` / `push.created`: a message to deliver.
///
/// `Debug` shows where it goes and for which action, never the code or the link, and only the
/// shape of `custom_variables`.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Delivery {
    /// Where to send it (`email.created`, `sms.created`; `push.created` has none).
    #[serde(default)]
    pub to: Option<String>,
    /// The OTP (a secret): e-mail OTP, SMS.
    #[serde(default)]
    pub code: Option<VerificationCode>,
    /// The magic link (a secret): e-mail magic link.
    #[serde(default)]
    pub url: Option<MagicLinkUrl>,
    /// The push challenge (`push.created`).
    #[serde(default)]
    pub challenge_id: Option<String>,
    /// The user.
    #[serde(default)]
    pub user_id: Option<String>,
    /// The action.
    #[serde(default)]
    pub action_code: Option<String>,
    /// The action's key.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// The method.
    #[serde(default)]
    pub verification_method: Option<crate::types::VerificationMethod>,
    /// Template variables.
    #[serde(default)]
    pub custom_variables: Option<Value>,
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("to", &self.to)
            .field("code", &self.code)
            .field("url", &self.url)
            .field("challenge_id", &self.challenge_id)
            .field("user_id", &self.user_id)
            .field("action_code", &self.action_code)
            .field("idempotency_key", &self.idempotency_key)
            .field("verification_method", &self.verification_method)
            .field(
                "custom_variables",
                &self.custom_variables.as_ref().map(Shape),
            )
            .finish()
    }
}

/// The `data` of `authenticator.created` / `authenticator.updated` / `authenticator.deleted`,
/// as documented: flat, one field per attribute (not the `UserAuthenticator` of the API).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AuthenticatorEvent {
    /// The authenticator.
    pub user_authenticator_id: crate::types::AuthenticatorId,
    /// Its method.
    pub verification_method: crate::types::VerificationMethod,
    /// Its user.
    #[serde(default)]
    pub user_id: Option<crate::types::UserId>,
    /// When it was created (`created`, `deleted`).
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// When it was updated (`updated`).
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    /// When it was deleted (`deleted`).
    #[serde(default)]
    pub deleted_at: Option<Timestamp>,
    /// E-mail address (e-mail OTP and magic link).
    #[serde(default)]
    pub email: Option<String>,
    /// Phone number (SMS and WhatsApp).
    #[serde(default)]
    pub phone_number: Option<String>,
    /// The channel that last completed an SMS challenge (`updated`).
    #[serde(default)]
    pub previous_sms_channel: Option<crate::types::SmsChannel>,
    /// The passkey's credential id.
    #[serde(default)]
    pub credential_id: Option<String>,
    /// The passkey's public key (base64url), when the tenant's webhook settings include it.
    #[serde(default)]
    pub credential_public_key: Option<String>,
    /// The passkey authenticator's AAGUID.
    #[serde(default)]
    pub aaguid: Option<String>,
    /// The passkey's display name.
    #[serde(default)]
    pub credential_name: Option<String>,
}

impl WebhookEvent {
    /// For custom-delivery events, the message to deliver.
    pub fn delivery(&self) -> Option<Result<Delivery, WebhookError>> {
        match self.event_type {
            EventType::EmailCreated | EventType::SmsCreated | EventType::PushCreated => {
                Some(decode_data(&self.data))
            }
            _ => None,
        }
    }

    /// For `authenticator.*` events, the authenticator (the event's flat `data`).
    pub fn authenticator(&self) -> Option<Result<AuthenticatorEvent, WebhookError>> {
        match self.event_type {
            EventType::AuthenticatorCreated
            | EventType::AuthenticatorUpdated
            | EventType::AuthenticatorDeleted => Some(decode_data(&self.data)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_core::FakeClock;

    const BODY: &[u8] = br#"{"version":1,"id":"bc1598bc-e5d6-4c69-9afb-1a6fe3469d6e","source":"https://authsignal.com","time":"2025-02-20T01:51:56.070Z","tenantId":"7752d28e-e627-4b1b-bb81-b45d68d617bc","type":"email.created","data":{"to":"not-a-real-email@authsignal.com","code":"157743","userId":"b9f74d36-fcfc-4efc-87f1-3664ab5a7fb0","actionCode":"accountRecovery","idempotencyKey":"ba8c1a7c-775d-4dff-9abe-be798b7b8bb9","verificationMethod":"EMAIL_OTP"}}"#;
    const T: i64 = 1_740_016_316;
    const SIG: &str = "OToSMT/TC94bppHq3DDqA+OgomFQxMh2ktPFWrntGyE";

    fn verifier_at(t: u64) -> WebhookVerifier {
        WebhookVerifier::new(SecretKey::new("YOUR_AUTHSIGNAL_SECRET_KEY"))
            .clock(Arc::new(FakeClock::at_unix(t)))
    }

    #[test]
    fn spec_vector() {
        assert_eq!(BODY.len(), 430);
        let key = SecretKey::new("YOUR_AUTHSIGNAL_SECRET_KEY");
        assert_eq!(signature(&key, T, BODY), SIG);
        let h = format!("t={T},v2={SIG}");
        let p = verifier_at(T as u64).verify(BODY, Some(&h)).unwrap();
        let e = &p.events()[0];
        assert_eq!(e.event_type, EventType::EmailCreated);
        let d = e.delivery().unwrap().unwrap();
        assert_eq!(d.code.unwrap().expose_secret(), "157743");
        assert!(!format!("{e:?}").contains("157743"));
        // padded form accepted too
        let padded = format!("t={T},v2={SIG}=");
        assert!(verifier_at(T as u64).verify(BODY, Some(&padded)).is_ok());
    }

    #[test]
    fn negative_cases() {
        let v = verifier_at(T as u64);
        let h = format!("t={T},v2={SIG}");
        assert_eq!(
            v.verify(BODY, None).unwrap_err(),
            WebhookError::MissingHeader
        );
        assert!(matches!(
            v.verify(BODY, Some("t=1740016316")).unwrap_err(),
            WebhookError::Malformed { .. }
        ));
        assert!(matches!(
            v.verify(BODY, Some(&format!("v2={SIG}"))).unwrap_err(),
            WebhookError::Malformed { .. }
        ));
        assert!(matches!(
            v.verify(BODY, Some(&format!("t=-5,v2={SIG}"))).unwrap_err(),
            WebhookError::Malformed { .. }
        ));
        let mut tampered = BODY.to_vec();
        tampered[100] = b'X';
        assert_eq!(
            v.verify(&tampered, Some(&h)).unwrap_err(),
            WebhookError::NoMatchingSignature { count: 1 }
        );
        // stale and future, with the boundary exactly at the tolerance
        assert!(verifier_at(T as u64 + 300).verify(BODY, Some(&h)).is_ok());
        assert!(matches!(
            verifier_at(T as u64 + 301)
                .verify(BODY, Some(&h))
                .unwrap_err(),
            WebhookError::Stale { age_secs: 301, .. }
        ));
        assert!(verifier_at(T as u64 - 300).verify(BODY, Some(&h)).is_ok());
        assert!(matches!(
            verifier_at(T as u64 - 301)
                .verify(BODY, Some(&h))
                .unwrap_err(),
            WebhookError::FromTheFuture {
                ahead_secs: 301,
                ..
            }
        ));
        assert!(
            verifier_at(0)
                .insecure_disable_timestamp_check()
                .verify(BODY, Some(&h))
                .is_ok()
        );
        // rotation: a wrong v2 (and junk) before the right one
        let rot = format!("t={T},v2=AAAA,v2=!!notbase64!!,v2={SIG}");
        assert!(v.verify(BODY, Some(&rot)).is_ok());
    }

    #[test]
    fn hostile_headers_are_refused_cheaply() {
        let v = verifier_at(T as u64);
        // Thousands of entries: over the length limit, refused before any work.
        let huge = format!("t={T},{}v2={SIG}", "v2=AAAA,".repeat(3000));
        assert_eq!(
            v.verify(BODY, Some(&huge)).unwrap_err(),
            WebhookError::Malformed {
                reason: "header too long"
            }
        );
        // A thousand unknown entries under the limit are skipped without allocating.
        let unknown = format!("t={T},{}v2={SIG}", "x=1,".repeat(1000));
        assert!(unknown.len() < 4096);
        assert!(v.verify(BODY, Some(&unknown)).is_ok());
        // At most MAX_SIGNATURES `v2` values.
        let junk = "v2=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA,";
        let ok = format!("t={T},{}v2={SIG}", junk.repeat(MAX_SIGNATURES - 1));
        assert!(v.verify(BODY, Some(&ok)).is_ok());
        let too_many = format!("t={T},{}v2={SIG}", junk.repeat(MAX_SIGNATURES));
        assert_eq!(
            v.verify(BODY, Some(&too_many)).unwrap_err(),
            WebhookError::Malformed {
                reason: "too many `v2` signatures"
            }
        );
        // Wrong lengths and bad base64 are skipped, not errors.
        for sig in [
            "",
            "=",
            "A",
            &SIG[..42],
            &format!("{SIG}A"),
            &format!("{SIG}=="),
            "é",
        ] {
            let h = format!("t={T},v2={sig}");
            assert_eq!(
                v.verify(BODY, Some(&h)).unwrap_err(),
                WebhookError::NoMatchingSignature { count: 1 },
                "{sig}"
            );
        }
    }

    #[test]
    fn extreme_timestamps_and_clocks_do_not_overflow() {
        let h = format!("t={},v2={SIG}", i64::MAX);
        assert!(matches!(
            verifier_at(0).verify(BODY, Some(&h)).unwrap_err(),
            WebhookError::FromTheFuture {
                ahead_secs: i64::MAX,
                ..
            }
        ));
        // A clock long before the epoch and the largest `t`: the difference exceeds i64.
        let before = std::time::UNIX_EPOCH - Duration::from_secs(1_000_000_000_000);
        let v = WebhookVerifier::new(SecretKey::new("YOUR_AUTHSIGNAL_SECRET_KEY"))
            .clock(Arc::new(FakeClock::new(before)));
        assert!(matches!(
            v.verify(BODY, Some(&h)).unwrap_err(),
            WebhookError::FromTheFuture {
                ahead_secs: i64::MAX,
                ..
            }
        ));
        // A huge tolerance is fine too.
        let v = verifier_at(T as u64).tolerance(Duration::from_secs(u64::MAX));
        assert!(v.verify(BODY, Some(&format!("t={T},v2={SIG}"))).is_ok());
    }

    #[test]
    fn an_empty_secret_never_verifies() {
        let empty = SecretKey::new("");
        let h = sign_header(&[&empty], T, BODY);
        let v =
            WebhookVerifier::new(SecretKey::new("")).clock(Arc::new(FakeClock::at_unix(T as u64)));
        assert_eq!(
            v.verify(BODY, Some(&h)).unwrap_err(),
            WebhookError::NoMatchingSignature { count: 1 }
        );
        // … while a real secret next to it still works.
        let v = v.also_accept(SecretKey::new("YOUR_AUTHSIGNAL_SECRET_KEY"));
        assert!(v.verify(BODY, Some(&format!("t={T},v2={SIG}"))).is_ok());
    }

    #[test]
    fn event_debug_redacts_nested_secrets() {
        let body = br#"{"records":[{"id":"e1","type":"sms.created","record":{"to":"+1","code":"918273","nested":{"token":"tok-secret-1"},"list":[{"verificationCode":"564738"}]}}]}"#;
        let shown = format!("{:?}", WebhookPayload::parse(body).unwrap());
        for secret in ["918273", "tok-secret-1", "564738"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("\"to\": string"), "{shown}");
    }

    /// A magic link (`data.url`) — or any field no list of secret names knows — never shows:
    /// `Debug` prints the payload's keys and value types only.
    #[test]
    fn event_debug_shows_the_payload_shape_not_its_values() {
        let body = br#"{"version":1,"id":"evt-ml","type":"email.created","data":{"to":"ada@example.com","url":"https://mfa.example/magic?t=ml-secret-7","userId":"u1","idempotencyKey":"k1","futureSecret":"fs-secret-9","n":42,"ok":true,"none":null,"customVariables":{"nested":["cv-secret-3"]}}}"#;
        let p = WebhookPayload::parse(body).unwrap();
        let e = &p.events()[0];
        let shown = format!("{p:?} {e:?}");
        for value in [
            "ml-secret-7",
            "mfa.example",
            "ada@example.com",
            "fs-secret-9",
            "cv-secret-3",
            "42",
            "true",
        ] {
            assert!(!shown.contains(value), "{value} in {shown}");
        }
        assert!(
            shown.contains(r#"data: {"customVariables": {"nested": [string]}, "futureSecret": string, "idempotencyKey": string, "n": number, "none": null, "ok": bool, "to": string, "url": string, "userId": string}"#),
            "{shown}"
        );
        assert!(shown.contains("evt-ml") && shown.contains("EmailCreated"));
        // The typed view hands the link over, and keeps it out of its own Debug.
        let d = e.delivery().unwrap().unwrap();
        assert_eq!(
            d.url.as_ref().unwrap().expose_secret(),
            "https://mfa.example/magic?t=ml-secret-7"
        );
        let shown = format!("{d:?}");
        assert!(
            !shown.contains("ml-secret-7") && !shown.contains("cv-secret-3"),
            "{shown}"
        );
        assert!(shown.contains("ada@example.com"), "{shown}");
    }

    /// The hot path parses once, without path tracking; a body that fails still gets the JSON
    /// path of the offending field (worked out on the error path only).
    #[test]
    fn errors_name_the_json_path() {
        let path_of = |body: &[u8]| match WebhookPayload::parse(body) {
            Err(WebhookError::InvalidPayload { path, .. }) => path,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            path_of(br#"{"id":"e","type":"x","version":"one"}"#),
            "version"
        );
        assert_eq!(
            path_of(br#"{"records":[{"id":"a","type":"t"},{"id":5,"type":"t"}]}"#),
            "records[1].id"
        );
        assert_eq!(path_of(br#"{"records":3}"#), "records");
        assert_eq!(path_of(br#"{"type":"x"}"#), "id");
        assert_eq!(path_of(br#"{"id":"e","records":null}"#), "type");
        assert_eq!(path_of(b"{\"id\":"), "id");
        assert_eq!(path_of(b"not json"), ".");
        let e =
            WebhookPayload::parse(br#"{"id":"e","type":"sms.created","data":{"to":5}}"#).unwrap();
        match e.events()[0].delivery() {
            Some(Err(WebhookError::InvalidPayload { path, .. })) => assert_eq!(path, "to"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn batch_and_unknown_types() {
        let body = br#"{"records":[{"version":1,"id":"e1","type":"action.log_created","record":{"a":1}},{"id":"e2","type":"brand.new"}]}"#;
        let p = WebhookPayload::parse(body).unwrap();
        let WebhookPayload::Batch(events) = p else {
            panic!("not a batch")
        };
        assert_eq!(events[0].event_type, EventType::ActionLogCreated);
        assert_eq!(events[0].data["a"], 1);
        assert_eq!(events[1].event_type, EventType::Other("brand.new".into()));
        assert!(matches!(
            WebhookPayload::parse(b"{\"records\":3}"),
            Err(WebhookError::InvalidPayload { .. })
        ));
        assert!(matches!(
            WebhookPayload::parse(b"not json"),
            Err(WebhookError::InvalidPayload { .. })
        ));
    }
}
