//! What a conformance scenario is given: a client and the platform it talks to — the crate's
//! own emulator (over a socket, or in process), or the `oob-auth-emulator` server binary
//! (`OOB_EMULATOR_URL`) driven through its control API. [`Emu`] is the one handle the
//! scenarios use for both (auth-core's [`Controller`]): every call is a control command
//! ([`Control`]), so the same words reach the in-process model and the server.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::emulator::testing::{Controller, unique};
use auth_core::emulator::{Control, RemoteError};
use launchkey::emulator::{Emulator, Fault};
use launchkey::{AuthRequestId, AuthResponseReason, Client, ServiceId, ServicePrivateKey};
use serde_json::{Value, json};

use super::emu;

/// The provider's name on the server.
pub const PROVIDER: &str = "launchkey";

/// The platform a scenario runs against (the crate's emulator, in this process, or the
/// `oob-auth-emulator` server binary), as LaunchKey's own commands over a [`Controller`].
pub struct Emu(Controller);

/// A client, the platform, and the scenario's users (unique names on the shared server).
pub struct Setup {
    pub emu: Emu,
    /// The crate's emulator, kept serving (none against the server binary).
    _served: Option<Emulator>,
    pub client: Client,
    pub service_id: ServiceId,
    /// The first user (`alice` on a local emulator).
    pub alice: String,
    /// The second user.
    pub bob: String,
}

impl Setup {
    /// Creates an authorization request (which must succeed) and returns its id.
    pub async fn authorize(&self, request: &launchkey::AuthorizationRequest) -> AuthRequestId {
        self.client.authorize(request).await.unwrap().id
    }
}

/// The standard setup over a loopback socket: a fresh emulator with one service (key A) and
/// users alice, bob, carol.
pub async fn local() -> Setup {
    let s = emu::setup().await;
    Setup {
        emu: Emu(Controller::local(s.emulator.model())),
        _served: Some(s.emulator),
        client: s.client,
        service_id: s.service_id,
        alice: "alice".into(),
        bob: "bob".into(),
    }
}

/// [`local`], the client reaching the emulator's model in process (no socket).
pub async fn in_process() -> Setup {
    let s = emu::setup().await;
    let client = Client::builder(s.service_id, super::key_a())
        .base_url(s.emulator.base_url())
        .http_client(s.emulator.in_process())
        .build()
        .unwrap();
    Setup {
        emu: Emu(Controller::local(s.emulator.model())),
        _served: Some(s.emulator),
        client,
        service_id: s.service_id,
        alice: "alice".into(),
        bob: "bob".into(),
    }
}

/// The server binary at `OOB_EMULATOR_URL`: its service (id and key from `GET /providers`)
/// and two users made for this scenario. Fails loudly without the variable.
pub async fn binary() -> Setup {
    let (ctl, info) = Controller::connect(PROVIDER)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let field = |k: &str| info.text(k).unwrap_or_else(|e| panic!("{e}")).to_owned();
    let service_id = ServiceId::parse(&field("service_id")).unwrap();
    let key = ServicePrivateKey::from_pem(&field("service_private_key_pem")).unwrap();
    let client = Client::builder(service_id, key)
        .base_url(field("api_url"))
        .build()
        .unwrap();
    let (alice, bob) = (unique("alice"), unique("bob"));
    let emu = Emu(ctl);
    for user in [&alice, &bob] {
        emu.0
            .control(Control::AddUser {
                user: user.clone(),
                details: Value::Null,
            })
            .await
            .unwrap();
    }
    Setup {
        emu,
        _served: None,
        client,
        service_id,
        alice,
        bob,
    }
}

impl Emu {
    /// The user approves request `id`.
    pub async fn approve(&self, id: &AuthRequestId) -> Result<(), RemoteError> {
        let id = id.to_string();
        self.0.control(Control::Approve { id }).await.map(drop)
    }

    /// The user denies (not fraud), with an optional denial reason id.
    pub async fn deny(&self, id: &AuthRequestId, reason: Option<&str>) -> Result<(), RemoteError> {
        self.deny_as(id, false, reason).await
    }

