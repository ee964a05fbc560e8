//! Request bodies and queries, built with builders and validated before anything is sent.
//!
//! Every body serializes in the API's camelCase; unset fields are omitted (never sent as
//! `null`).

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::types::{
    ActionCode, ActionState, ChallengeId, ChallengeToken, ClientId, DeviceId, IdempotencyKey,
    InvalidId, Scope, SmsChannel, Timestamp, UserId, VerificationMethod,
};

auth_core::secret_type! {
    /// An `otpauth://` URI: it carries a TOTP seed, so it is a secret.
    pub struct OtpUri;
    serde
}

/// Chainable setters for optional request fields: `field(value)` sets `Some(value.into())`.
macro_rules! setters {
    ($($(#[$meta:meta])* $field:ident : $ty:ty;)*) => {
        $(
            $(#[$meta])*
            pub fn $field(mut self, value: impl Into<$ty>) -> Self {
                self.$field = Some(value.into());
                self
            }
        )*
    };
}
pub(crate) use setters;

fn serialize_scopes<S: Serializer>(scopes: &Option<Vec<Scope>>, s: S) -> Result<S::Ok, S::Error> {
    match scopes {
        Some(v) => s.serialize_str(&v.iter().map(Scope::as_str).collect::<Vec<_>>().join(" ")),
        None => s.serialize_none(),
    }
}

/// Checks that `custom` holds only scalar values (the rules engine reads scalars).
fn check_custom(custom: &Option<Map<String, Value>>) -> Result<(), InvalidId> {
    if let Some(map) = custom {
        for (k, v) in map {
            if k.is_empty() {
                return Err(InvalidId::new("custom data", "empty key"));
            }
            if v.is_array() || v.is_object() {
                return Err(InvalidId::new(
                    "custom data",
                    format!("`{k}` must be a string, number, boolean or null"),
                ));
            }
        }
    }
    Ok(())
}

pub(crate) fn check_url(what: &'static str, value: &Option<String>) -> Result<(), InvalidId> {
    if let Some(v) = value {
        let u = url::Url::parse(v).map_err(|e| InvalidId::new(what, e.to_string()))?;
        // App links (`myapp://…`) are fine; `javascript:` and friends are not.
        if matches!(u.scheme(), "javascript" | "data" | "file" | "vbscript") {
            return Err(InvalidId::new(
                what,
                format!("scheme `{}` not allowed", u.scheme()),
            ));
        }
    }
    Ok(())
}

fn check_nonempty(what: &'static str, value: &Option<String>) -> Result<(), InvalidId> {
    match value {
        Some(v) if v.trim().is_empty() => Err(InvalidId::new(what, "must not be empty")),
        _ => Ok(()),
    }
}

/// The body of **track** (`POST /users/{userId}/actions/{action}`).
///
/// Every field is optional. The client always sends an `idempotencyKey`: yours if you set
/// one, else a fresh UUID, so a retried track never creates a second action.
///
/// ```
/// use authsignal::{DeviceId, TrackRequest};
/// let req = TrackRequest::new()
///     .redirect_url("https://app.example/callback")
///     .email("ada@example.com")
///     .phone_number("+64270000000")
///     .device_id(DeviceId::new("d-1").unwrap())
///     .user_agent("Mozilla/5.0")
///     .ip_address("203.0.113.7")
///     .custom("amount", 120)
///     .custom("currency", "EUR");
/// let json = serde_json::to_value(&req).unwrap();
/// assert_eq!(json["redirectUrl"], "https://app.example/callback");
/// assert_eq!(json["custom"]["amount"], 120);
/// assert!(json.get("redirectToSettings").is_none());
/// ```
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) idempotency_key: Option<IdempotencyKey>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redirect_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redirect_to_settings: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_id: Option<DeviceId>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_scopes"
    )]
    scope: Option<Vec<Scope>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    challenge_id: Option<ChallengeId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    crypto: Option<TrackCrypto>,
}

/// Crypto transaction details for the rules (track's `crypto`, sent only by the Go SDK:
/// `{asset, address, txnHash, assetAmount, assetAmountUsd}`).
///
/// The amounts' wire type is not established (number or string), so they are taken as any
/// JSON value and sent as given.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackCrypto {
    #[serde(skip_serializing_if = "Option::is_none")]
    asset: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    txn_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    asset_amount: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    asset_amount_usd: Option<Value>,
}

