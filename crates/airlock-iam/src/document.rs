//! JSON:API documents of the Loginapp REST API, parsed into typed values.
//!
//! Parsing is by body, never by media type (the media type is unconfirmed), unknown members
//! are ignored, and every failure is a typed [`Error`] naming the JSON path.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use crate::Error;
use crate::model::{Bounded, DeviceId, ErrorCode, NextAuthStep, SessionToken};
use auth_core::time::Timestamp;

/// The document-level `meta` object.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DocumentMeta {
    /// `meta.type` (`jsonapi.metadata.document`).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `meta.timestamp`: when the server answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    /// `meta.nextAuthStep`: on error documents, where the flow continues.
    #[serde(
        rename = "nextAuthStep",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub next_auth_step: Option<NextAuthStep>,
    /// `meta.temporaryLockExpiry`: no new attempt before this instant.
    #[serde(
        rename = "temporaryLockExpiry",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub temporary_lock_expiry: Option<Timestamp>,
    /// Every other member, kept as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One JSON:API resource object (`data`, or an element of a `data` array).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Resource {
    /// `type`, e.g. `authentication.session`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `id`: an opaque identifier (seen as a long decimal string or a UUID), not a bearer token.
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    /// `attributes` (absent is read as empty).
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub attributes: Map<String, Value>,
}

/// A step response: `data.type = authentication.session` with the next step, or empty attributes
/// when the flow is finished.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StepResponse {
    /// `data.id`.
    pub id: String,
    /// `data.type` (normally `authentication.session`).
    pub kind: String,
    /// `attributes.nextAuthStep`; `None` means the flow is finished.
    pub next: Option<NextAuthStep>,
    /// All attributes (step-specific extras such as `phoneNumber` included).
    pub attributes: Map<String, Value>,
    /// The document's `meta`.
    pub meta: DocumentMeta,
}

impl StepResponse {
    /// Whether the flow is finished (no `nextAuthStep`).
    pub fn is_done(&self) -> bool {
        self.next.is_none()
    }

    /// A string attribute by name (e.g. `phoneNumber` for `MTAN_OTP_REQUIRED`).
    pub fn attribute_str(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).and_then(Value::as_str)
    }

    /// Parses the body of a 2xx step answer (any JSON media type).
    ///
    /// ```
    /// use airlock_iam::{NextAuthStep, StepResponse};
    ///
    /// let body = br#"{"meta":{"type":"jsonapi.metadata.document"},
    ///   "data":{"type":"authentication.session","id":"551431015764101535",
    ///           "attributes":{"nextAuthStep":"AIRLOCK_2FA_POLLING_REQUIRED"}}}"#;
    /// let step = StepResponse::from_json(body).unwrap();
    /// assert_eq!(step.next, Some(NextAuthStep::Airlock2faPollingRequired));
    /// assert!(StepResponse::from_json(b"<html>").is_err());
    /// ```
    pub fn from_json(body: &[u8]) -> Result<Self, Error> {
        const WHAT: &str = "step response";
        let (resource, meta) = parse_success(WHAT, body)?.single(WHAT)?;
        StepResponse::from_resource(resource, meta)
    }

    pub(crate) fn from_resource(resource: Resource, meta: DocumentMeta) -> Result<Self, Error> {
        let next = match resource.attributes.get("nextAuthStep") {
            None | Some(Value::Null) => None,
            Some(Value::String(code)) => Some(NextAuthStep::from_code(code)),
            Some(_) => {
                return Err(Error::Core(auth_core::Error::decode(
                    "step response",
                    "data.attributes.nextAuthStep",
                    "expected a string",
                )));
            }
        };
        Ok(StepResponse {
            id: resource.id,
            kind: resource.kind,
            next,
            attributes: resource.attributes,
            meta,
        })
    }
}

/// One entry of an error document's `errors` array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApiError {
    /// `id` (looks like `nnnn:nnnn`; opaque).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `status`: a number equal to the HTTP status (a string form is tolerated).
    #[serde(
        default,
        deserialize_with = "opt_status",
        skip_serializing_if = "Option::is_none"
    )]
    pub status: Option<u16>,
    /// `code`, kept verbatim when unknown.
    pub code: ErrorCode,
    /// `title`, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `detail`, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Per-error `meta`, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
}