    /// The user denies and flags fraud, with an optional denial reason id.
    pub async fn deny_fraud(
        &self,
        id: &AuthRequestId,
        reason: Option<&str>,
    ) -> Result<(), RemoteError> {
        self.deny_as(id, true, reason).await
    }

    async fn deny_as(
        &self,
        id: &AuthRequestId,
        fraud: bool,
        reason: Option<&str>,
    ) -> Result<(), RemoteError> {
        self.0
            .control(Control::Deny {
                id: id.to_string(),
                fraud,
                reason: reason.map(str::to_owned),
            })
            .await
            .map(drop)
    }

    /// The authorization fails on the device for `reason`.
    pub async fn fail(
        &self,
        id: &AuthRequestId,
        reason: AuthResponseReason,
    ) -> Result<(), RemoteError> {
        self.0
            .control(Control::Fail {
                id: id.to_string(),
                reason: Some(reason.as_str().to_owned()),
            })
            .await
            .map(drop)
    }

    /// The request expires now.
    pub async fn expire(&self, id: &AuthRequestId) -> Result<(), RemoteError> {
        let id = id.to_string();
        self.0.control(Control::Expire { id }).await.map(drop)
    }

    /// A new current API key.
    pub async fn rotate_api_key(&self) -> Result<(), RemoteError> {
        self.0.control(Control::RotateKeys).await.map(drop)
    }

    /// Only the legacy `auth` package in answers (or both again).
    pub async fn set_legacy_packages(&self, legacy: bool) -> Result<(), RemoteError> {
        self.0
            .provider(json!({ "legacy_packages": legacy }))
            .await
            .map(drop)
    }

    /// Whether `service` has an open session for `user`.
    pub async fn has_session(&self, service: ServiceId, user: &str) -> bool {
        let answer = self
            .0
            .provider(json!({"has_session": user, "service": service.to_string()}))
            .await
            .unwrap();
        answer["session"].as_bool().unwrap()
    }

    /// The code the user's authenticator shows.
    pub async fn set_totp(&self, user: &str, code: &str) -> Result<(), RemoteError> {
        self.0
            .provider(json!({"totp": code, "user": user}))
            .await
            .map(drop)
    }

    /// A JOSE fault on the next signed response.
    pub async fn inject(&self, fault: Fault) -> Result<(), RemoteError> {
        self.0
            .provider(json!({ "response_fault": fault }))
            .await
            .map(drop)
    }

    /// How many signed calls (every request but the public ones) the platform has answered.
    pub async fn signed_calls(&self) -> u64 {
        let counts = self.0.provider(json!({"counts": {}})).await.unwrap();
        counts["signed"].as_u64().unwrap()
    }

    /// The webhook the platform POSTs to `path` once `id` has been answered.
    pub async fn authorization_webhook(
        &self,
        id: &AuthRequestId,
        path: &str,
    ) -> Result<http::Request<Vec<u8>>, RemoteError> {
        let hook = self
            .0
            .provider(json!({"webhook": "authorization", "id": id.to_string(), "path": path}))
            .await?;
        Ok(request_from_json(&hook))
    }

    /// The session-end webhook for `user` of `service`, POSTed to `path`.
    pub async fn session_end_webhook(
        &self,
        service: ServiceId,
        user: &str,
        path: &str,
    ) -> Result<http::Request<Vec<u8>>, RemoteError> {
        let hook = self
            .0
            .provider(
                json!({"webhook": "session_end", "service": service.to_string(),
                             "user": user, "path": path}),
            )
            .await?;
        Ok(request_from_json(&hook))
    }
}

/// A request as auth-core's `request_json` writes it (method, path, headers, body).
fn request_from_json(hook: &Value) -> http::Request<Vec<u8>> {
    let mut request = http::Request::builder()
        .method(hook["method"].as_str().unwrap())
        .uri(hook["path"].as_str().unwrap());
    for (name, value) in hook["headers"].as_object().unwrap() {
        request = request.header(name.as_str(), value.as_str().unwrap());
    }
    request
        .body(hook["body"].as_str().unwrap().as_bytes().to_vec())
        .unwrap()
}