impl TrackCrypto {
    /// No details yet.
    pub fn new() -> Self {
        Self::default()
    }

    setters! {
        /// The asset (`BTC`, `ETH` …).
        asset: String;
        /// The destination address.
        address: String;
        /// The transaction hash.
        txn_hash: String;
        /// The amount in the asset's unit.
        asset_amount: Value;
        /// The amount in US dollars.
        asset_amount_usd: Value;
    }
}

impl TrackRequest {
    /// An empty request (the server decides on the user and action alone).
    pub fn new() -> Self {
        Self::default()
    }

    setters! {
        /// The key that makes this track idempotent (default: a fresh UUID per call).
        idempotency_key: IdempotencyKey;
        /// Where the pre-built UI sends the user after the challenge (with `?token=`).
        redirect_url: String;
        /// Send the user to the authenticator settings after the challenge.
        redirect_to_settings: bool;
        /// The user's e-mail address.
        email: String;
        /// The user's phone number (E.164).
        phone_number: String;
        /// The user's user name.
        username: String;
        /// The client's IP address.
        ip_address: String;
        /// The client's `User-Agent`.
        user_agent: String;
        /// The client's device id.
        device_id: DeviceId;
        /// A challenge already completed (server-initiated OTP) to attach.
        challenge_id: ChallengeId;
        /// The UI locale (`en`, `de-DE` …).
        locale: String;
        /// A custom domain for the pre-built UI.
        custom_domain: String;
        /// Crypto transaction details for the rules.
        crypto: TrackCrypto;
    }

    /// Adds a permission to the track token's `scope`.
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope.get_or_insert_with(Vec::new).push(scope);
        self
    }

    /// Adds one `custom` value for the rules (a scalar: string, number, boolean).
    pub fn custom(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.custom
            .get_or_insert_with(Map::new)
            .insert(key.into(), value.into());
        self
    }

    /// The idempotency key, if one was set.
    pub fn get_idempotency_key(&self) -> Option<&IdempotencyKey> {
        self.idempotency_key.as_ref()
    }

    /// Checks the request as the client does before sending it.
    pub fn validate(&self) -> Result<(), InvalidId> {
        check_custom(&self.custom)?;
        check_url("redirect URL", &self.redirect_url)?;
        for (what, v) in [
            ("email", &self.email),
            ("phone number", &self.phone_number),
            ("user name", &self.username),
            ("IP address", &self.ip_address),
        ] {
            check_nonempty(what, v)?;
        }
        if let Some(ip) = &self.ip_address {
            ip.parse::<std::net::IpAddr>()
                .map_err(|_| InvalidId::new("IP address", format!("`{ip}` is not an IP")))?;
        }
        Ok(())
    }
}

/// The body of **update action** (`PATCH /users/{u}/actions/{a}/{key}`): the new state.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateActionBody<'a> {
    pub(crate) state: &'a ActionState,
}

/// The query of **query user actions** (`GET /users/{u}/actions`).
#[derive(Debug, Clone, Default)]
pub struct QueryActionsRequest {
    from_date: Option<Timestamp>,
    codes: Vec<ActionCode>,
    state: Option<ActionState>,
}

impl QueryActionsRequest {
    /// All actions of the last 30 days (the server's default window).
    pub fn new() -> Self {
        Self::default()
    }

    /// Only actions created at or after `from` (at most 30 days back).
    pub fn from_date(mut self, from: Timestamp) -> Self {
        self.from_date = Some(from);
        self
    }

    /// Only actions with this code (repeatable).
    pub fn code(mut self, code: ActionCode) -> Self {
        self.codes.push(code);
        self
    }

    /// Only actions in this state.
    pub fn state(mut self, state: ActionState) -> Self {
        self.state = Some(state);
        self
    }

    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(f) = &self.from_date {
            q.push(("fromDate", f.as_str().to_owned()));
        }
        if !self.codes.is_empty() {
            let codes: Vec<&str> = self.codes.iter().map(ActionCode::as_str).collect();
            q.push(("codes", codes.join(",")));
        }
        if let Some(s) = &self.state {
            q.push(("state", s.as_str().to_owned()));
        }
        q
    }
}

/// The body of **update user** (`PATCH /users/{u}`), an upsert: unknown users are created.
///
/// ```
/// use authsignal::UpdateUserRequest;
/// let body = serde_json::to_value(
///     UpdateUserRequest::new().email("ada@example.com").email_verified(true),
/// ).unwrap();
/// assert_eq!(body, serde_json::json!({"email": "ada@example.com", "emailVerified": true}));
/// ```
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateUserRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_verification_method: Option<VerificationMethod>,
}

