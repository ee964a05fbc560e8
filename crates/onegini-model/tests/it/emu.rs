//! The Token Server a conformance scenario runs against, through one test-side API: the crate's
//! model over a loopback socket or in process (a [`World`] with fake clocks), or the
//! `oob-auth-emulator` server binary (its control URL in `OOB_EMULATOR_URL`), driven through
//! the control API.
//!
//! Auth-core's [`Controller`] runs the control commands either way; [`Server`] adds the Token
//! Server's administrator commands on top.
//!
//! The server is shared by every scenario of a run (one at a time): each scenario's IdP users
//! are its own (unique names), the client ids it counts are the ones registered since it began,
//! and its setup puts the app's version status, development mode and PIN maximum back first.
//! The device's clock is a fake clock showing the server's time (plus a skew, if asked).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_core::emulator::testing::Controller;
pub use auth_core::emulator::testing::{Wire, unique};
use auth_core::emulator::{Control, ControlError};
use auth_core::{FakeClock, HttpClient, HttpConfig, HttpRequest, HttpResponse};
use onegini_model::emulator::{AdminCommand, Consent, EmulatedBrowser, TokenServer, VersionStatus};
use onegini_model::testing::ScriptedUser;
use onegini_model::{Client, ClientId, MemoryStorage, Storage, UserProfile};
use serde_json::{Value, json};

use crate::common::{self, APP, PLATFORM, REDIRECT, SIGNATURE, VERSION, World};

/// The provider's name at the server.
pub const PROVIDER: &str = "onegini-model";

/// A scenario's world: the device (client, storage, clock) and the Token Server behind it.
pub struct Setup {
    /// The device's client.
    pub client: Client,
    /// Its storage.
    pub storage: Arc<MemoryStorage>,
    /// The device's clock.
    pub device_clock: FakeClock,
    /// The Token Server (its administrator's side).
    pub server: Server,
    net: common::Wire,
    signature: String,
    clients_before: Vec<ClientId>,
    /// The local world's emulator, kept serving.
    _world: Option<onegini_model::emulator::Emulator>,
}

/// The Token Server, as its administrator (and the test) sees it.
pub struct Server {
    /// Runs the control commands on it.
    ctl: Controller,
    side: Side,
}

/// Which Token Server.
enum Side {
    /// The crate's model (its clock a fake one the test moves).
    Local {
        /// The model.
        model: Arc<TokenServer>,
        /// Its clock.
        clock: FakeClock,
    },
    /// The server binary.
    Remote {
        /// Every request the scenario's clients and browsers sent it.
        sent: Arc<Recorder>,
    },
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.side {
            Side::Local { model, .. } => model.fmt(f),
            Side::Remote { .. } => self.ctl.fmt(f),
        }
    }
}

impl Setup {
    /// The Token Server on `wire`, the device's clock on the server's time.
    pub async fn start(wire: Wire) -> Setup {
        Setup::with_device_offset(wire, 0).await
    }

    /// The same, the device's clock `device_offset_secs` off the server's.
    pub async fn with_device_offset(wire: Wire, device_offset_secs: i64) -> Setup {
        match wire {
            Wire::Socket => {
                Setup::local(World::with(common::app_config(), device_offset_secs).await)
            }
            Wire::InProcess => {
                assert_eq!(device_offset_secs, 0, "in process: no skew");
                Setup::local(World::in_process().await)
            }
            Wire::Binary => Setup::remote(device_offset_secs).await,
        }
    }

    fn local(world: World) -> Setup {
        let World {
            emu,
            wire: net,
            server,
            server_clock,
            device_clock,
            storage,
            client,
        } = world;
        Setup {
            client,
            storage,
            device_clock,
            server: Server {
                ctl: Controller::local(server.clone()),
                side: Side::Local {
                    model: server,
                    clock: server_clock,
                },
            },
            net,
            signature: SIGNATURE.to_owned(),
            clients_before: Vec::new(),
            _world: emu,
        }
    }

    async fn remote(device_offset_secs: i64) -> Setup {
        let (ctl, info) = Controller::connect(PROVIDER)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let text = |key: &str| info.text(key).unwrap_or_else(|e| panic!("{e}")).to_owned();
        for (key, want) in [
            ("identifier", APP),
            ("redirect_uri", REDIRECT),
            ("version", VERSION),
            ("platform", PLATFORM),
        ] {
            assert_eq!(
                text(key),
                want,
                "the server's onegini-model app is not the default one ({key})"
            );
        }
        let sent = Arc::new(Recorder {
            inner: Arc::new(auth_core::ReqwestClient::new(&HttpConfig::default()).unwrap()),
            sent: Mutex::new(Vec::new()),
        });
        let net = common::Wire {
            base: info.url("base_url").unwrap(),
            http: Some(sent.clone()),
        };
        let now = ctl.now().await.unwrap();
        let skew = Duration::from_secs(device_offset_secs.unsigned_abs());
        let device_clock = FakeClock::new(if device_offset_secs < 0 {
            now - skew
        } else {
            now + skew
        });
        let storage = Arc::new(MemoryStorage::new());
        let signature = text("application_signature");
        let client = common::make_client(&net, storage.clone(), &device_clock, &signature, true);
        let server = Server {
            ctl,
            side: Side::Remote { sent },
        };
        for command in [
            AdminCommand::SetVersionStatus {
                version: VERSION.into(),
                platform: PLATFORM.into(),
                status: VersionStatus::Enabled,
            },
            AdminCommand::SetDevelopmentMode {
                version: VERSION.into(),
                platform: PLATFORM.into(),
                development_mode: false,
            },
            AdminCommand::SetMaxPinFailures { max: 3 },
        ] {
            server.admin(command).await.unwrap();
        }
        let clients_before = server.client_ids().await;
        Setup {
            client,
            storage,
            device_clock,
            server,
            net,
            signature,
            clients_before,
            _world: None,
        }
    }

