//! The decisions behind the client: for every point the spec (`shared/specs/airlock-iam.md`)
//! marks *unconfirmed*, what this crate does.
//!
//! The spec (`shared/specs/airlock-iam.md`) tags each fact; for every point it marks
//! *unconfirmed* this crate decided as follows (the emulator follows the same choices and labels
//! them *model choice*; none of them is a claim about Airlock). Spec sections in parentheses.
//!
//! - **Session binding** (§1.1, §9 #3): flow state is assumed to live in a cookie-bound server
//!   session. A generic per-flow [`CookieJar`](crate::CookieJar) stores and echoes every cookie; no cookie name
//!   appears in the client. The jar implements the RFC 6265 subset that matters for isolation:
//!   host-only cookies go to their host only, a `Domain` must cover the answering host and may
//!   not be a single label (`com`; a stand-in for the public-suffix list), IP hosts match only
//!   themselves, `Path` and `Secure` are honoured, expiry arithmetic is clamped (a hostile
//!   `Max-Age` cannot overflow). At most [`MAX_COOKIES`](crate::limits::MAX_COOKIES) per flow.
//! - **Saved flows** (the resume requirement): [`SavedFlow`](crate::SavedFlow) is versioned
//!   ([`SavedFlow::VERSION`](crate::SavedFlow::VERSION)); [`Client::resume`](crate::Client::resume) refuses another version, cookies with
//!   invalid names/values/paths, cookies whose domain the client's Loginapp host does not belong
//!   to (a flow saved for another Loginapp is refused, never sent anywhere) and bad session ids,
//!   before anything is sent.
//! - **Paths** (§1.6, §1.7, §1.8, §1.10, §1.11, §9 #1) of the offline switch, passcode check
//!   (body key `otp`, not `passcode`), QR retrieval, device selection (`devices/{deviceId}/select/`,
//!   not the body form the emulator also accepts), password change and logout are in
//!   [`Endpoints`](crate::Endpoints), each overridable; the trailing-slash form is sent. A device id may not be
//!   `.`/`..` ([`DeviceId`](crate::DeviceId)), so it can never re-target the selection call.
//! - **Step codes** (§5.1, §9 #4, #5): [`NextAuthStep`](crate::NextAuthStep) has only the documented/observed codes;
//!   everything else (including the emulator's `AIRLOCK_2FA_OTP_REQUIRED` and
//!   `PASSWORD_CHANGE_REQUIRED`) is [`NextAuthStep::Other`](crate::NextAuthStep::Other), with the raw attributes in
//!   [`StepResponse::attributes`](crate::StepResponse::attributes). Both polling codes mean "poll again" in every flow. After a
//!   mobile-only challenge retrieval (a document without `nextAuthStep`) the flow's state is
//!   set to `AIRLOCK_2FA_POLLING_REQUIRED`, as in the observed transcript; a QR retrieval
//!   leaves the state as it was (it only fetches the code of the current step).
//! - **Error codes** (§1.4, §6.1, §9 #2): a rejected / timed-out 2FA and a missing CSRF header
//!   are recognised by the emulator's codes (`AIRLOCK_2FA_AUTHENTICATION_REJECTED`,
//!   `AIRLOCK_2FA_AUTHENTICATION_TIMEOUT`, `CSRF_HEADER_MISSING`); a real server's other codes
//!   arrive as [`Error::Api`](crate::Error::Api) with [`ErrorCode::Other`](crate::ErrorCode::Other) and end polling all the same. Codes are
//!   classified by `errors[0].code` whatever the HTTP status (the status of `UNEXPECTED_CALL` is
//!   unconfirmed). `meta.nextAuthStep` on any error document moves the flow's state.
//! - **Error members** (§3.5, §9 #7): `title`, `detail` and per-error `meta` are kept when
//!   present ([`ApiError`](crate::ApiError)); unknown members are ignored everywhere. Every string of an error
//!   document is scrubbed of the call's password/OTP and the flow's cookie values before it
//!   reaches an [`Error`](crate::Error), so a server echoing input cannot leak a secret into a message.
//! - **Media type** (§9 #6): bodies are parsed as JSON whatever the `Content-Type`;
//!   `errors[].status` may be a number or a string; `data.id` a string or a number. A non-2xx
//!   body that is no error document is [`auth_core::Error::Status`] in [`Error::Core`](crate::Error::Core) (truncated, scrubbed).
//! - **Timestamps**: RFC 3339 with an offset, `+0200` tolerated
//!   ([`auth_core::time::Timestamp`]); anything
//!   else is a decode error naming the JSON path. Decode messages never quote the offending
//!   value (it could be a secret).
//! - **Polling** (§1.12): no interval is documented; every 1.5 s for at most 3 minutes by
//!   default ([`ClientBuilder::poll_config`](crate::ClientBuilder::poll_config)), with auth-core's poller (deadline,
//!   cancellation via [`Flow::wait_or_cancel`](crate::Flow::wait_or_cancel)). Only the status poll is ever retried by the
//!   transport ([`auth_core::Replay::SideEffectFree`]); the password, OTP, device-selection and
//!   offline-switch calls are sent once (a retry could send a second push or count a failure).
//!   A 429 that outlasts the retries is [`Error::RateLimited`](crate::Error::RateLimited); while polling (also through
//!   the step-up's `check`) it keeps the flow pending, waiting `Retry-After` (or 5 s), until the
//!   deadline — the rule of every provider crate.
//! - **Device list and QR** (§1.6, §1.8, §9 #8): every device attribute but `id` is optional
//!   ([`Device`](crate::Device)); the QR image is read from `qrCode` ([`QrCode`](crate::QrCode)), other shapes stay in the raw
//!   attributes.
//! - **Mandatory password change** (§1.10): `password/change/` with `oldPassword` (optional)
//!   and `newPassword` ([`Flow::change_password`](crate::Flow::change_password)); its step code arrives as
//!   [`NextAuthStep::Other`](crate::NextAuthStep::Other).
//! - **Application access after completion** (§1.2, §9 #9): a 2xx answer to an access call is
//!   read as "authorized" ([`FlowState::Done`](crate::FlowState::Done)); 401 `NOT_AUTHORIZED` with `meta.nextAuthStep`
//!   as "the flow continues there". No "final session / redirect" call was found (§1.11): a
//!   client confirms with [`Flow::access_application`](crate::Flow::access_application).
//! - **Abort** (§1.11): no public logout was found; [`Flow::abort`](crate::Flow::abort) sends `POST public/logout/`
//!   (overridable) and then drops the cookies whatever the answer (404/405/`UNEXPECTED_CALL`
//!   count as "no such call", `Ok(false)`), so the next call starts a new server session.
//! - **Step-up** (§1.1, S19): an access to a 2FA application
//!   ([`ClientBuilder::step_up_application`](crate::ClientBuilder::step_up_application)) from the user's logged-in session
//!   ([`Client::attach_session`](crate::Client::attach_session)); the request's title and message cannot be shown on the
//!   phone. The handle's state carries the flow (Loginapp, cookies, `X-Same-Domain`, step) and
//!   the `mobileAuthUri` / QR code, so any client of the same Loginapp checks it after
//!   validating it ([`Client::resume`](crate::Client::resume)'s rules); `Debug` redacts the state, but serialized it
//!   holds the session: store it server-side. An approval is always the server's answer (a
//!   finished poll, or an authorized application access).
