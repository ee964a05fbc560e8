//! Long-form notes: what Onegini documents and what the model chose, the security properties
//! the model keeps, the Token Server model's endpoints, and the step-up choice. Rustdoc only:
//! nothing here is code.

pub mod model_choices {
    //! # Documented vs model choice
    //!
    //! Onegini documents the OAuth endpoints, the error codes, the handler shapes, the PIN
    //! policy rules, that DCR is proven with OCRA including a timestamp (ten minutes
    //! tolerance), and that a PIN is validated only by the server through the refresh token it
    //! decrypts. The SDK's own wire protocol is not public: what follows is **this model's
    //! choice** where it says so (spec §4, `../shared/specs/onegini.md`).
    //!
    //! * Authorization (`/oauth/authorize`, `/oauth/v1/authorize`) and token (`/oauth/token`,
    //!   `/oauth/v1/token`) endpoints follow RFC 6749 and are documented by Onegini.
    //! * **Model choice**: DCR at `/oauth/client/v1/register` in two round trips
    //!   ([`DcrChallengeRequest`](crate::wire::DcrChallengeRequest) →
    //!   [`DcrChallenge`](crate::wire::DcrChallenge), [`DcrAnswer`](crate::wire::DcrAnswer) →
    //!   [`DcrCredentials`](crate::wire::DcrCredentials)), with the OCRA suite
    //!   `OCRA-1:HOTP-SHA256-8:QH64-T1M` keyed by the application signature; the PIN policy
    //!   delivered with the DCR answer.
    //! * **Model choice**: the PIN-to-key derivation (PBKDF2 + an untagged HMAC keystream, see
    //!   [`crate::hazmat`]), the wrong-PIN error fields
    //!   ([`TokenError::remaining_attempts`](crate::wire::TokenError::remaining_attempts)),
    //!   revocation at `/oauth/revoke` (RFC 7009 style, also by a refresh token's public id),
    //!   fingerprint authenticator registration at `/oauth/v1/authenticators/fingerprint`, the
    //!   start-up status check at `/oauth/v1/client/status`, and the `error_description`s
    //!   `user_deregistered` (9003), `authenticator_deregistered` (9022) and
    //!   `app_version_disabled` (9004).
    //!
    //! ## The lifecycle
    //!
    //! ```text
    //! start (profiles removed on the server) ─> DCR (automatic) ─> registerUser: browser → IdP login → consent → redirect
    //!           ─> code + PKCE at the token endpoint ─> PIN creation ─> authenticated
    //! authenticateUser (PIN / fingerprint = refresh grant) ─> authenticated ─> logout (refresh token kept)
    //! deregisterUser ─> that profile gone (credentials and other profiles kept)
    //! ```
    //!
    //! ## Not modelled (yet)
    //!
    //! Mobile authentication (push/OTP enrollment, spec §1.11), custom registration,
    //! `INVALID_DATETIME` (9031), the `client_credentials` grant, persistent consent, ID tokens
    //! and PrivateKeyJWT client authentication.
}

pub mod security {
    //! # Security properties the model keeps
    //!
    //! * The PIN never leaves the device and is never stored; [`Pin`](crate::Pin) is zeroized
    //!   on drop.
    //! * The stored refresh token carries no tag: a wrong PIN gives a well-formed wrong
    //!   candidate, so only the server (with its attempt counter) can tell. Fresh salt on every
    //!   re-encryption ([`crate::hazmat`]).
    //! * The access token lives only in memory; secrets never appear in `Debug`, `Display` or
    //!   errors. Whatever the server answers is scrubbed, before it reaches an error, of every
    //!   secret the request sent (client secret and its Basic header, tokens, PIN-derived
    //!   refresh-token candidates, PKCE verifier, code) in every spelling
    //!   `auth_core::error::scrub_secrets` knows.
    //! * The fingerprint refresh token is stored only sealed by the platform
    //!   [`Keystore`](crate::Keystore), under a key the storage does not hold: a copy of the
    //!   storage on another device cannot use it. Its public id is kept in clear, so it can be
    //!   revoked without the biometric.
    //! * OCRA responses, client secrets, refresh-token secrets, the `state` of the code flow
    //!   and every [`SecretField`](crate::wire::SecretField) are compared in constant time
    //!   (`auth_core::secret::constant_time_eq`).
    //! * Every time comes from an [`auth_core::Clock`]; tests move time with `FakeClock`.
    //!
    //! ## Why an AEAD for the keystore and not for the PIN
    //!
    //! The keystore key is random and held by the keystore, so a tag lets nobody test guesses
    //! offline; it only makes a swapped or edited blob fail. The PIN-derived key is different:
    //! there a tag would confirm PIN guesses offline.
    //!
    //! ## The keystore on a device
    //!
    //! The SDK keeps the fingerprint refresh token under an OS-keystore key gated by biometrics
    //! (Android Keystore, iOS Keychain / Secure Enclave; spec §1.6, §5.2). Implement
    //! [`Keystore`](crate::Keystore) over the platform keystore with a key that requires the
    //! user's biometric authentication. In the model the biometric gate is the
    //! [`FingerprintHandler`](crate::FingerprintHandler) answering `Match`: the client opens the
    //! sealed token only then. [`MemoryKeystore`](crate::MemoryKeystore) is for tests and demos:
    //! share one instance between clients to model one device across app restarts; a new
    //! instance is another device.
    //!
    //! The client secret stands for what the SDK keeps in the platform's secure storage; a real
    //! app would put it behind the platform keystore as well.
}