    /// The signature of the app the Token Server knows.
    pub fn signature(&self) -> &str {
        &self.signature
    }

    /// An IdP user of this scenario alone, with password `<name>-password`.
    pub async fn user(&self, prefix: &str) -> String {
        let name = unique(prefix);
        self.server
            .add_user(&name, &format!("{name}-password"))
            .await;
        name
    }

    /// A device client on this world's wire.
    pub fn client_on(
        &self,
        storage: Arc<dyn Storage>,
        clock: &FakeClock,
        signature: &str,
        fingerprint: bool,
    ) -> Client {
        common::make_client(&self.net, storage, clock, signature, fingerprint)
    }

    /// A device client of a version the Token Server does not know.
    pub fn client_of_version(&self, version: &str) -> Client {
        let config = common::client_config(&self.signature)
            .app_version(version)
            .pbkdf2_iterations(1_000)
            .build()
            .unwrap();
        let mut builder = Client::builder(config, Arc::new(MemoryStorage::new()))
            .base_url(&self.net.base)
            .clock(Arc::new(self.device_clock.clone()));
        if let Some(http) = &self.net.http {
            builder = builder.http_client(http.clone());
        }
        builder.build().unwrap()
    }

    /// A browser on this world's wire that logs in as `user` and answers the consent.
    pub fn browser_with(&self, user: &str, password: &str, consent: Consent) -> EmulatedBrowser {
        self.net.browser_with(user, password, consent)
    }

    /// A browser that logs in as `user` with the right password and allows.
    pub fn browser(&self, user: &str) -> EmulatedBrowser {
        self.net.browser(user)
    }

    /// Registers `user` at the IdP with `PIN`; returns the profile.
    pub async fn register(&self, user: &str) -> (UserProfile, ScriptedUser) {
        self.net.register(&self.client, user).await
    }

    /// Moves the device's and the server's clocks.
    pub async fn advance(&self, by: Duration) {
        self.device_clock.advance(by);
        match &self.server.side {
            Side::Local { clock, .. } => clock.advance(by),
            Side::Remote { .. } => {
                assert_eq!(by.subsec_nanos(), 0, "the server's clock moves in seconds");
                self.server.ctl.advance_clock(by.as_secs()).await.unwrap();
            }
        }
    }

    /// The client ids registered at the server since the scenario began.
    pub async fn new_client_ids(&self) -> Vec<ClientId> {
        self.server
            .client_ids()
            .await
            .into_iter()
            .filter(|id| !self.clients_before.contains(id))
            .collect()
    }
}

impl Server {
    /// An administrator command (the model's [`AdminCommand`]) through the control vocabulary.
    async fn admin(&self, command: AdminCommand) -> Result<Value, ControlError> {
        self.control(command.into()).await
    }

    /// A control command.
    pub async fn control(&self, command: Control) -> Result<Value, ControlError> {
        self.ctl
            .answer(command)
            .await
            .unwrap_or_else(|e| panic!("the emulator server: {e}"))
    }

    async fn add_user(&self, user: &str, password: &str) {
        match &self.side {
            Side::Local { model, .. } => {
                model.add_user(user, password);
            }
            Side::Remote { .. } => {
                self.control(Control::AddUser {
                    user: user.to_owned(),
                    details: json!({"password": password}),
                })
                .await
                .unwrap_or_else(|e| panic!("add_user {user}: {e}"));
            }
        }
    }

    /// Registered client ids.
    pub async fn client_ids(&self) -> Vec<ClientId> {
        match &self.side {
            Side::Local { model, .. } => model.client_ids(),
            Side::Remote { .. } => {
                serde_json::from_value(self.admin(AdminCommand::ClientIds).await.unwrap()).unwrap()
            }
        }
    }

    /// The user's live `(pin, fingerprint)` refresh tokens.
    pub async fn active_refresh_tokens(&self, user: &str) -> (usize, usize) {
        match &self.side {
            Side::Local { model, .. } => model.active_refresh_tokens(user),
            Side::Remote { .. } => {
                let v = self.active_tokens(user).await;
                let n = |k: &str| v[k].as_u64().unwrap() as usize;
                (n("pin_refresh"), n("fingerprint_refresh"))
            }
        }
    }

