//! # ciba
//!
//! (guide written below)
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
pub mod discovery;
mod error;
pub mod id_token;
pub mod jwks;
pub mod keys;
pub mod notification;
mod request;
mod stepup;
pub mod token;
mod types;

#[cfg(feature = "emulator")]
pub mod emulator;

pub use client::{
    CLIENT_ASSERTION_LIFETIME, Client, ClientAuth, ClientBuilder, DEFAULT_REQUEST_OBJECT_LIFETIME,
    MAX_TRACKED_REQUESTS, SLOW_DOWN_STEP, VERSION, default_http_config,
};
pub use discovery::{Endpoints, ProviderMetadata};
pub use error::{Endpoint, Error, IdTokenError, NotificationError, ProviderError};
pub use id_token::{Expected, IdTokenClaims, IdTokenVerifier};
pub use keys::{Algorithm, SigningKey};
pub use request::{
    AuthRequest, AuthenticationRequest, DEFAULT_INTERVAL, MAX_BINDING_MESSAGE_CHARS, UserHint,
};
pub use stepup::PROVIDER;
pub use token::{Outcome, TokenPoll, TokenResponse, Tokens};
pub use types::{
    AccessToken, AuthReqId, ClientId, ClientNotificationToken, ClientSecret, DeliveryMode,
    ErrorCode, IdTokenJwt, LoginHintToken, RefreshToken, UserCode,
};