impl UpdateUserRequest {
    /// No changes yet.
    pub fn new() -> Self {
        Self::default()
    }

    setters! {
        /// E-mail address.
        email: String;
        /// Whether the e-mail address was verified.
        email_verified: bool;
        /// Phone number (E.164).
        phone_number: String;
        /// Whether the phone number was verified.
        phone_number_verified: bool;
        /// User name.
        username: String;
        /// Display name.
        display_name: String;
        /// Locale.
        locale: String;
        /// The method offered first.
        default_verification_method: VerificationMethod;
    }

    /// Adds one `custom` attribute (a scalar).
    pub fn custom(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.custom
            .get_or_insert_with(Map::new)
            .insert(key.into(), value.into());
        self
    }

    /// Checks the request as the client does before sending it.
    pub fn validate(&self) -> Result<(), InvalidId> {
        check_custom(&self.custom)?;
        check_nonempty("email", &self.email)?;
        check_nonempty("phone number", &self.phone_number)
    }
}

/// The query of **query users** (`GET /users`).
#[derive(Debug, Clone, Default)]
pub struct QueryUsersRequest {
    username: Option<String>,
    email: Option<String>,
    phone_number: Option<String>,
    token: Option<ChallengeToken>,
    limit: Option<u32>,
    last_evaluated_user_id: Option<UserId>,
}

impl QueryUsersRequest {
    /// All users (paginated).
    pub fn new() -> Self {
        Self::default()
    }

    setters! {
        /// Users with this user name.
        username: String;
        /// Users with this e-mail address.
        email: String;
        /// Users with this phone number.
        phone_number: String;
        /// The user a token was issued for (the response also carries the token's claims).
        token: ChallengeToken;
        /// Page size.
        limit: u32;
        /// Continue after this user (from the previous page's `lastEvaluatedUserId`).
        last_evaluated_user_id: UserId;
    }

    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        let mut push = |k, v: Option<&str>| {
            if let Some(v) = v {
                q.push((k, v.to_owned()));
            }
        };
        push("username", self.username.as_deref());
        push("email", self.email.as_deref());
        push("phoneNumber", self.phone_number.as_deref());
        push(
            "token",
            self.token.as_ref().map(ChallengeToken::expose_secret),
        );
        push(
            "lastEvaluatedUserId",
            self.last_evaluated_user_id.as_ref().map(UserId::as_str),
        );
        if let Some(l) = self.limit {
            q.push(("limit", l.to_string()));
        }
        q
    }

    /// The token, if the query carries one (to scrub it from transport errors).
    pub(crate) fn token_secret(&self) -> Option<&str> {
        self.token.as_ref().map(ChallengeToken::expose_secret)
    }

    pub(crate) fn validate(&self) -> Result<(), InvalidId> {
        if self.limit == Some(0) {
            return Err(InvalidId::new("limit", "must be at least 1"));
        }
        Ok(())
    }
}

/// The body of **enroll verified authenticator** (`POST /users/{u}/authenticators`): an
/// e-mail address or phone number you verified yourself (no OTP is sent).
///
/// ```
/// use authsignal::EnrollVerifiedAuthenticatorRequest;
/// let body = serde_json::to_value(EnrollVerifiedAuthenticatorRequest::sms("+64270000000")).unwrap();
/// assert_eq!(body, serde_json::json!({"verificationMethod": "SMS", "phoneNumber": "+64270000000"}));
/// ```
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollVerifiedAuthenticatorRequest {
    verification_method: VerificationMethod,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_default: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    otp_uri: Option<OtpUri>,
}

impl EnrollVerifiedAuthenticatorRequest {
    /// Any method; add the matching `phone_number` / `email`.
    pub fn new(method: VerificationMethod) -> Self {
        EnrollVerifiedAuthenticatorRequest {
            verification_method: method,
            phone_number: None,
            email: None,
            is_default: None,
            otp_uri: None,
        }
    }

    /// SMS to a verified phone number.
    pub fn sms(phone_number: impl Into<String>) -> Self {
        Self::new(VerificationMethod::Sms).phone_number(phone_number)
    }