    /// The user's live access tokens.
    pub async fn active_access_tokens(&self, user: &str) -> usize {
        match &self.side {
            Side::Local { model, .. } => model.active_access_tokens(user),
            Side::Remote { .. } => {
                self.active_tokens(user).await["access"].as_u64().unwrap() as usize
            }
        }
    }

    async fn active_tokens(&self, user: &str) -> Value {
        self.admin(AdminCommand::ActiveTokens { user: user.into() })
            .await
            .unwrap()
    }

    /// Failed PIN attempts on the user's live PIN refresh token(s).
    pub async fn failed_pin_attempts(&self, user: &str) -> Option<u32> {
        match &self.side {
            Side::Local { model, .. } => model.failed_pin_attempts(user),
            Side::Remote { .. } => serde_json::from_value(
                self.admin(AdminCommand::FailedPinAttempts { user: user.into() })
                    .await
                    .unwrap(),
            )
            .unwrap(),
        }
    }

    /// Revokes every token of `user`.
    pub async fn revoke_user_tokens(&self, user: &str) {
        match &self.side {
            Side::Local { model, .. } => assert!(model.revoke_user_tokens(user)),
            Side::Remote { .. } => {
                self.admin(AdminCommand::RevokeUserTokens { user: user.into() })
                    .await
                    .unwrap();
            }
        }
    }

    /// Revokes only the fingerprint tokens of `user`.
    pub async fn revoke_fingerprint_tokens(&self, user: &str) {
        match &self.side {
            Side::Local { model, .. } => {
                model.revoke_fingerprint_tokens(user).unwrap();
            }
            Side::Remote { .. } => {
                self.admin(AdminCommand::RevokeFingerprintTokens { user: user.into() })
                    .await
                    .unwrap();
            }
        }
    }

    /// Removes a device registration.
    pub async fn delete_client(&self, client_id: &ClientId) {
        match &self.side {
            Side::Local { model, .. } => assert!(model.delete_client(client_id)),
            Side::Remote { .. } => {
                self.admin(AdminCommand::DeleteClient {
                    client_id: client_id.as_str().to_owned(),
                })
                .await
                .unwrap();
            }
        }
    }

    /// Changes an app version's status.
    pub async fn set_version_status(&self, version: &str, platform: &str, status: VersionStatus) {
        match &self.side {
            Side::Local { model, .. } => {
                model.set_version_status(version, platform, status);
            }
            Side::Remote { .. } => {
                self.admin(AdminCommand::SetVersionStatus {
                    version: version.into(),
                    platform: platform.into(),
                    status,
                })
                .await
                .unwrap();
            }
        }
    }

    /// Turns an app version's development mode on or off.
    pub async fn set_development_mode(&self, version: &str, platform: &str, on: bool) {
        match &self.side {
            Side::Local { model, .. } => {
                model.set_development_mode(version, platform, on);
            }
            Side::Remote { .. } => {
                self.admin(AdminCommand::SetDevelopmentMode {
                    version: version.into(),
                    platform: platform.into(),
                    development_mode: on,
                })
                .await
                .unwrap();
            }
        }
    }

    /// Changes the maximum number of wrong PIN attempts.
    pub async fn set_max_pin_failures(&self, max: u32) {
        match &self.side {
            Side::Local { model, .. } => model.set_max_pin_failures(max),
            Side::Remote { .. } => {
                self.admin(AdminCommand::SetMaxPinFailures { max })
                    .await
                    .unwrap();
            }
        }
    }

    /// The server's event log.
    pub async fn events(&self) -> Vec<String> {
        match &self.side {
            Side::Local { model, .. } => model.events(),
            Side::Remote { .. } => {
                serde_json::from_value(self.admin(AdminCommand::Events).await.unwrap()).unwrap()
            }
        }
    }

    /// The requests received, as `METHOD TARGET BODY` text: the model's own record, or (the
    /// server binary has none on its control API: bodies carry tokens) what this scenario's
    /// clients and browsers sent it, recorded on the way.
    pub async fn received_bodies(&self) -> Vec<String> {
        match &self.side {
            Side::Local { model, .. } => model.received_bodies(),
            Side::Remote { sent, .. } => sent.sent.lock().unwrap().clone(),
        }
    }
}

/// An `HttpClient` that records every request (`METHOD TARGET BODY`) on its way to another.
pub struct Recorder {
    inner: Arc<dyn HttpClient>,
    sent: Mutex<Vec<String>>,
}

#[auth_core::async_trait]
impl HttpClient for Recorder {
    async fn execute(
        &self,
        request: HttpRequest,
    ) -> Result<HttpResponse, auth_core::TransportError> {
        let target = request
            .uri()
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        self.sent.lock().unwrap().push(format!(
            "{} {target} {}",
            request.method(),
            String::from_utf8_lossy(request.body())
        ));
        self.inner.execute(request).await
    }
}
