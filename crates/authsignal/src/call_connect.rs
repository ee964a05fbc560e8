//! CallConnect (`https://us-connect.authsignal.com`, no `/v1`): start a verification message
//! for a caller your contact centre is talking to, then report how the call ended.
//!
//! Same secret key and Basic authentication as the Server API. Neither call is retried: a
//! start sends a message to a person.
//!
//! ```no_run
//! # async fn run() -> Result<(), authsignal::Error> {
//! use authsignal::SecretKey;
//! use authsignal::call_connect::{CallConnect, CallState, FinishCallRequest, StartCallRequest};
//!
//! let cc = CallConnect::new(SecretKey::new("secret"))?;
//! let started = cc.start_call(&StartCallRequest::new("call-123").phone_number("+64270000000")).await?;
//! // … the caller confirms on their phone …
//! cc.finish_call(&FinishCallRequest::new("call-123", CallState::ChallengeSucceeded)).await?;
//! # let _ = started; Ok(()) }
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::{Client, ClientBuilder};
use crate::error::Error;
use crate::request::setters;
use crate::types::{InvalidId, SecretKey};

/// The CallConnect base URL (US).
pub const DEFAULT_URL: &str = "https://us-connect.authsignal.com";

auth_core::wire_enum! {
    /// The channel of a CallConnect message.
    pub enum CallChannel {
        /// WhatsApp.
        Whatsapp => "WHATSAPP",
        /// SMS.
        Sms => "SMS",
        /// E-mail.
        Email => "EMAIL",
    }
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum CallState {
    /// The caller was verified.
    #[serde(rename = "CHALLENGE_SUCCEEDED")]
    ChallengeSucceeded,
    /// The caller was not verified.
    #[serde(rename = "CHALLENGE_FAILED")]
    ChallengeFailed,
}

/// The body of `POST /call/start`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartCallRequest {
    reference_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel: Option<CallChannel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    action_code: Option<String>,
}

impl StartCallRequest {
    /// A start for the call `reference_id` (your contact centre's id).
    pub fn new(reference_id: impl Into<String>) -> Self {
        StartCallRequest {
            reference_id: reference_id.into(),
            phone_number: None,
            country: None,
            user_id: None,
            username: None,
            channel: None,
            email: None,
            locale: None,
            action_code: None,
        }
    }

    setters! {
        /// The caller's phone number.
        phone_number: String;
        /// The caller's country (ISO 3166 alpha-2).
        country: String;
        /// Your user id.
        user_id: String;
        /// The user name.
        username: String;
        /// The channel.
        channel: CallChannel;
        /// The caller's e-mail address.
        email: String;
        /// The message locale.
        locale: String;
        /// The action code to record.
        action_code: String;
    }

    fn validate(&self) -> Result<(), InvalidId> {
        if self.reference_id.trim().is_empty() {
            return Err(InvalidId::new("reference id", "must not be empty"));
        }
        if self.phone_number.is_none() && self.email.is_none() && self.user_id.is_none() {
            return Err(InvalidId::new(
                "call start",
                "give a phone number, an e-mail address or a user id",
            ));
        }
        Ok(())
    }
}

/// The answer to `POST /call/start`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StartCallResponse {
    /// The message id.
    #[serde(default)]
    pub message_id: Option<String>,
    /// The channel used.
    #[serde(default)]
    pub channel: Option<CallChannel>,
    /// The phone number messaged.
    #[serde(default)]
    pub phone_number: Option<String>,
    /// The e-mail address messaged.
    #[serde(default)]
    pub email: Option<String>,
    /// An error, when the message could not be sent (answered with 200).
    #[serde(default)]
    pub error: Option<String>,
    /// The error code.
    #[serde(default)]
    pub error_code: Option<String>,
    /// The error description.
    #[serde(default)]
    pub error_description: Option<String>,
}

/// The body of `POST /call/finish`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FinishCallRequest {
    reference_id: String,
    state: CallState,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<Map<String, Value>>,
}

impl FinishCallRequest {
    /// The outcome of the call `reference_id`.
    pub fn new(reference_id: impl Into<String>, state: CallState) -> Self {
        FinishCallRequest {
            reference_id: reference_id.into(),
            state,
            user_id: None,
            payload: None,
        }
    }

    /// Your user id.
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Adds a payload value.
    pub fn payload(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.payload
            .get_or_insert_with(Map::new)
            .insert(key.into(), value.into());
        self
    }
}

/// The answer to `POST /call/finish`.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct FinishCallResponse {
    /// Whether the outcome was recorded (`null` reads as `false`).
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub success: bool,
}

/// The CallConnect client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct CallConnect {
    client: Client,
}

impl CallConnect {
    /// A client for [`DEFAULT_URL`] with the default timeouts.
    pub fn new(secret: SecretKey) -> Result<Self, Error> {
        Self::from_builder(Client::builder(secret).base_url(DEFAULT_URL))
    }

    /// A client from a configured builder (shared transport settings, clock …): its base URL
    /// is the CallConnect host (no `/v1`), [`DEFAULT_URL`] unless the builder sets another.
    pub fn from_builder(mut builder: ClientBuilder) -> Result<Self, Error> {
        if !builder.has_base_url() {
            builder = builder.base_url(DEFAULT_URL);
        }
        Ok(CallConnect {
            client: builder.build()?,
        })
    }

    /// `POST /call/start`: message the caller (sent once, never retried).
    pub async fn start_call(&self, request: &StartCallRequest) -> Result<StartCallResponse, Error> {
        request.validate()?;
        self.client
            .post_once("call start", "/call/start", request)
            .await
    }

    /// `POST /call/finish`: record how the call ended.
    pub async fn finish_call(
        &self,
        request: &FinishCallRequest,
    ) -> Result<FinishCallResponse, Error> {
        if request.reference_id.trim().is_empty() {
            return Err(InvalidId::new("reference id", "must not be empty").into());
        }
        self.client
            .post_once("call finish", "/call/finish", request)
            .await
    }
}