    /// WhatsApp to a verified phone number.
    pub fn whatsapp(phone_number: impl Into<String>) -> Self {
        Self::new(VerificationMethod::Whatsapp).phone_number(phone_number)
    }

    /// E-mail OTP to a verified address.
    pub fn email_otp(email: impl Into<String>) -> Self {
        Self::new(VerificationMethod::EmailOtp).email(email)
    }

    /// E-mail magic link to a verified address.
    pub fn email_magic_link(email: impl Into<String>) -> Self {
        Self::new(VerificationMethod::EmailMagicLink).email(email)
    }

    /// An authenticator app provisioned with `otp_uri` (`otpauth://…`).
    pub fn authenticator_app(otp_uri: OtpUri) -> Self {
        let mut r = Self::new(VerificationMethod::AuthenticatorApp);
        r.otp_uri = Some(otp_uri);
        r
    }

    setters! {
        /// The phone number.
        phone_number: String;
        /// The e-mail address.
        email: String;
        /// Make it the user's default method.
        is_default: bool;
    }

    /// The method being enrolled.
    pub fn verification_method(&self) -> &VerificationMethod {
        &self.verification_method
    }

    /// What the request carries that must never show in an error: the `otpauth://` URI and
    /// the TOTP seed in it (the server may echo either).
    pub(crate) fn secrets(&self) -> Vec<&str> {
        let Some(uri) = &self.otp_uri else {
            return Vec::new();
        };
        let uri = uri.expose_secret();
        let seed = uri
            .split_once('?')
            .into_iter()
            .flat_map(|(_, q)| q.split('&'))
            .find_map(|pair| pair.strip_prefix("secret="));
        std::iter::once(uri).chain(seed).collect()
    }

    /// Checks that the method has what it needs.
    pub fn validate(&self) -> Result<(), InvalidId> {
        check_nonempty("phone number", &self.phone_number)?;
        check_nonempty("email", &self.email)?;
        match self.verification_method {
            VerificationMethod::Sms | VerificationMethod::Whatsapp
                if self.phone_number.is_none() =>
            {
                Err(InvalidId::new(
                    "authenticator",
                    format!("{} needs a phone number", self.verification_method),
                ))
            }
            VerificationMethod::EmailOtp | VerificationMethod::EmailMagicLink
                if self.email.is_none() =>
            {
                Err(InvalidId::new(
                    "authenticator",
                    format!("{} needs an e-mail address", self.verification_method),
                ))
            }
            VerificationMethod::AuthenticatorApp if self.otp_uri.is_none() => Err(InvalidId::new(
                "authenticator",
                "AUTHENTICATOR_APP needs an otpauth URI",
            )),
            _ => Ok(()),
        }
    }
}

/// One passkey to import with **batch enroll** (`POST /users/authenticators`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PasskeyImport {
    user_id: UserId,
    verification_method: VerificationMethod,
    credential_id: String,
    credential_public_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    transports: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aaguid: Option<String>,
}

impl PasskeyImport {
    /// A passkey credential (ids and key base64url, as WebAuthn gives them).
    pub fn new(
        user_id: UserId,
        credential_id: impl Into<String>,
        credential_public_key: impl Into<String>,
    ) -> Self {
        PasskeyImport {
            user_id,
            verification_method: VerificationMethod::Passkey,
            credential_id: credential_id.into(),
            credential_public_key: credential_public_key.into(),
            name: None,
            transports: Vec::new(),
            aaguid: None,
        }
    }

    setters! {
        /// A display name.
        name: String;
        /// The authenticator's AAGUID.
        aaguid: String;
    }

    /// Adds a WebAuthn transport (`internal`, `hybrid`, `usb` …).
    pub fn transport(mut self, transport: impl Into<String>) -> Self {
        self.transports.push(transport.into());
        self
    }

    pub(crate) fn validate(&self) -> Result<(), InvalidId> {
        if self.credential_id.is_empty() || self.credential_public_key.is_empty() {
            return Err(InvalidId::new(
                "passkey import",
                "credential id and public key are required",
            ));
        }
        Ok(())
    }
}

/// The body of **batch enroll**.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct BatchEnrollBody<'a> {
    pub(crate) authenticators: &'a [PasskeyImport],
}

/// The body of **validate challenge** (`POST /validate`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidateChallengeRequest {
    token: ChallengeToken,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<UserId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<ActionCode>,
}