pub mod token_server {
    //! # The Token Server model
    //!
    //! `onegini_model::emulator` (feature `emulator`) is a protocol model of the Token Server
    //! and its IdP: HTTP requests in, responses out, no socket of its own. It serves:
    //!
    //! | endpoint | what | tag |
    //! | --- | --- | --- |
    //! | `POST /oauth/client/v1/register` | DCR in two rounds, OCRA proof keyed by the app version's signature, T1M ±10 steps | model choice |
    //! | `GET /oauth/authorize`, `/oauth/v1/authorize` | authorization request; redirects to the IdP login | documented (RFC 6749) |
    //! | `GET`/`POST /idp/login` | the IdP's login page (an HTML form: username + password) | model |
    //! | `GET`/`POST /oauth/v1/consent` | the consent page (HTML); redirects to the app's scheme with `code` or `error=access_denied` | model |
    //! | `POST /oauth/token`, `/oauth/v1/token` | `authorization_code` (+ PKCE S256 when the request had a challenge), `refresh_token` with the wrong-PIN counter; a fingerprint token revoked on its own → `authenticator_deregistered` | documented grants; counter fields and `authenticator_deregistered` model |
    //! | `POST /oauth/revoke`, `/oauth/v1/revoke` | RFC 7009 style; revoking a PIN refresh token revokes the user's tokens for the client, revoking a fingerprint token only that one | model choice |
    //! | `POST /oauth/v1/authenticators/fingerprint` | fingerprint refresh token for the bearer's user | model choice |
    //! | `GET /resources/v1/user` | a user resource for the bearer | model |
    //! | `POST /oauth/v1/client/status` | which stored refresh tokens were revoked (for `start`) | model choice |
    //!
    //! Its control commands (the `auth_core::emulator::Control` vocabulary) add IdP users,
    //! answer the IdP's login sessions (listed as pending step-ups, with the page the user
    //! answers on), expire them, inject faults, move the clock and read the request log; its
    //! administrator commands (`AdminCommand`, sent as `Control::Provider`) change an app
    //! version's status, revoke a user's tokens, delete a client, read the attempt counter,
    //! the live tokens and the event log. `fail`, `set_rules` and `rotate_keys` are
    //! unsupported: the PIN and fingerprint steps happen on the device, and the Token Server
    //! has no rules and no signing keys.
    //!
    //! What the model keeps per request is bounded: expired pending DCRs, login sessions, codes
    //! and access tokens are forgotten as time passes; revoked and rotated tokens are removed
    //! (a fingerprint token leaves at most one retired entry per registration); every kind of
    //! record has a ceiling (`MAX_RECORDS`) beyond which the oldest is dropped; the event log
    //! and the request logs are ring buffers (`LOG_CAPACITY`), without bodies in the control
    //! API's `read_log`. What stays is registration state: IdP users, clients (one per
    //! DCR) and the live refresh tokens of registered profiles.
}

pub mod step_up {
    //! # Step-up with the Onegini model
    //!
    //! The spec has no push or step-up flow in scope (mobile authentication is §1.11, out of
    //! scope). So a step-up is *"the user proves presence on this device again"*:
    //! authenticating the registered profile with its preferred authenticator (PIN, or
    //! fingerprint with PIN fallback) through the app's handlers, which is a fresh refresh grant
    //! against the Token Server. The request's `user` is the **profile id**; the handlers are
    //! the app's own, so the app shows the request's title and message with its PIN or
    //! fingerprint prompt.
    //!
    //! The authentication completes inside `start` (the handlers ask the user and wait for the
    //! answer), so `start` blocks and returns `Started::Settled`. Outcomes: success →
    //! `Approved` (evidence: profile id and authenticator); the user denied → `Denied`;
    //! attempts exhausted (9003, the profile is removed) → `Failed`. Other errors are returned
    //! as errors.
    //!
    //! Capabilities, truthfully: `start_blocks`, nothing else. Nothing waits at the Token
    //! Server (so nothing to poll and no webhook), no browser is involved, and the settled
    //! outcome is kept only in the [`OneginiStepUp`](crate::OneginiStepUp) value's memory (the
    //! last 64 step-ups), so a handle cannot be checked from another process. `check` repeats
    //! the outcome for a handle that value started; a handle of another provider is refused
    //! before anything is looked up.
}
