//! # oob-auth-emulator
//!
//! One server that speaks the wire protocols of every oob-auth provider — **LaunchKey**,
//! **Authsignal**, **Airlock IAM**, **LogonBox**, the **Onegini** Token Server and a **CIBA**
//! OpenID Provider — so that an application written in any language can be tested against
//! them, with their official SDKs or with ours, without an account at any of them. A JSON
//! control API plays the user (approve, deny, expire), the provider's back office (users,
//! rules, keys) and the network (faults); a web page is the user's phone. What a provider sends
//! on its own — LaunchKey's and Authsignal's webhooks, CIBA's ping and push notifications — the
//! server sends too, to the URL your application gave.
//!
//! Each provider is its crate's own emulator (`<crate>::emulator`, a protocol model behind
//! `auth_core::emulator::Model`), served on a real port of its own, so the official SDKs find
//! the paths they expect (`/v1/…`, `/service/v3/…`).
//!
//! ## Start it
//!
//! ```text
//! cargo run -p oob-auth-emulator -- --user alice
//! ```
//!
//! It prints the URLs, ids, keys and secrets a client needs (`--print-json` prints them as one
//! JSON line for programs) and serves until Ctrl-C. The ports, from `--base-port` (default
//! 4700):
//!
//! | port | what |
//! | --- | --- |
//! | 4700 | control API and the phone page (`http://127.0.0.1:4700/`) |
//! | 4701 | LaunchKey Service API (`/public/v3/…`, `/service/v3/…`) |
//! | 4702 | Authsignal Server API (`/v1/…`; CallConnect `/call/…`) |
//! | 4703 | Airlock IAM Loginapp REST (`/auth/rest/public/…`) |
//! | 4704 | LogonBox Authenticator API (`/app/api/authenticator/…`, the signing page) |
//! | 4705 | Onegini Token Server (`/oauth/…`, the IdP's login and consent pages) |
//! | 4706 | CIBA OpenID Provider: the issuer (`/.well-known/openid-configuration`, `/backchannel`, `/token`, `/jwks`) |
//!
//! `--base-port 0` picks free ports (read them from `--print-json`); `--port NAME=N` moves one;
//! `--only launchkey,authsignal` serves a subset; `--tls` serves HTTPS with a self-signed
//! certificate written to `--dir` (for clients that only speak https, such as the official
//! LogonBox clients: trust `cert.pem`); `--config file.json` reads the options below;
//! `--setting NAME.KEY=VALUE` sets one of a provider's settings (`--setting
//! authsignal.webhook_url=http://127.0.0.1:9000/hooks`); `--log-capacity N` sizes each
//! provider's request log. `--help` lists them all.
//!
//! ## Point a client at it
//!
//! The values come from what the emulator printed (`GET /providers` on the control API gives
//! the same JSON). Python, the official LaunchKey SDK (`launchkey==4.0.1`):
//!
//! ```text
//! from launchkey.factories import ServiceFactory
//! lk = info["providers"]["launchkey"]
//! service = ServiceFactory(lk["service_id"], lk["service_private_key_pem"],
//!                          url=lk["api_url"]).make_service_client()
//! request = service.authorization_request("alice", context="Pay 10.00 EUR")
//! ```
//!
//! Python, the official Authsignal SDK (4.x takes the URL with `/v1`; 0.1.1 takes
//! `base_url` and appends `/v1` itself):
//!
//! ```text
//! from authsignal.client import AuthsignalClient
//! sig = info["providers"]["authsignal"]
//! client = AuthsignalClient(sig["secret_key"], api_url=sig["api_url"])
//! client.track("alice", "withdraw")
//! ```
//!
//! Node (`@authsignal/node`):
//!
//! ```text
//! const client = new Authsignal({ apiSecretKey: sig.secret_key, apiUrl: sig.api_url, retries: 0 });
//! ```
//!
//! CIBA, any OpenID client library (the issuer does discovery), or `curl`:
//!
//! ```text
//! curl -s -u emulated-client:<client_secret> localhost:4706/backchannel \
//!      -d scope=openid -d login_hint=alice -d binding_message='Pay 10 EUR? 7B'
//! curl -s -u emulated-client:<client_secret> localhost:4706/token \
//!      -d grant_type=urn:openid:params:grant-type:ciba -d auth_req_id=<auth_req_id>
//! ```
//!
//! Rust: each crate's `Client::builder(…).base_url(<api_url>)`; for CIBA,
//! `ciba::Client::builder(ClientId::new(<client_id>)?, ClientAuth::secret_basic(<client_secret>))
//! .issuer(<issuer>)`. The scripts in
//! `crates/oob-auth-emulator/official/` run the official SDKs' main flows against the
//! emulator in CI (`official/install.sh` installs them under `target/`, `official/run.sh`
//! runs them); they are complete examples.
//!
//! ## Play the user
//!
//! Open the phone page (`http://127.0.0.1:4700/`): every provider's pending step-ups, live,
//! with the text the user would see and Approve / Deny buttons, and a link to the provider's
//! own page where it has one. Or use the control API, from any language:
//!
//! ```text
//! curl -s localhost:4700/pending
//! curl -s -X POST localhost:4700/launchkey/step-ups/<id>/approve
//! curl -s -X POST localhost:4700/launchkey/step-ups/<id>/deny -d '{"fraud": true}'
//! curl -s -X POST localhost:4700/authsignal/users -d '{"user": "alice"}'
//! curl -s -X PUT localhost:4700/authsignal/rules -d '[{"id": "r1", "action": "withdraw", "outcome": "CHALLENGE"}]'
//! curl -s -X POST localhost:4700/clock/advance -d '{"seconds": 600}'
//! ```
//!
//! ## The control API
//!
//! JSON in, JSON out. Errors are `{"error": code, "message": text}` with status 400
//! (`invalid`), 404 (`not_found`, `unknown_provider`), 409 (`conflict`: e.g. approving a
//! settled step-up), 501 (`unsupported`: the provider has no such thing) or 500 (`internal`:
//! the server could not list the pending step-ups). Times are Unix
//! seconds. `{provider}` is `launchkey`, `authsignal`, `airlock-iam`, `logonbox`,
//! `onegini-model` or `ciba`.
//!
//! | route | what |
//! | --- | --- |
//! | `GET /` | the phone page |
//! | `GET /providers` | what `--print-json` prints: URLs, ids, keys, secrets, seeded users |
//! | `GET /pending[?limit=N][&provider=P]` | pending step-ups of every provider, oldest first (`limit`: the newest N); header `X-Total-Count` |
//! | `GET /{provider}/pending` | one provider's |
//! | `POST /{provider}/step-ups/{id}/approve` | the user approves |
//! | `POST /{provider}/step-ups/{id}/deny` | the user denies; body `{"fraud": bool, "reason": "…"}` (optional) |
//! | `POST /{provider}/step-ups/{id}/expire` | the step-up runs out of time now |
//! | `POST /{provider}/step-ups/{id}/fail` | it fails on the user's side; body `{"reason": "…"}` (optional) |
//! | `POST /{provider}/users` | `{"user": "alice", "details": {…}}` (details per provider: [`docs::providers`]) |
//! | `PUT /{provider}/rules` | replaces the decision rules (Authsignal) |
//! | `POST /{provider}/faults` | `{"status": 503, "retry_after": 2, "path_contains": "/auths", "times": 1}`: the next matching requests fail; answers `{"injected": 1}` (how many requests) for every provider |
//! | `POST /{provider}/rotate-keys` | rotates the provider's signing keys |
//! | `GET /{provider}/log[?limit=N]` | the newest requests: method, path (query values redacted), status; never bodies |
//! | `GET /{provider}/deliveries[?limit=N]` | what the provider sent on its own (LaunchKey, Authsignal, CIBA): `{"auto", "queue_capacity", "retrying", "recent": [{"at", "method", "url", "attempt", "status" \| "error"}]}`, the URL without its query; never headers or bodies (501 for providers that send nothing) |
//! | `POST /{provider}/control` | any command of the one control vocabulary (`auth_core::emulator::Control`), e.g. `{"command": "deny", "id": "…", "fraud": true}` or a provider's own `{"command": "provider", "body": {…}}` |
//! | `GET /clock`, `POST /clock/advance` | the one clock every provider runs on; `{"seconds": N}` moves it forward |
//! | `GET /healthz` | `ok` |
//!
//! A pending step-up is `{"provider", "id", "user", "title", "message", "created_at",
//! "expires_at", "page"}`: `message` is what the user's phone shows (CIBA: the
//! `binding_message`), `page` the provider's browser page for it (if any).
//!
//! ## What the server sends
//!
//! LaunchKey's and Authsignal's webhooks and CIBA's ping and push notifications are HTTP
//! requests the provider makes to your application. The models queue them; the server sends
//! them, like the real provider, after every request it answers and every control command it
//! runs — so approving a CIBA request from the phone page pings the client, approving a
//! LaunchKey request posts its authorization response, and enrolling an Authsignal user posts
//! `authenticator.created`. Where they go: LaunchKey's and Authsignal's `webhook_url` (the
//! setting, or the provider command `{"webhook_url": …}`; until one is set LaunchKey posts
//! nothing and Authsignal's events wait), a CIBA client's notification endpoint (its
//! registration).
//!
//! * In the background: an answer never waits for a delivery. One queue per provider, sent in
//!   order, one at a time (10 s at most, no redirects followed); at most 1,000 wait, beyond
//!   that a delivery is dropped. Each is sent once, but for Authsignal's authenticator events,
//!   which the real tenant retries: a failed one is sent again, unchanged, up to 3 times, 30 s
//!   apart (the setting `authsignal.webhook_retry_seconds`). A server looks for what a model
//!   queued on its own time (a CIBA push client's expiry) every second as well.
//! * A failure (refused, timed out, a non-2xx answer) is written to standard error and kept in
//!   `GET /{provider}/deliveries`; it stops nothing.
//! * `POST /{provider}/control` with `{"command": "provider", "body": {"auto_deliver": false}}`
//!   keeps what the model queues until `{"deliver_webhooks": true}` (LaunchKey, Authsignal) or
//!   `{"deliver_notifications": true}` (CIBA), which sends it now, waits until it and everything
//!   queued before it are done (first attempts), and answers `{"delivered": [statuses],
//!   "failed": [...], "retrying": n}` for the requests it sent itself (`retrying`: the retries
//!   still waiting for their time, which go on either way); `{"auto_deliver": true}` turns
//!   sending after every request back on.
//!
//! ## The config file
//!
//! `--config file.json` (every field optional; flags win):
//!
//! ```text
//! {
//!   "bind": "127.0.0.1", "base_port": 4700, "tls": false, "dir": "/tmp/emu", "log_capacity": 1000,
//!   "users": ["alice"],
//!   "only": ["launchkey", "authsignal"],
//!   "providers": {
//!     "launchkey": {"port": 9001, "settings": {"service_id": "…", "private_key_file": "service.pem"}},
//!     "authsignal": {"users": [{"user": "bob", "details": {"email": "bob@example.com"}}],
//!                    "rules": [{"id": "r1", "action": "withdraw", "outcome": "CHALLENGE"}],
//!                    "settings": {"webhook_url": "http://127.0.0.1:9000/hooks"}},
//!     "ciba": {"settings": {"client_id": "bank", "client_secret": "…", "delivery_mode": "ping",
//!                           "notification_endpoint": "http://127.0.0.1:9000/ciba", "interval": 1}}
//!   }
//! }
//! ```
//!
//! Each provider's `settings`, `details` and own commands are in [`docs::providers`].
//!
//! ## Memory
//!
//! What the server keeps is bounded: each provider's request log is a ring
//! (`--log-capacity`), settled step-ups beyond a cap are forgotten, nothing else grows per
//! request. Its resident memory holding 10,000 pending step-ups is in [`docs::memory`]
//! (reproduce with `cargo bench -p oob-auth-emulator --bench scale`).
//!
//! ## From Rust
//!
//! The server can run in-process too ([`Server::start`]), e.g. for a test that drives a
//! browser against the phone page:
//!
//! ```
//! # #[tokio::main(flavor = "multi_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use oob_auth_emulator::{Options, Provider, Server};
//!
//! let mut options = Options::ephemeral(); // free ports
//! options.only = vec![Provider::Authsignal];
//! let server = Server::start(options).await?;
//! let api = server.api_url(Provider::Authsignal).unwrap();
//! assert!(api.starts_with("http://127.0.0.1:") && api.ends_with("/v1"));
//! let secret = server.info()["providers"]["authsignal"]["secret_key"].as_str().unwrap();
//! assert!(!secret.is_empty());
//! # Ok(()) }
//! ```
//!
//! ## Dependencies, and why
//!
//! | crate | why |
//! | --- | --- |
//! | the six provider crates (feature `emulator`) | their protocol models |
//! | `auth-core` (features `emulator`, `reqwest`) | the `Model` trait, the control vocabulary, the request log, the axum server; the HTTP client that sends webhooks and notifications |
//! | `axum`, `tokio` | the control API and the providers' ports |
//! | `rcgen` (aws-lc-rs), `rustls`, `tokio-rustls` | `--tls`: a self-signed certificate and HTTPS, on the one crypto library of the workspace |
//! | `serde`, `serde_json`, `thiserror`, `http`, `async-trait`, `base64`, `uuid` | JSON, errors, PEM, ids |
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod control;
mod delivery;
pub mod docs;
mod options;
mod providers;
mod served;
mod server;
mod tls;

pub use options::{
    Command, DEFAULT_BASE_PORT, Options, Provider, ProviderOptions, USAGE, UsageError, UserSeed,
};
pub use server::{Server, StartError};