impl ValidateChallengeRequest {
    /// Validates `token` for the expected user and action: the server rejects a token issued
    /// for anyone or anything else, and the client double-checks the answer.
    pub fn new(token: ChallengeToken, user_id: UserId, action: ActionCode) -> Self {
        ValidateChallengeRequest {
            token,
            user_id: Some(user_id),
            action: Some(action),
        }
    }

    /// Validates `token` without saying for whom. Prefer [`ValidateChallengeRequest::new`]:
    /// you must then compare the returned `userId` and `action` yourself.
    pub fn token_only(token: ChallengeToken) -> Self {
        ValidateChallengeRequest {
            token,
            user_id: None,
            action: None,
        }
    }

    /// The token (to scrub it from error texts).
    pub(crate) fn token_secret(&self) -> &str {
        self.token.expose_secret()
    }

    pub(crate) fn expected(&self) -> (Option<&UserId>, Option<&ActionCode>) {
        (self.user_id.as_ref(), self.action.as_ref())
    }
}

/// The body of **challenge** (`POST /challenge`): send an OTP by SMS, e-mail or WhatsApp.
///
/// ```
/// use authsignal::{ActionCode, ChallengeRequest};
/// let req = ChallengeRequest::sms(ActionCode::new("signIn").unwrap(), "+64270000000");
/// let body = serde_json::to_value(&req).unwrap();
/// assert_eq!(body["verificationMethod"], "SMS");
/// assert_eq!(body["action"], "signIn");
/// ```
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChallengeRequest {
    verification_method: VerificationMethod,
    action: ActionCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sms_channel: Option<SmsChannel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    idempotency_key: Option<IdempotencyKey>,
    #[serde(skip_serializing_if = "Option::is_none")]
    challenge_id: Option<ChallengeId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<UserId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_id: Option<DeviceId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom: Option<Map<String, Value>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_scopes"
    )]
    scope: Option<Vec<Scope>>,
}

impl ChallengeRequest {
    /// A challenge by `method` for `action`; add the phone number or e-mail address.
    pub fn new(method: VerificationMethod, action: ActionCode) -> Self {
        ChallengeRequest {
            verification_method: method,
            action,
            email: None,
            phone_number: None,
            sms_channel: None,
            locale: None,
            idempotency_key: None,
            challenge_id: None,
            user_id: None,
            device_id: None,
            ip_address: None,
            user_agent: None,
            custom: None,
            scope: None,
        }
    }

    /// An SMS OTP to `phone_number`.
    pub fn sms(action: ActionCode, phone_number: impl Into<String>) -> Self {
        Self::new(VerificationMethod::Sms, action).phone_number(phone_number)
    }

    /// A WhatsApp OTP to `phone_number`.
    pub fn whatsapp(action: ActionCode, phone_number: impl Into<String>) -> Self {
        Self::new(VerificationMethod::Whatsapp, action).phone_number(phone_number)
    }

    /// An e-mail OTP to `email`.
    pub fn email_otp(action: ActionCode, email: impl Into<String>) -> Self {
        Self::new(VerificationMethod::EmailOtp, action).email(email)
    }

    setters! {
        /// The e-mail address.
        email: String;
        /// The phone number.
        phone_number: String;
        /// The SMS channel.
        sms_channel: SmsChannel;
        /// The message locale.
        locale: String;
        /// An idempotency key for the action the claim will create.
        idempotency_key: IdempotencyKey;
        /// Re-send for an existing challenge.
        challenge_id: ChallengeId;
        /// The user (when known up front).
        user_id: UserId;
        /// The device id.
        device_id: DeviceId;
        /// The client's IP address.
        ip_address: String;
        /// The client's `User-Agent`.
        user_agent: String;
    }

    /// Adds one `custom` value (a scalar).
    pub fn custom(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.custom
            .get_or_insert_with(Map::new)
            .insert(key.into(), value.into());
        self
    }

    /// Adds a scope.
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope.get_or_insert_with(Vec::new).push(scope);
        self
    }

    /// Checks that the method has its destination.
    pub fn validate(&self) -> Result<(), InvalidId> {
        check_custom(&self.custom)?;
        check_nonempty("phone number", &self.phone_number)?;
        check_nonempty("email", &self.email)?;
        match self.verification_method {
            VerificationMethod::Sms | VerificationMethod::Whatsapp
                if self.phone_number.is_none() =>
            {
                Err(InvalidId::new("challenge", "needs a phone number"))
            }
            VerificationMethod::EmailOtp if self.email.is_none() => {
                Err(InvalidId::new("challenge", "needs an e-mail address"))
            }
            _ => Ok(()),
        }
    }
}

