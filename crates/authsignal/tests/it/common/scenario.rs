//! What a conformance scenario is given: the tenant it talks to — the crate's own emulator
//! (over a socket, or in process), or the `oob-auth-emulator` server binary
//! (`OOB_EMULATOR_URL`) driven through its control API — and how to make clients for it.
//! [`Emu`] is the one handle the scenarios use for both (auth-core's [`Controller`]): every
//! call is a control command ([`Control`]), so the same words reach the in-process model and
//! the server.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;

use auth_core::emulator::testing::{Controller, unique};
use auth_core::emulator::{Control, Fault, RemoteError};
use auth_core::{BaseUrl, HttpClient};
use authsignal::emulator::{Emulator, Rule};
use authsignal::{
    ChallengeId, ChallengeToken, Client, ClientBuilder, IdempotencyKey, SecretKey, UserId,
    VerificationCode,
};
use serde_json::{Value, json};

/// The provider's name on the server.
pub const PROVIDER: &str = "authsignal";

/// The tenant a scenario runs against (the crate's emulator, in this process, or the
/// `oob-auth-emulator` server binary), as Authsignal's own commands over a [`Controller`].
pub struct Emu {
    ctl: Controller,
    /// The crate's emulator (none against the server binary).
    local: Option<Emulator>,
}

/// The platform, how to reach it, and a tag that makes the scenario's names unique on a
/// shared server.
pub struct Setup {
    pub emu: Emu,
    /// The Server API's URL (with `/v1`).
    pub api_url: BaseUrl,
    /// The server's root (CallConnect, the challenge page).
    pub root_url: BaseUrl,
    /// The default tenant's secret key.
    pub secret: SecretKey,
    /// The default tenant's id.
    pub tenant_id: String,
    /// The client's HTTP client when it calls the model in process.
    in_process: Option<Arc<dyn HttpClient>>,
    /// Appended to user ids, idempotency keys and references (empty on a fresh emulator).
    tag: String,
}

impl Setup {
    /// A client builder for the default tenant (URL, key, and the in-process HTTP client when
    /// the scenario runs in process).
    pub fn builder(&self) -> ClientBuilder {
        let b = Client::builder(self.secret.clone()).base_url(self.api_url.as_str());
        match &self.in_process {
            Some(http) => b.http_client(http.clone()),
            None => b,
        }
    }

    /// The in-process HTTP client, when the scenario runs in process (for clients made with
    /// other keys or URLs).
    pub fn builder_http(&self) -> Option<Arc<dyn HttpClient>> {
        self.in_process.clone()
    }

    /// A client for the default tenant.
    pub fn client(&self) -> Client {
        self.builder().build().unwrap()
    }

    /// `name`, unique to this scenario.
    pub fn name(&self, name: &str) -> String {
        format!("{name}{}", self.tag)
    }

    /// The user id `name`, unique to this scenario.
    pub fn uid(&self, name: &str) -> UserId {
        UserId::new(self.name(name)).unwrap()
    }

    /// The server's address, for a proxy in front of it.
    pub fn addr(&self) -> SocketAddr {
        let url = self.root_url.url();
        format!("127.0.0.1:{}", url.port().unwrap())
            .parse()
            .unwrap()
    }
}

fn local_setup(emulator: Emulator, in_process: bool) -> Setup {
    Setup {
        api_url: emulator.base_url().clone(),
        root_url: emulator.call_connect_url().clone(),
        secret: emulator.secret(),
        tenant_id: emulator.tenant_id(),
        in_process: in_process.then(|| emulator.in_process()),
        emu: Emu {
            ctl: Controller::local(emulator.model()),
            local: Some(emulator),
        },
        tag: String::new(),
    }
}

/// A fresh emulator (one tenant, no rules), the client over a loopback socket.
pub async fn local() -> Setup {
    local_setup(Emulator::start().await.unwrap(), false)
}

/// A fresh emulator, the client calling its model in process (no socket).
pub async fn in_process() -> Setup {
    local_setup(Emulator::start().await.unwrap(), true)
}

/// The server binary at `OOB_EMULATOR_URL`: its tenant (URL, key, id from `GET /providers`),
/// its rules cleared, names tagged for this scenario. Fails loudly without the variable.
pub async fn binary() -> Setup {
    let (ctl, info) = Controller::connect(PROVIDER)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let field = |k: &str| info.text(k).unwrap_or_else(|e| panic!("{e}")).to_owned();
    let url = |k: &str| info.url(k).unwrap_or_else(|e| panic!("{e}"));
    let setup = Setup {
        api_url: url("api_url"),
        root_url: url("base_url"),
        secret: SecretKey::new(field("secret_key")),
        tenant_id: field("tenant_id"),
        in_process: None,
        emu: Emu { ctl, local: None },
        tag: unique(""),
    };
    // The rules are the tenant's: each scenario starts with none, as on a fresh emulator.
    setup.emu.set_rules(&[]).await.unwrap();
    setup
}

