//! # CIBA Core 1.0, section by section
//!
//! | § | requirement (client side) | where |
//! | --- | --- | --- |
//! | 4 | OP metadata: `backchannel_authentication_endpoint`, `backchannel_token_delivery_modes_supported`, `backchannel_authentication_request_signing_alg_values_supported`, `backchannel_user_code_parameter_supported` | [`ProviderMetadata`](crate::ProviderMetadata); the client refuses an OP without the endpoint, without its delivery mode, or without its signing algorithm; `user_code` is refused before sending when the OP says it is unsupported |
//! | 4 | client metadata (`backchannel_token_delivery_mode`, `…_notification_endpoint`, `…_signing_alg`, `…_user_code_parameter`) | registration is out of scope (done with the OP); [`ClientBuilder::delivery_mode`](crate::ClientBuilder::delivery_mode) and [`ClientBuilder::signed_requests`](crate::ClientBuilder::signed_requests) mirror it |
//! | 5 | poll, ping and push modes | [`Client::poll`](crate::Client::poll), [`Client::handle_ping`](crate::Client::handle_ping), [`Client::handle_push`](crate::Client::handle_push) |
//! | 6 | the backchannel authentication endpoint: form-encoded `POST` over TLS | [`Client::authenticate`](crate::Client::authenticate) (`https://` off loopback, sent once) |
//! | 7.1 | `scope` with `openid`; exactly one of `login_hint_token`, `id_token_hint`, `login_hint`; `binding_message`, `user_code`, `requested_expiry`, `acr_values`; `client_notification_token` for ping and push (bearer syntax, ≤ 1024 characters, ≥ 128 bits of entropy) | [`AuthenticationRequest`](crate::AuthenticationRequest) (`openid` always first; [`UserHint`](crate::UserHint) makes one hint the only option; extension parameters that would add a hint are refused before sending); [`ClientNotificationToken::generate`](crate::ClientNotificationToken::generate) (256 bits) |
//! | 7.1 | client authentication at the backchannel endpoint as at the token endpoint; the OP accepts its issuer as assertion audience | [`ClientAuth`](crate::ClientAuth) (`aud` = issuer) |
//! | 7.1.1 | signed authentication request: all parameters as claims of a JWS, plus `aud`, `iss`, `exp`, `iat`, `nbf`, `jti`; nothing outside but `request` and client authentication | [`ClientBuilder::signed_requests`](crate::ClientBuilder::signed_requests) |
//! | 7.2 | OP-side validation | the OP's job; mirrored by the emulator (feature `emulator`) |
//! | 7.3 | `auth_req_id`, `expires_in` (required), `interval` (default 5) | [`AuthRequest`](crate::AuthRequest); a missing or malformed member is a typed error, `interval` absent or 0 means 5 s |
//! | 7.4 | the client checks the acknowledgement | as above |
//! | 8 | user authentication and consent on the device | the OP's job |
//! | 9 | the client notification endpoint, authenticated by the bearer token | [the notification types](crate::PingNotification); the endpoint itself is your web framework's (see the axum example) |
//! | 10.1 | token request: `grant_type=urn:openid:params:grant-type:ciba`, `auth_req_id`, client authentication; wait `interval` between requests | [`Client::token_request`](crate::Client::token_request), [`Client::poll`](crate::Client::poll) |
//! | 10.1.1 | token response with an ID token, validated as in OIDC Core §3.1.3.7 | [`Client::validate_id_token`](crate::Client::validate_id_token) |
//! | 10.2 | ping: verify the bearer token and `auth_req_id`, then one token request; answer 204 | [`Client::handle_ping`](crate::Client::handle_ping) |
//! | 10.3, 10.3.1 | push: verify the bearer token; the ID token must carry `at_hash`, `rt_hash` (with a refresh token) and `urn:openid:params:jwt:claim:auth_req_id`, all checked | [`Client::handle_push`](crate::Client::handle_push), [`Expected::in_push_mode`](crate::Expected::in_push_mode) |
//! | 11 | `authorization_pending`, `slow_down` (+5 s for this and later requests), `expired_token`, `access_denied`, `invalid_grant` | [`TokenPoll`](crate::TokenPoll), [`Outcome`](crate::Outcome), [`Error::Provider`](crate::Error::Provider) |
//! | 12 | push error payload: `access_denied`, `expired_token`, `transaction_failed` | [`Client::accept_push`](crate::Client::accept_push) → [`Outcome`](crate::Outcome) |
//! | 13 | authentication errors: `invalid_request`, `invalid_scope`, `expired_login_hint_token`, `unknown_user_id`, `unauthorized_client`, `missing_user_code`, `invalid_user_code`, `invalid_binding_message`, `invalid_client`, `access_denied` | [`ErrorCode`](crate::ErrorCode) in [`Error::Provider`](crate::Error::Provider); unknown codes are kept |
//! | 14 | TLS; constant-time comparison of the notification token; no token replay | `https://` required off loopback; notification tokens compared over their SHA-256 in constant time; secrets in redacting types |
//! | 15 | privacy: the binding message and hints are personal data | hints and user codes are never logged or put in errors; the binding message is the caller's text |
//!
//! Not implemented, on purpose: mTLS client authentication (`tls_client_auth`) and
//! certificate-bound tokens — bring a `reqwest::Client` with your client certificate
//! ([`ClientBuilder::reqwest_client`](crate::ClientBuilder::reqwest_client)), but the crate does not check `cnf`; DPoP; `client_secret_jwt`
//! (a shared-secret JWT adds nothing over `client_secret_basic` for a confidential backend);
//! encrypted ID tokens (JWE); `login_hint_token` *formats* (the token is passed through as
//! given); the `request_context` and `authorization_details` parameters are passed with
//! [`AuthenticationRequest::param`](crate::AuthenticationRequest::param) without interpretation.
//!
//! ## FAPI-CIBA
//!
//! [`ClientBuilder::fapi_ciba`](crate::ClientBuilder::fapi_ciba) refuses at build time what the profile forbids a client:
//! `client_secret_basic`/`client_secret_post` (FAPI 1.0 Advanced allows only mTLS and
//! `private_key_jwt`), RS256 for assertions, request objects and ID tokens (FAPI 1.0 Advanced
//! §8.6: PS256 or ES256), unsigned authentication requests and push mode (FAPI-CIBA). Signed
//! requests are then on, with `nbf`/`exp` at most 60 minutes apart.