/// A JSON:API error document, with the HTTP status it came with.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ErrorDocument {
    /// The HTTP status of the response.
    pub http_status: u16,
    /// The `errors` array (never empty).
    pub errors: Vec<ApiError>,
    /// The document's `meta` (`nextAuthStep`, `temporaryLockExpiry`).
    pub meta: DocumentMeta,
}

impl ErrorDocument {
    /// Parses the body of a non-2xx answer: `Some` when it is a JSON:API error document with at
    /// least one error, `None` for anything else (a gateway's HTML page, an empty body…).
    ///
    /// ```
    /// use airlock_iam::{ErrorCode, ErrorDocument};
    ///
    /// let body = br#"{"meta":{"temporaryLockExpiry":"2024-05-01T10:00:03.000+02:00"},
    ///   "errors":[{"id":"5112:9070","status":400,"code":"OTP_WRONG"}]}"#;
    /// let doc = ErrorDocument::from_json(400, body).unwrap();
    /// assert_eq!(doc.code(), &ErrorCode::OtpWrong);
    /// assert!(doc.temporary_lock_expiry().is_some());
    /// assert!(ErrorDocument::from_json(403, b"<html>denied</html>").is_none());
    /// ```
    pub fn from_json(http_status: u16, body: &[u8]) -> Option<Self> {
        parse_error(http_status, body).ok()
    }

    /// Replaces every occurrence of each secret (the request's password/OTP, the flow's cookie
    /// values) in every string the server sent back, so a server that echoes input cannot put a
    /// secret into an error message.
    pub(crate) fn scrub(&mut self, secrets: &[&str]) {
        let secrets: Vec<&str> = secrets.iter().copied().filter(|s| !s.is_empty()).collect();
        if secrets.is_empty() {
            return;
        }
        for e in &mut self.errors {
            for text in [&mut e.id, &mut e.title, &mut e.detail]
                .into_iter()
                .flatten()
            {
                scrub_str(text, &secrets);
            }
            if let ErrorCode::Other(code) = &mut e.code {
                scrub_str(code, &secrets);
            }
            if let Some(meta) = &mut e.meta {
                scrub_value(meta, &secrets);
            }
        }
        if let Some(kind) = &mut self.meta.kind {
            scrub_str(kind, &secrets);
        }
        if let Some(NextAuthStep::Other(code)) = &mut self.meta.next_auth_step {
            scrub_str(code, &secrets);
        }
        scrub_map(&mut self.meta.extra, &secrets);
    }

    /// The first error's code (the one the flow engine reports).
    pub fn code(&self) -> &ErrorCode {
        // `errors` is never empty (checked when parsing); fall back defensively anyway.
        static NONE: ErrorCode = ErrorCode::UnexpectedCall;
        self.errors.first().map(|e| &e.code).unwrap_or(&NONE)
    }

    /// `meta.nextAuthStep`, when the flow continues at a given step.
    pub fn next_auth_step(&self) -> Option<&NextAuthStep> {
        self.meta.next_auth_step.as_ref()
    }

    /// `meta.temporaryLockExpiry`.
    pub fn temporary_lock_expiry(&self) -> Option<Timestamp> {
        self.meta.temporary_lock_expiry
    }
}

impl fmt::Display for ErrorDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "HTTP {} {}",
            self.http_status,
            Bounded(self.code().as_str())
        )?;
        if let Some(next) = self.next_auth_step() {
            write!(f, " (next step {})", Bounded(next.as_str()))?;
        }
        Ok(())
    }
}

/// The mobile-only challenge: the `mobileAuthUri` to hand to the Airlock 2FA app (app-to-app)
/// or, split into its session token and user id, to the Futurae SDK.
#[derive(Clone)]
#[non_exhaustive]
pub struct MobileOnlyChallenge {
    /// `data.id` (a numeric string).
    pub id: String,
    /// The parsed `mobileAuthUri`.
    pub uri: MobileAuthUri,
    /// The other attributes (`mobileAuthUri` is taken out: it lives only in [`Self::uri`]).
    pub attributes: Map<String, Value>,
}