impl Emu {
    /// Replaces the default tenant's rules.
    pub async fn set_rules(&self, rules: &[Rule]) -> Result<(), RemoteError> {
        let rules = Value::Array(rules.iter().map(Rule::to_json).collect());
        self.ctl
            .control(Control::SetRules { rules })
            .await
            .map(drop)
    }

    /// The user passes the challenge of the action with idempotency key `key`, or the
    /// operator approves its review: the command's answer.
    pub async fn approve(&self, key: &IdempotencyKey) -> Result<Value, RemoteError> {
        let id = key.as_str().to_owned();
        self.ctl.control(Control::Approve { id }).await
    }

    /// The user passes the challenge; the token the page would hand back.
    pub async fn complete_challenge(&self, key: &IdempotencyKey) -> ChallengeToken {
        let answer = self.approve(key).await.unwrap();
        ChallengeToken::new(answer["token"].as_str().unwrap())
    }

    /// The user fails the challenge; the token the page would hand back.
    pub async fn fail_challenge(&self, key: &IdempotencyKey) -> ChallengeToken {
        let answer = self
            .ctl
            .control(Control::Deny {
                id: key.as_str().to_owned(),
                fraud: false,
                reason: None,
            })
            .await
            .unwrap();
        ChallengeToken::new(answer["token"].as_str().unwrap())
    }

    /// The next authenticated request gets `status` (and `Retry-After`).
    pub async fn inject(&self, status: u16, retry_after: Option<u64>) -> Result<(), RemoteError> {
        let mut fault = Fault::status(status);
        if let Some(secs) = retry_after {
            fault = fault.retry_after(secs);
        }
        self.ctl
            .control(Control::InjectFault { fault })
            .await
            .map(drop)
    }

    /// The code of an OTP challenge.
    pub async fn otp_code(&self, challenge: &ChallengeId) -> VerificationCode {
        let answer = self
            .ctl
            .provider(json!({ "otp_code": challenge.as_str() }))
            .await
            .unwrap();
        VerificationCode::new(answer["code"].as_str().unwrap())
    }

    /// The state a CallConnect call was finished with.
    pub async fn call_state(&self, reference: &str) -> Option<String> {
        let answer = self
            .ctl
            .provider(json!({ "call_state": reference }))
            .await
            .unwrap();
        answer["state"].as_str().map(str::to_owned)
    }

    /// What the emulator holds (`actions`, `pending_webhooks`, `track_requests`, …).
    pub async fn stats(&self) -> Value {
        self.ctl.provider(json!({"stats": true})).await.unwrap()
    }

    /// One number of [`Emu::stats`].
    pub async fn stat(&self, name: &str) -> u64 {
        let stats = self.stats().await;
        stats[name]
            .as_u64()
            .unwrap_or_else(|| panic!("no {name} in {stats}"))
    }

    /// The newest entry of the request log (as JSON; `null` when it is empty).
    pub async fn last_request(&self) -> Value {
        let log = self
            .ctl
            .control(Control::ReadLog { limit: Some(1) })
            .await
            .unwrap();
        log.as_array()
            .unwrap()
            .last()
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// Webhooks go to `url` from now on.
    pub async fn set_webhook_url(&self, url: &str) -> Result<(), RemoteError> {
        self.ctl
            .provider(json!({ "webhook_url": url }))
            .await
            .map(drop)
    }

    /// The server binary sends webhooks on its own after every request and command; `false`
    /// holds them until [`Emu::deliver_webhooks`] (the crate's emulator always holds them).
    pub async fn auto_deliver(&self, on: bool) -> Result<(), RemoteError> {
        if self.ctl.is_remote() {
            self.ctl
                .provider(json!({ "auto_deliver": on }))
                .await
                .map(drop)
        } else {
            Ok(())
        }
    }

    /// Drops the webhooks waiting for delivery (needs a webhook URL).
    pub async fn discard_webhooks(&self) -> Result<(), RemoteError> {
        self.ctl
            .provider(json!({"take_webhooks": true}))
            .await
            .map(drop)
    }

    /// Signs webhooks with a new secret as well as the tenant's; returns it.
    pub async fn rotate_webhook_secret(&self) -> SecretKey {
        let answer = self.ctl.control(Control::RotateKeys).await.unwrap();
        SecretKey::new(answer["webhook_secret"].as_str().unwrap())
    }

    /// Posts the waiting webhooks to the webhook URL; the statuses.
    pub async fn deliver_webhooks(&self) -> Vec<u16> {
        match &self.local {
            Some(e) => e.deliver_webhooks().await.unwrap(),
            None => {
                let answer = self
                    .ctl
                    .provider(json!({"deliver_webhooks": true}))
                    .await
                    .unwrap();
                serde_json::from_value(answer["delivered"].clone()).unwrap()
            }
        }
    }
}