/// The body of **verify** (`POST /verify`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VerifyBody<'a> {
    pub(crate) challenge_id: &'a ChallengeId,
    pub(crate) verification_code: &'a crate::types::VerificationCode,
}

/// The body of **claim challenge** (`POST /claim`): a verified OTP challenge, claimed for a
/// user.
///
/// ```
/// use authsignal::{ChallengeId, ClaimRequest, UserId};
/// let req = ClaimRequest::new(ChallengeId::new("ch-1").unwrap(), UserId::new("usr_1").unwrap());
/// assert_eq!(
///     serde_json::to_value(&req).unwrap(),
///     serde_json::json!({"challengeId": "ch-1", "userId": "usr_1"})
/// );
/// ```
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimRequest {
    challenge_id: ChallengeId,
    user_id: UserId,
    #[serde(skip_serializing_if = "Option::is_none")]
    skip_verification_check: Option<bool>,
}

impl ClaimRequest {
    /// Claims the challenge `challenge_id` (whose code the user entered correctly) for
    /// `user_id`.
    pub fn new(challenge_id: ChallengeId, user_id: UserId) -> Self {
        ClaimRequest {
            challenge_id,
            user_id,
            skip_verification_check: None,
        }
    }

    /// Claims it even though its code was never verified (`skipVerificationCheck`): the token
    /// then proves nothing about the user. Only for flows that verified the user another way.
    pub fn insecure_skip_verification_check(mut self) -> Self {
        self.skip_verification_check = Some(true);
        self
    }
}

/// The query of **get challenge** (`GET /challenges`).
#[derive(Debug, Clone, Default)]
pub struct GetChallengeRequest {
    challenge_id: Option<ChallengeId>,
    user_id: Option<UserId>,
    action: Option<ActionCode>,
    verification_method: Option<VerificationMethod>,
}

impl GetChallengeRequest {
    /// By challenge id.
    pub fn by_id(challenge_id: ChallengeId) -> Self {
        GetChallengeRequest {
            challenge_id: Some(challenge_id),
            ..Self::default()
        }
    }

    /// The latest challenge of a user for an action and method.
    pub fn latest(user_id: UserId, action: ActionCode, method: VerificationMethod) -> Self {
        GetChallengeRequest {
            challenge_id: None,
            user_id: Some(user_id),
            action: Some(action),
            verification_method: Some(method),
        }
    }

    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(c) = &self.challenge_id {
            q.push(("challengeId", c.as_str().to_owned()));
        }
        if let Some(u) = &self.user_id {
            q.push(("userId", u.as_str().to_owned()));
        }
        if let Some(a) = &self.action {
            q.push(("action", a.as_str().to_owned()));
        }
        if let Some(m) = &self.verification_method {
            q.push(("verificationMethod", m.as_str().to_owned()));
        }
        q
    }
}

/// The body of **create session** (`POST /sessions`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateSessionRequest {
    client_id: ClientId,
    token: ChallengeToken,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<ActionCode>,
}

impl CreateSessionRequest {
    /// Exchanges a validated challenge `token` for session tokens for `client_id`.
    pub fn new(client_id: ClientId, token: ChallengeToken) -> Self {
        CreateSessionRequest {
            client_id,
            token,
            action: None,
        }
    }

    /// Only accept a token issued for this action.
    pub fn action(mut self, action: ActionCode) -> Self {
        self.action = Some(action);
        self
    }

    /// The token (to scrub it from error texts).
    pub(crate) fn token_secret(&self) -> &str {
        self.token.expose_secret()
    }
}

/// The body of **validate session** (`POST /sessions/validate`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ValidateSessionBody<'a> {
    pub(crate) access_token: &'a crate::types::AccessToken,
    #[serde(skip_serializing_if = "<[ClientId]>::is_empty")]
    pub(crate) client_ids: &'a [ClientId],
}

/// The body of **refresh session** (`POST /sessions/refresh`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefreshSessionBody<'a> {
    pub(crate) refresh_token: &'a crate::types::RefreshToken,
}

/// The body of **revoke session** (`POST /sessions/revoke`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RevokeSessionBody<'a> {
    pub(crate) access_token: &'a crate::types::AccessToken,
}

