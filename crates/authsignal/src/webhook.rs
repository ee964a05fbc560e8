//! Webhook verification: the `X-Signature-V2` scheme.
//!
//! Header: `t=<unix seconds>,v2=<sig>[,v2=<sig>…]`, where
//! `sig = base64(HMAC-SHA256(secret key, "<t>.<raw body>"))` without `=` padding. While two
//! secrets are active (key rotation) the header carries one `v2` per secret: any match
//! accepts.
//!
//! [`WebhookVerifier::verify`] works on the **raw body bytes as received** — never on JSON you
//! parsed and re-serialized — and in this order: parse the header, check the timestamp against
//! the tolerance (in **both** directions, default 5 minutes), compare every `v2` in constant time
//! (HMAC verification of aws-lc-rs), and only then parse the JSON.
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
//! # Ok::<(), authsignal::webhook::WebhookError>(())
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use auth_core::{SharedClock, SystemClock};
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use serde::Deserialize;
use serde_json::Value;

use crate::types::{SecretKey, Timestamp, VerificationCode};

/// The header carrying the signatures.
pub const SIGNATURE_HEADER: &str = "X-Signature-V2";

/// The default tolerance: 5 minutes either side of the verifier's clock.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Longest header accepted (a header carries a handful of signatures).
const MAX_HEADER_LEN: usize = 4096;

/// Why a webhook was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// No `X-Signature-V2` header.
    #[error("the {SIGNATURE_HEADER} header is missing")]
    MissingHeader,
    /// The header has no `t` or no `v2`, or a bad timestamp.
    #[error("the signature header is malformed: {reason}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// The timestamp is older than the tolerance allows.
    #[error("the webhook timestamp {timestamp} is {age_secs} s old (tolerance {tolerance_secs} s)")]
    Stale {
        /// The header's `t`.
        timestamp: i64,
        /// How old it is, in seconds.
        age_secs: i64,
        /// The tolerance, in seconds.
        tolerance_secs: u64,
    },
    /// The timestamp is further in the future than the tolerance allows.
    #[error(
        "the webhook timestamp {timestamp} is {ahead_secs} s in the future (tolerance {tolerance_secs} s)"
    )]
    FromTheFuture {
        /// The header's `t`.
        timestamp: i64,
        /// How far ahead, in seconds.
        ahead_secs: i64,
        /// The tolerance, in seconds.
        tolerance_secs: u64,
    },
    /// No `v2` matched any of the secrets.
    #[error("no signature matches ({count} checked)")]
    NoMatchingSignature {
        /// How many `v2` values the header had.
        count: usize,
    },
    /// The signature matched but the body is not a webhook event.
    #[error("the webhook body is not a valid event at `{path}`: {message}")]
    InvalidPayload {
        /// JSON path of the problem.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// A parsed `X-Signature-V2` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    /// The `t` value.
    pub timestamp: i64,
    /// The `v2` values, in order.
    pub signatures: Vec<String>,
}