impl MobileOnlyChallenge {
    /// Parses the body of a 2xx `mobile-only/challenge/retrieve/` answer; `mobileAuthUri` is
    /// taken out of the attributes and parsed into its session token and user id.
    pub fn from_json(body: &[u8]) -> Result<Self, Error> {
        const WHAT: &str = "mobile-only challenge";
        let (mut resource, _) = parse_success(WHAT, body)?.single(WHAT)?;
        // Taken out of the attributes so the secret URI lives only in its redacting type.
        let uri = match resource.attributes.remove("mobileAuthUri") {
            Some(Value::String(s)) => MobileAuthUri::parse(&s).map_err(|e| match e {
                Error::Core(auth_core::Error::Decode { message, .. }) => {
                    auth_core::Error::decode(WHAT, "data.attributes.mobileAuthUri", message).into()
                }
                other => other,
            })?,
            _ => {
                return Err(auth_core::Error::decode(
                    WHAT,
                    "data.attributes.mobileAuthUri",
                    "missing or not a string",
                )
                .into());
            }
        };
        Ok(MobileOnlyChallenge {
            id: resource.id,
            uri,
            attributes: resource.attributes,
        })
    }
}

impl fmt::Debug for MobileOnlyChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MobileOnlyChallenge")
            .field("id", &self.id)
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}

/// `airlock2fa://auth?session_token=<token>&user_id=<uuid>` (the scheme may be overridden by
/// the step's `schemeOverride`). A secret: it carries a Futurae session token, so `Debug` shows
/// only the scheme and user id.
#[derive(Clone)]
pub struct MobileAuthUri {
    raw: SessionToken,
    scheme: String,
    session_token: SessionToken,
    user_id: String,
}

impl MobileAuthUri {
    /// Parses a `mobileAuthUri`: any scheme, `session_token` and `user_id` query parameters.
    ///
    /// ```
    /// use airlock_iam::MobileAuthUri;
    ///
    /// let uri = MobileAuthUri::parse(
    ///     "airlock2fa://auth?session_token=s3cr3t&user_id=8c3d3ad0-6d3b-4f2e-9a3c-2d1f0e9b7a61",
    /// ).unwrap();
    /// assert_eq!(uri.session_token().expose_secret(), "s3cr3t");
    /// assert_eq!(uri.user_id(), "8c3d3ad0-6d3b-4f2e-9a3c-2d1f0e9b7a61");
    /// assert!(!format!("{uri:?}").contains("s3cr3t"));
    /// assert!(MobileAuthUri::parse("airlock2fa://auth?user_id=x").is_err());
    /// ```
    pub fn parse(input: &str) -> Result<Self, Error> {
        // The message says what is missing, never the URI (it carries a session token).
        let invalid =
            |reason: &str| Error::from(auth_core::Error::decode("mobileAuthUri", ".", reason));
        let url = Url::parse(input.trim()).map_err(|_| invalid("not a URI"))?;
        let mut token = None;
        let mut user = None;
        for (k, v) in url.query_pairs() {
            match k.as_ref() {
                "session_token" if !v.is_empty() => token = Some(v.into_owned()),
                "user_id" if !v.is_empty() => user = Some(v.into_owned()),
                _ => {}
            }
        }
        let token = token.ok_or_else(|| invalid("no session_token parameter"))?;
        let user_id = user.ok_or_else(|| invalid("no user_id parameter"))?;
        Ok(MobileAuthUri {
            raw: SessionToken::new(input.trim()),
            scheme: url.scheme().to_owned(),
            session_token: SessionToken::new(token),
            user_id,
        })
    }

    /// The whole URI, to open (app-to-app switch) or to render as a link. Secret.
    pub fn expose_secret(&self) -> &str {
        self.raw.expose_secret()
    }

    /// The URI scheme (`airlock2fa` unless overridden).
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The Futurae session token, for the Futurae SDK. Secret.
    pub fn session_token(&self) -> &SessionToken {
        &self.session_token
    }

    /// The Futurae user id.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }
}

impl fmt::Debug for MobileAuthUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MobileAuthUri({}://…?session_token=[redacted]&user_id={})",
            self.scheme, self.user_id
        )
    }
}