/// The body of **revoke user sessions** (`POST /sessions/user/revoke`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RevokeUserSessionsBody<'a> {
    pub(crate) user_id: &'a UserId,
}

/// The body of **update device** (`PATCH /users/{u}/devices/{d}`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateDeviceBody<'a> {
    pub(crate) remembered_until: &'a Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track_validation() {
        assert!(TrackRequest::new().validate().is_ok());
        assert!(
            TrackRequest::new()
                .custom("nested", serde_json::json!({"a": 1}))
                .validate()
                .is_err()
        );
        assert!(
            TrackRequest::new()
                .redirect_url("not a url")
                .validate()
                .is_err()
        );
        assert!(
            TrackRequest::new()
                .redirect_url("javascript:alert(1)")
                .validate()
                .is_err()
        );
        assert!(
            TrackRequest::new()
                .redirect_url("myapp://callback")
                .validate()
                .is_ok()
        );
        assert!(TrackRequest::new().ip_address("1.2.3").validate().is_err());
        assert!(TrackRequest::new().email(" ").validate().is_err());
        let json = serde_json::to_value(
            TrackRequest::new()
                .scope(Scope::ReadAuthenticators)
                .scope(Scope::AddAuthenticators)
                .redirect_to_settings(false),
        )
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"scope": "read:authenticators add:authenticators", "redirectToSettings": false})
        );
    }

    #[test]
    fn track_serializes_every_spec_field_in_camel_case() {
        let req = TrackRequest::new()
            .idempotency_key(IdempotencyKey::new("k-1").unwrap())
            .redirect_url("https://app.example/cb")
            .redirect_to_settings(true)
            .email("ada@example.com")
            .phone_number("+64270000000")
            .username("ada")
            .ip_address("203.0.113.7")
            .user_agent("Mozilla/5.0")
            .device_id(DeviceId::new("d-1").unwrap())
            .scope(Scope::AddAuthenticators)
            .custom("amount", 120)
            .challenge_id(ChallengeId::new("c-1").unwrap())
            .locale("de-DE")
            .custom_domain("auth.example")
            .crypto(
                TrackCrypto::new()
                    .asset("ETH")
                    .address("0xabc")
                    .txn_hash("0xdef")
                    .asset_amount(1.5)
                    .asset_amount_usd("4200.00"),
            );
        assert!(req.validate().is_ok());
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            serde_json::json!({
                "idempotencyKey": "k-1",
                "redirectUrl": "https://app.example/cb",
                "redirectToSettings": true,
                "email": "ada@example.com",
                "phoneNumber": "+64270000000",
                "username": "ada",
                "ipAddress": "203.0.113.7",
                "userAgent": "Mozilla/5.0",
                "deviceId": "d-1",
                "scope": "add:authenticators",
                "custom": {"amount": 120},
                "challengeId": "c-1",
                "locale": "de-DE",
                "customDomain": "auth.example",
                "crypto": {"asset": "ETH", "address": "0xabc", "txnHash": "0xdef",
                           "assetAmount": 1.5, "assetAmountUsd": "4200.00"},
            })
        );
        assert_eq!(
            serde_json::to_value(TrackRequest::new()).unwrap(),
            serde_json::json!({})
        );
    }

    #[test]
    fn enroll_validation() {
        assert!(
            EnrollVerifiedAuthenticatorRequest::new(VerificationMethod::Sms)
                .validate()
                .is_err()
        );
        assert!(
            EnrollVerifiedAuthenticatorRequest::email_otp("a@b.c")
                .validate()
                .is_ok()
        );
        let r = EnrollVerifiedAuthenticatorRequest::authenticator_app(OtpUri::new(
            "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP",
        ));
        assert!(r.validate().is_ok());
        assert!(!format!("{r:?}").contains("JBSWY3"));
    }

    #[test]
    fn queries() {
        let q = QueryActionsRequest::new()
            .code(ActionCode::new("a").unwrap())
            .code(ActionCode::new("b").unwrap())
            .state(ActionState::Allow)
            .query();
        assert_eq!(
            q,
            vec![("codes", "a,b".to_owned()), ("state", "ALLOW".to_owned())]
        );
        let q = QueryUsersRequest::new().email("x@y").limit(5u32).query();
        assert_eq!(
            q,
            vec![("email", "x@y".to_owned()), ("limit", "5".to_owned())]
        );
        assert!(QueryUsersRequest::new().limit(0u32).validate().is_err());
    }
}