impl SignatureHeader {
    /// Parses `t=<secs>,v2=<sig>[,v2=<sig>…]`. Unknown keys (`v1`, future schemes) are ignored.
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
                "v2" => signatures.push(v.trim().to_owned()),
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

/// Computes the `v2` signature (unpadded standard base64) for `timestamp` and `body`.
pub fn signature(secret: &SecretKey, timestamp: i64, body: &[u8]) -> String {
    let tag = hmac::sign(&key(secret), &message(timestamp, body));
    STANDARD_NO_PAD.encode(tag.as_ref())
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

fn message(timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(body.len() + 21);
    m.extend_from_slice(timestamp.to_string().as_bytes());
    m.push(b'.');
    m.extend_from_slice(body);
    m
}

/// Verifies Authsignal webhooks.
///
/// Cheap to clone. Holds one or more secrets (add the new one with
/// [`WebhookVerifier::also_accept`] while you rotate), the tolerance and a clock.
#[derive(Clone)]
pub struct WebhookVerifier {
    secrets: Vec<SecretKey>,
    tolerance: Option<Duration>,
    clock: SharedClock,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("secrets", &self.secrets.len())
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

impl WebhookVerifier {
    /// A verifier for the tenant's secret key, with a 5-minute tolerance and the system clock.
    pub fn new(secret: SecretKey) -> Self {
        WebhookVerifier {
            secrets: vec![secret],
            tolerance: Some(DEFAULT_TOLERANCE),
            clock: Arc::new(SystemClock),
        }
    }

    /// Also accepts signatures made with `secret` (your side of a key rotation).
    pub fn also_accept(mut self, secret: SecretKey) -> Self {
        self.secrets.push(secret);
        self
    }

    /// Sets how far the timestamp may be from now, either way.
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

    /// Checks the signature header against the raw body; returns the header's timestamp.
    pub fn verify_signature(&self, body: &[u8], header: Option<&str>) -> Result<i64, WebhookError> {
        let header = header.ok_or(WebhookError::MissingHeader)?;
        let parsed = SignatureHeader::parse(header)?;
        if let Some(tolerance) = self.tolerance {
            let now = self.clock.unix_seconds();
            let tol = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
            let age = now.saturating_sub(parsed.timestamp);
            if age > tol {
                return Err(WebhookError::Stale {
                    timestamp: parsed.timestamp,
                    age_secs: age,
                    tolerance_secs: tolerance.as_secs(),
                });
            }
            if -age > tol {
                return Err(WebhookError::FromTheFuture {
                    timestamp: parsed.timestamp,
                    ahead_secs: -age,
                    tolerance_secs: tolerance.as_secs(),
                });
            }
        }
        let msg = message(parsed.timestamp, body);
        let keys: Vec<hmac::Key> = self.secrets.iter().map(key).collect();
        for sig in &parsed.signatures {
            // Accept both the unpadded form Authsignal sends and a padded one.
            let Ok(tag) = STANDARD_NO_PAD
                .decode(sig.trim_end_matches('='))
                .or_else(|_| STANDARD.decode(sig))
            else {
                continue;
            };
            for k in &keys {
                if hmac::verify(k, &msg, &tag).is_ok() {
                    return Ok(parsed.timestamp);
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
    pub fn parse(body: &[u8]) -> Result<Self, WebhookError> {
        let value: Value = decode(body)?;
        if let Some(records) = value.get("records") {
            if !records.is_array() {
                return Err(WebhookError::InvalidPayload {
                    path: "records".into(),
                    message: "not an array".into(),
                });
            }
            let batch: RawBatch = decode_value(value)?;
            return Ok(WebhookPayload::Batch(
                batch
                    .records
                    .into_iter()
                    .map(RawEvent::into_event)
                    .collect(),
            ));
        }
        let raw: RawEvent = decode_value(value)?;
        Ok(WebhookPayload::Event(raw.into_event()))
    }

    /// The events, whichever the shape.
    pub fn events(&self) -> &[WebhookEvent] {
        match self {
            WebhookPayload::Event(e) => std::slice::from_ref(e),
            WebhookPayload::Batch(v) => v,
        }
    }
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, WebhookError> {
    auth_core::json::from_slice("webhook", body).map_err(into_payload_error)
}

fn decode_value<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, WebhookError> {
    auth_core::json::from_value("webhook", v).map_err(into_payload_error)
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

#[derive(Deserialize)]
struct RawBatch {
    records: Vec<RawEvent>,
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
            data: self.data.or(self.record).unwrap_or(Value::Null),
        }
    }
}

/// An event's `type`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventType {
    /// `email.created`: send this OTP / link by e-mail yourself (custom delivery).
    EmailCreated,
    /// `sms.created`: send this OTP by SMS yourself.
    SmsCreated,
    /// `push.created`: deliver this push yourself.
    PushCreated,
    /// `authenticator.created`.
    AuthenticatorCreated,
    /// `authenticator.updated`.
    AuthenticatorUpdated,
    /// `authenticator.deleted`.
    AuthenticatorDeleted,
    /// `action.verify`.
    ActionVerify,
    /// `action.log_created`.
    ActionLogCreated,
    /// `challenge.log_created`.
    ChallengeLogCreated,
    /// A type this crate does not know, as sent.
    Other(String),
}

impl EventType {
    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            EventType::EmailCreated => "email.created",
            EventType::SmsCreated => "sms.created",
            EventType::PushCreated => "push.created",
            EventType::AuthenticatorCreated => "authenticator.created",
            EventType::AuthenticatorUpdated => "authenticator.updated",
            EventType::AuthenticatorDeleted => "authenticator.deleted",
            EventType::ActionVerify => "action.verify",
            EventType::ActionLogCreated => "action.log_created",
            EventType::ChallengeLogCreated => "challenge.log_created",
            EventType::Other(s) => s,
        }
    }

    /// Parses a wire value (unknown values become `Other`).
    pub fn from_wire(s: &str) -> Self {
        match s {
            "email.created" => EventType::EmailCreated,
            "sms.created" => EventType::SmsCreated,
            "push.created" => EventType::PushCreated,
            "authenticator.created" => EventType::AuthenticatorCreated,
            "authenticator.updated" => EventType::AuthenticatorUpdated,
            "authenticator.deleted" => EventType::AuthenticatorDeleted,
            "action.verify" => EventType::ActionVerify,
            "action.log_created" => EventType::ActionLogCreated,
            "challenge.log_created" => EventType::ChallengeLogCreated,
            other => EventType::Other(other.to_owned()),
        }
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| EventType::from_wire(&s))
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
    /// The event's `data` (or a batched log event's `record`). For `*.created` events it holds
    /// an OTP in `code`: use [`WebhookEvent::delivery`] and never log `data`.
    pub data: Value,
}

impl fmt::Debug for WebhookEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `data.code` is an OTP: never print `data` as is.
        let mut shown = self.data.clone();
        if let Some(code) = shown.get_mut("code") {
            *code = Value::String("[redacted]".into());
        }
        f.debug_struct("WebhookEvent")
            .field("id", &self.id)
            .field("event_type", &self.event_type)
            .field("time", &self.time)
            .field("tenant_id", &self.tenant_id)
            .field("data", &shown)
            .finish_non_exhaustive()
    }
}

/// The `data` of `email.created` / `sms.created` / `push.created`: a message to deliver.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Delivery {
    /// Where to send it.
    pub to: String,
    /// The OTP (a secret).
    #[serde(default)]
    pub code: Option<VerificationCode>,
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

impl WebhookEvent {
    /// For custom-delivery events, the message to deliver.
    pub fn delivery(&self) -> Option<Result<Delivery, WebhookError>> {
        match self.event_type {
            EventType::EmailCreated | EventType::SmsCreated | EventType::PushCreated => {
                Some(decode_value(self.data.clone()))
            }
            _ => None,
        }
    }

    /// For `authenticator.*` events, the authenticator.
    pub fn authenticator(
        &self,
    ) -> Option<Result<crate::response::UserAuthenticator, WebhookError>> {
        match self.event_type {
            EventType::AuthenticatorCreated
            | EventType::AuthenticatorUpdated
            | EventType::AuthenticatorDeleted => {
                let v = self
                    .data
                    .get("authenticator")
                    .cloned()
                    .unwrap_or_else(|| self.data.clone());
                Some(decode_value(v))
            }
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