/// An Airlock 2FA device from the device retrieval (shape unconfirmed: everything but `id` is
/// optional).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Device {
    /// The device id, to select it.
    pub id: DeviceId,
    /// `displayName`.
    pub display_name: Option<String>,
    /// `capabilities` (`ONE_TOUCH`, `TOTP`, `QR_CODE` …).
    pub capabilities: Vec<String>,
    /// `type` attribute (`IOS`, `ANDROID` …).
    pub kind: Option<String>,
    /// `appVersion`.
    pub app_version: Option<String>,
    /// `appVersionSupported`.
    pub app_version_supported: Option<bool>,
    /// All attributes, as they came.
    pub attributes: Map<String, Value>,
}

impl Device {
    pub(crate) fn from_resource(r: Resource) -> Result<Self, Error> {
        let a = &r.attributes;
        let s = |k: &str| a.get(k).and_then(Value::as_str).map(str::to_owned);
        Ok(Device {
            id: DeviceId::new(r.id.as_str())?,
            display_name: s("displayName"),
            capabilities: a
                .get("capabilities")
                .and_then(Value::as_array)
                .map(|v| {
                    v.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            kind: s("type"),
            app_version: s("appVersion"),
            app_version_supported: a.get("appVersionSupported").and_then(Value::as_bool),
            attributes: r.attributes,
        })
    }

    /// Parses the body of a 2xx `devices/retrieve/` answer (`data` an array of resources; a
    /// single resource is tolerated).
    pub fn list_from_json(body: &[u8]) -> Result<Vec<Device>, Error> {
        const WHAT: &str = "device list";
        let (resources, _) = parse_success(WHAT, body)?.many(WHAT)?;
        resources.into_iter().map(Device::from_resource).collect()
    }

    /// Whether the device lists a capability (e.g. `ONE_TOUCH`).
    pub fn has_capability(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }
}

/// A QR code for the Airlock 2FA QR factors. The attribute name is unconfirmed: `qrCode` is read
/// when present, the raw attributes are kept otherwise. Redacted in `Debug` (it may carry a
/// session token).
#[derive(Clone)]
#[non_exhaustive]
pub struct QrCode {
    /// `data.id`.
    pub id: String,
    /// `qrCode` (in the emulator, a data URI), when it is a string.
    pub image: Option<SessionToken>,
    /// The other attributes (a string `qrCode` is taken out: it lives only in [`Self::image`]).
    pub attributes: Map<String, Value>,
}

impl QrCode {
    /// A QR code with its image and no other attributes.
    pub(crate) fn new(id: String, image: SessionToken) -> Self {
        QrCode {
            id,
            image: Some(image),
            attributes: Map::new(),
        }
    }

    /// Parses the body of a 2xx `qr-code/retrieve/` answer.
    pub fn from_json(body: &[u8]) -> Result<Self, Error> {
        const WHAT: &str = "QR code";
        let (mut resource, _) = parse_success(WHAT, body)?.single(WHAT)?;
        let image = match resource.attributes.remove("qrCode") {
            Some(Value::String(s)) => Some(SessionToken::new(s)),
            Some(other) => {
                // Not the string we expected: keep it where it was for the caller to read.
                resource.attributes.insert("qrCode".into(), other);
                None
            }
            None => None,
        };
        Ok(QrCode {
            id: resource.id,
            image,
            attributes: resource.attributes,
        })
    }
}

impl fmt::Debug for QrCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QrCode")
            .field("id", &self.id)
            .field("image", &self.image.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

/// Scrubs every spelling of the secrets that auth-core knows (raw, JSON-escaped,
/// percent-encoded, base64…): no raw-form pre-check, since a server may echo only an encoded
/// form.
fn scrub_str(text: &mut String, secrets: &[&str]) {
    let scrubbed = auth_core::error::scrub_secrets(text, secrets);
    if scrubbed != *text {
        *text = scrubbed;
    }
}

fn scrub_value(value: &mut Value, secrets: &[&str]) {
    match value {
        Value::String(s) => scrub_str(s, secrets),
        Value::Array(items) => items.iter_mut().for_each(|v| scrub_value(v, secrets)),
        Value::Object(map) => scrub_map(map, secrets),
        _ => {}
    }
}

/// Scrubs the values and the member names of an object (a server may echo input as a name).
fn scrub_map(map: &mut Map<String, Value>, secrets: &[&str]) {
    let members = std::mem::take(map);
    for (mut name, mut value) in members {
        scrub_str(&mut name, secrets);
        scrub_value(&mut value, secrets);
        map.insert(name, value);
    }
}

// ---- parsing --------------------------------------------------------------------------------

#[derive(Deserialize)]
struct WireDocument {
    #[serde(default)]
    meta: Option<DocumentMeta>,
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    errors: Option<Vec<ApiError>>,
}

/// A parsed success document.
#[derive(Debug, Clone)]
pub(crate) struct SuccessDocument {
    pub meta: DocumentMeta,
    pub data: Option<Value>,
}

impl SuccessDocument {
    pub(crate) fn single(self, what: &'static str) -> Result<(Resource, DocumentMeta), Error> {
        match self.data {
            Some(v @ Value::Object(_)) => Ok((decode_at("data", what, v)?, self.meta)),
            _ => Err(auth_core::Error::decode(what, "data", "expected a resource object").into()),
        }
    }

    pub(crate) fn many(self, what: &'static str) -> Result<(Vec<Resource>, DocumentMeta), Error> {
        match self.data {
            Some(v @ Value::Array(_)) => Ok((decode_at("data", what, v)?, self.meta)),
            // Tolerance: a single resource where a list was expected.
            Some(v @ Value::Object(_)) => Ok((vec![decode_at("data", what, v)?], self.meta)),
            _ => {
                Err(auth_core::Error::decode(what, "data", "expected an array of resources").into())
            }
        }
    }
}

/// Decodes `value` (found at `prefix` in the document), reporting the full JSON path.
fn decode_at<T: serde::de::DeserializeOwned>(
    prefix: &str,
    what: &'static str,
    value: Value,
) -> Result<T, Error> {
    auth_core::json::from_value(what, value).map_err(|e| match e {
        auth_core::Error::Decode {
            what,
            path,
            message,
        } => {
            let path = if path == "." {
                prefix.to_owned()
            } else if path.starts_with('[') {
                format!("{prefix}{path}")
            } else {
                format!("{prefix}.{path}")
            };
            Error::Core(auth_core::Error::Decode {
                what,
                path,
                message: redact_quoted(&message),
            })
        }
        other => Error::Core(other),
    })
}

/// serde quotes the offending value in its messages (`invalid type: string "…", expected a
/// map`); that value may be a secret (a `mobileAuthUri` where an object was expected), so it is
/// cut out. The JSON path still says where the problem is.
fn redact_quoted(message: &str) -> String {
    match (message.find('"'), message.rfind('"')) {
        (Some(first), Some(last)) if last > first => {
            format!("{}\"[value]\"{}", &message[..first], &message[last + 1..])
        }
        _ => message.to_owned(),
    }
}

fn redact_decode(e: auth_core::Error) -> Error {
    match e {
        auth_core::Error::Decode {
            what,
            path,
            message,
        } => Error::Core(auth_core::Error::Decode {
            what,
            path,
            message: redact_quoted(&message),
        }),
        other => Error::Core(other),
    }
}

/// Reads a success body (2xx): a JSON:API document whose `meta` and `data` decode.
pub(crate) fn parse_success(what: &'static str, body: &[u8]) -> Result<SuccessDocument, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(SuccessDocument {
            meta: DocumentMeta::default(),
            data: None,
        });
    }
    let doc: WireDocument = auth_core::json::from_slice(what, body).map_err(redact_decode)?;
    Ok(SuccessDocument {
        meta: doc.meta.unwrap_or_default(),
        data: doc.data,
    })
}

/// Reads an error body (non-2xx). `Ok(doc)` when it is a JSON:API error document with at least
/// one error, `Err(())` when it is anything else (an HTML page from a gateway…).
pub(crate) fn parse_error(status: u16, body: &[u8]) -> Result<ErrorDocument, ()> {
    let doc: WireDocument = serde_json::from_slice(body).map_err(|_| ())?;
    match doc.errors {
        Some(errors) if !errors.is_empty() => Ok(ErrorDocument {
            http_status: status,
            errors,
            meta: doc.meta.unwrap_or_default(),
        }),
        _ => Err(()),
    }
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(serde::de::Error::custom("expected a string or number id")),
    }
}

fn opt_status<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("status out of range")),
        Some(Value::String(s)) => s
            .trim()
            .parse::<u16>()
            .map(Some)
            .map_err(|_| serde::de::Error::custom("status is not a number")),
        Some(_) => Err(serde::de::Error::custom("expected a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_document_with_extras() {
        let body = br#"{"meta":{"type":"jsonapi.metadata.document","timestamp":"2024-05-01T10:00:00.000+02:00","x":1},
            "data":{"type":"authentication.session","id":"551431015764101535",
            "attributes":{"nextAuthStep":"MTAN_OTP_REQUIRED","phoneNumber":"+41 79 *** ** 12"}}}"#;
        let doc = parse_success("step", body).unwrap();
        let (res, meta) = doc.single("step").unwrap();
        let step = StepResponse::from_resource(res, meta).unwrap();
        assert_eq!(step.next, Some(NextAuthStep::MtanOtpRequired));
        assert_eq!(step.attribute_str("phoneNumber"), Some("+41 79 *** ** 12"));
        assert_eq!(step.meta.extra.get("x"), Some(&Value::from(1)));
        assert!(step.meta.timestamp.is_some());
    }

    #[test]
    fn numeric_ids_and_null_attributes_are_tolerated() {
        let body = br#"{"data":{"type":"authentication.session","id":42,"attributes":null}}"#;
        let (res, meta) = parse_success("step", body).unwrap().single("step").unwrap();
        let step = StepResponse::from_resource(res, meta).unwrap();
        assert_eq!(step.id, "42");
        assert!(step.is_done());
    }

    #[test]
    fn error_document_status_as_string_is_tolerated() {
        let body = br#"{"meta":{"nextAuthStep":"PASSWORD_REQUIRED","temporaryLockExpiry":"2024-05-01T10:00:03.000+02:00"},
            "errors":[{"id":"5112:9070","status":"400","code":"USERNAME_PASSWORD_WRONG","detail":"d"}]}"#;
        let doc = parse_error(400, body).unwrap();
        assert_eq!(doc.code(), &ErrorCode::UsernamePasswordWrong);
        assert_eq!(doc.errors[0].status, Some(400));
        assert_eq!(doc.next_auth_step(), Some(&NextAuthStep::PasswordRequired));
        assert!(doc.temporary_lock_expiry().is_some());
        assert_eq!(
            doc.to_string(),
            "HTTP 400 USERNAME_PASSWORD_WRONG (next step PASSWORD_REQUIRED)"
        );
    }

    #[test]
    fn non_documents_are_not_error_documents() {
        assert!(parse_error(403, b"<html>denied</html>").is_err());
        assert!(parse_error(403, b"{}").is_err());
        assert!(parse_error(403, br#"{"errors":[]}"#).is_err());
    }

    #[test]
    fn bad_shapes_name_the_path() {
        let body = br#"{"meta":{"timestamp":"not a time"},"data":{}}"#;
        match parse_success("step", body) {
            Err(Error::Core(auth_core::Error::Decode { path, .. })) => {
                assert_eq!(path, "meta.timestamp")
            }
            other => panic!("{other:?}"),
        }
        let body = br#"{"data":{"type":"authentication.session","id":"1","attributes":{"nextAuthStep":5}}}"#;
        let (res, meta) = parse_success("step", body).unwrap().single("step").unwrap();
        assert!(StepResponse::from_resource(res, meta).is_err());
        let body = br#"{"data":[1,2]}"#;
        assert!(parse_success("step", body).unwrap().single("step").is_err());
    }

    #[test]
    fn mobile_auth_uri_with_overridden_scheme() {
        let uri = MobileAuthUri::parse("mybank2fa://auth?user_id=u1&session_token=t%2B1").unwrap();
        assert_eq!(uri.scheme(), "mybank2fa");
        assert_eq!(uri.session_token().expose_secret(), "t+1");
        assert!(MobileAuthUri::parse("no uri").is_err());
        let err = MobileAuthUri::parse("x://a?session_token=leak").unwrap_err();
        assert!(!format!("{err} {err:?}").contains("leak"));
    }

    #[test]
    fn hostile_shapes_are_typed_errors() {
        // Nesting far beyond serde_json's recursion limit: an error, not a stack overflow.
        let deep = format!(
            r#"{{"data":{{"type":"t","id":"1","attributes":{{"x":{}{}}}}}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(StepResponse::from_json(deep.as_bytes()).is_err());
        assert!(ErrorDocument::from_json(400, deep.as_bytes()).is_none());
        // Wrong types everywhere a value is read.
        for body in [
            br#"{"data":{"type":1,"id":"1"}}"#.as_slice(),
            br#"{"data":{"type":"t","id":{"a":1}}}"#,
            br#"{"data":{"type":"t","id":"1","attributes":[]}}"#,
            br#"{"meta":[],"data":{"type":"t","id":"1"}}"#,
            br#"{"meta":{"nextAuthStep":7},"data":{"type":"t","id":"1"}}"#,
            br#"{"meta":{"temporaryLockExpiry":"2024-02-30T00:00:00Z"},"data":{}}"#,
            br#"[]"#,
            br#"null"#,
            b"\xff\xfe",
        ] {
            assert!(StepResponse::from_json(body).is_err(), "{body:?}");
        }
        for body in [
            br#"{"errors":[{"code":null}]}"#.as_slice(),
            br#"{"errors":[{"code":"X","status":70000}]}"#,
            br#"{"errors":[{"code":"X","status":"4OO"}]}"#,
            br#"{"errors":{"code":"X"}}"#,
            br#"{"errors":[{"code":"X"}],"meta":{"temporaryLockExpiry":5}}"#,
        ] {
            assert!(ErrorDocument::from_json(400, body).is_none(), "{body:?}");
        }
        // Many errors are kept (the body size is bounded by the transport's limit).
        let many = format!(
            r#"{{"errors":[{}]}}"#,
            vec![r#"{"code":"A"}"#; 10_000].join(",")
        );
        assert_eq!(
            ErrorDocument::from_json(400, many.as_bytes())
                .unwrap()
                .errors
                .len(),
            10_000
        );
        // A device list with a dot-segment id is a typed error.
        let body = br#"{"data":[{"type":"d","id":".."}]}"#;
        assert!(matches!(
            Device::list_from_json(body),
            Err(Error::Core(auth_core::Error::Config(
                auth_core::ConfigError::Invalid {
                    name: "device id",
                    ..
                }
            )))
        ));
    }

    /// Random mutations of real document shapes never panic the parsers (a smoke fuzz; fixed
    /// seed, so reproducible).
    #[test]
    fn mutated_documents_never_panic() {
        let seeds: [&[u8]; 4] = [
            br#"{"meta":{"type":"jsonapi.metadata.document","timestamp":"2024-05-01T10:00:00.000+02:00"},"data":{"type":"authentication.session","id":"551431015764101535","attributes":{"nextAuthStep":"AIRLOCK_2FA_POLLING_REQUIRED"}}}"#,
            br#"{"meta":{"nextAuthStep":"PASSWORD_REQUIRED","temporaryLockExpiry":"2024-05-01T10:00:03.000+02:00"},"errors":[{"id":"5112:9070","status":400,"code":"USERNAME_PASSWORD_WRONG"}]}"#,
            br#"{"data":[{"type":"d","id":"x","attributes":{"capabilities":["ONE_TOUCH"],"appVersionSupported":true}}]}"#,
            br#"{"data":{"type":"authentication.airlock-2fa.mobile-only.challenge","id":"1","attributes":{"mobileAuthUri":"airlock2fa://auth?session_token=t&user_id=u"}}}"#,
        ];
        const PUNCT: &[u8] = b"{}[]\\\":,0-9e.";
        let mut rng = fastrand::Rng::with_seed(0x5eed);
        for _ in 0..4000 {
            let mut doc = seeds[rng.usize(..seeds.len())].to_vec();
            for _ in 0..rng.usize(1..6) {
                let at = rng.usize(..doc.len());
                match rng.u8(..3) {
                    0 => doc[at] = rng.u8(..),
                    1 => {
                        doc.remove(at);
                    }
                    _ => doc.insert(at, PUNCT[rng.usize(..PUNCT.len())]),
                }
                if doc.is_empty() {
                    break;
                }
            }
            let _ = parse_error(400, &doc);
            if let Ok(d) = parse_success("fuzz", &doc) {
                if let Ok((r, m)) = d.clone().single("fuzz") {
                    if let Some(Value::String(u)) = r.attributes.get("mobileAuthUri") {
                        let _ = MobileAuthUri::parse(u);
                    }
                    let _ = StepResponse::from_resource(r.clone(), m);
                    let _ = Device::from_resource(r);
                }
                let _ = d.many("fuzz");
            }
        }
    }
}
