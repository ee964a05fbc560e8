//! The Token Server model as an `auth_core::emulator::Model`: the control vocabulary (users,
//! the IdP's login sessions as pending step-ups, faults, the clock, the log, the
//! administrator's commands), what it refuses, and the bounds on what it keeps.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auth_core::emulator::{Control, ControlError, InProcess, Model};
use auth_core::{
    Classify, Clock, ErrorKind, FakeClock, HttpClient, HttpConfig, ReqwestClient, SharedClock,
};
use onegini_model::emulator::{
    AdminCommand, Emulator, EmulatorClock, MAX_RECORDS, TokenServer, VersionStatus,
};
use onegini_model::testing::ScriptedUser;
use onegini_model::{
    BrowserRegistrationAnswer, BrowserRegistrationHandler, Client, MemoryStorage, wire,
};
use serde_json::{Value, json};
use url::Url;

use crate::common::*;

/// The user at the IdP's pages, driven by hand: opens the authorization URL, logs in on the
/// login page (or not), then leaves the answer to the control API.
struct ControlledBrowser {
    http: ReqwestClient,
    emu: Arc<Emulator>,
    log_in_as: Option<(&'static str, &'static str)>,
    approve: bool,
}

impl ControlledBrowser {
    async fn get(&self, url: &Url) -> (u16, Option<String>) {
        let request = http::Request::get(url.as_str()).body(Vec::new()).unwrap();
        let response = self.http.execute(request).await.unwrap();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        (response.status().as_u16(), location)
    }
}

#[async_trait]
impl BrowserRegistrationHandler for ControlledBrowser {
    async fn start_registration(&self, url: Url) -> BrowserRegistrationAnswer {
        let (status, location) = self.get(&url).await;
        assert_eq!(status, 302);
        let login = url.join(&location.unwrap()).unwrap();
        // The login page is a real HTML form.
        let page = self
            .http
            .execute(http::Request::get(login.as_str()).body(Vec::new()).unwrap())
            .await
            .unwrap();
        assert!(
            page.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let html = String::from_utf8(page.body().clone()).unwrap();
        assert!(
            html.contains("<form method=post action=/idp/login>"),
            "{html}"
        );
        let session = login
            .query_pairs()
            .find(|(k, _)| k == "session")
            .unwrap()
            .1
            .into_owned();
        let pending = self.emu.pending();
        assert_eq!(pending.len(), 1, "{pending:?}");
        assert_eq!(
            (pending[0].id.as_str(), pending[0].title.as_str()),
            (session.as_str(), "Log in")
        );
        if let Some((user, password)) = self.log_in_as {
            let form = wire::form(&[
                ("session", &session),
                ("username", user),
                ("password", password),
            ]);
            let request = http::Request::post(login.as_str())
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form.into_bytes())
                .unwrap();
            assert_eq!(self.http.execute(request).await.unwrap().status(), 302);
            // Logged in: the session now waits for the user's consent.
            let pending = self.emu.pending();
            assert_eq!(
                (
                    pending[0].user.as_str(),
                    pending[0].title.as_str(),
                    pending[0].page.clone().unwrap()
                ),
                (
                    user,
                    "Consent",
                    format!("/oauth/v1/consent?session={session}")
                )
            );
            assert_eq!(pending[0].message, "The app asks for: read");
        }
        let command = if self.approve {
            Control::Approve { id: session }
        } else {
            Control::Deny {
                id: session,
                fraud: false,
                reason: None,
            }
        };
        let answer = self.emu.control(command).unwrap();
        let redirect = Url::parse(answer["redirect"].as_str().unwrap()).unwrap();
        assert!(self.emu.pending().is_empty());
        BrowserRegistrationAnswer::Callback(redirect)
    }
}

fn http() -> ReqwestClient {
    ReqwestClient::new(&HttpConfig::default()).unwrap()
}

async fn emulator() -> (Arc<Emulator>, FakeClock) {
    let clock = FakeClock::at_unix(T0);
    let emu = Emulator::builder()
        .app(app_config())
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    (Arc::new(emu), clock)
}

fn client(emu: &Emulator, clock: &FakeClock) -> Client {
    let config = emu
        .client_config()
        .pbkdf2_iterations(1_000)
        .build()
        .unwrap();
    Client::builder(config, Arc::new(MemoryStorage::new()))
        .base_url(emu.base_url())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap()
}

#[tokio::test]
async fn users_and_the_idp_answers_come_through_the_control_api() {
    let (emu, clock) = emulator().await;
    let err = emu
        .control(Control::AddUser {
            user: "alice".into(),
            details: json!({}),
        })
        .unwrap_err();
    assert!(matches!(err, ControlError::Invalid(_)), "{err}");
    let added = emu
        .control(Control::AddUser {
            user: "alice".into(),
            details: json!({"password": "alice-password"}),
        })
        .unwrap();
    assert_eq!(added["user"], "alice");
    assert!(added["user_id"].as_str().unwrap().starts_with("user-"));

    // Approve: the user logged in on the page, then consented through the control API.
    let device = client(&emu, &clock);
    let browser = ControlledBrowser {
        http: http(),
        emu: emu.clone(),
        log_in_as: Some(("alice", "alice-password")),
        approve: true,
    };
    let profile = device
        .register_user(&["read"], &browser, &ScriptedUser::typing([PIN]))
        .await
        .unwrap();
    assert!(device.fetch_user_resource().await.is_ok());

    // Deny, before logging in: the app gets `access_denied` (9006).
    let browser = ControlledBrowser {
        http: http(),
        emu: emu.clone(),
        log_in_as: None,
        approve: false,
    };
    let err = device
        .register_user(&["read"], &browser, &ScriptedUser::typing([PIN]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), 9006, "{err}");
    assert_eq!(device.user_profiles().unwrap(), [profile].into());

    // Approving needs a user who logged in; unknown or expired sessions are not found.
    let session = start_login(&emu, &device).await;
    let err = emu
        .control(Control::Approve {
            id: session.clone(),
        })
        .unwrap_err();
    assert!(matches!(err, ControlError::Conflict(_)), "{err}");
    emu.control(Control::Expire {
        id: session.clone(),
    })
    .unwrap();
    assert!(emu.pending().is_empty());
    let err = emu.control(Control::Approve { id: session }).unwrap_err();
    assert!(matches!(err, ControlError::NotFound { .. }), "{err}");
    assert_eq!(err.status(), 404);
}

/// Starts a registration's browser step by hand; returns the login session waiting at the IdP.
async fn start_login(emu: &Emulator, device: &Client) -> String {
    device.pin_policy().await.unwrap(); // DCR
    let client_id = device.client_id().unwrap().unwrap();
    let mut url = emu.base_url().join(wire::AUTHORIZE_PATH);
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id.as_str())
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("state", "s1");
    let response = http()
        .execute(http::Request::get(url.as_str()).body(Vec::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let pending = emu.pending();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        emu.control(Control::ListPending).unwrap(),
        serde_json::to_value(&pending).unwrap()
    );
    pending[0].id.clone()
}

#[tokio::test]
async fn injected_faults_reach_the_client_classified() {
    let (emu, clock) = emulator().await;
    emu.model().add_user("alice", "alice-password");
    let device = client(&emu, &clock);
    let browser = emu
        .browser(
            "alice",
            "alice-password",
            onegini_model::emulator::Consent::Allow,
        )
        .unwrap();
    let profile = device
        .register_user(&["read"], &browser, &ScriptedUser::typing([PIN]))
        .await
        .unwrap();
    device.logout().await.unwrap();
    let fault = |status: u16, retry_after: Option<u64>| {
        let fault =
            json!({"path_contains": "/token", "status": status, "retry_after": retry_after});
        Control::InjectFault {
            fault: serde_json::from_value(fault).unwrap(),
        }
    };

    // A 429 with a hint: rate limited, the hint kept; nothing was counted against the PIN.
    emu.control(fault(429, Some(7))).unwrap();
    let err = device
        .authenticate_user(&profile, &ScriptedUser::typing([PIN]), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(Classify::http_status(&err), Some(429));
    assert!(err.is_retryable());
    assert_eq!(emu.model().failed_pin_attempts("alice"), Some(0));

    // A 503: the server failed (retryable), not an OAuth answer.
    emu.control(fault(503, None)).unwrap();
    let err = device
        .authenticate_user(&profile, &ScriptedUser::typing([PIN]), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert_eq!(Classify::http_status(&err), Some(503));
    assert!(err.is_retryable());

    // The faults are used up: the next login works.
    device
        .authenticate_user(&profile, &ScriptedUser::typing([PIN]), None)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_clock_moves_through_the_control_api() {
    let (emu, clock) = emulator().await;
    emu.model().add_user("alice", "alice-password");
    // The device has its own clock, which stays; only the server's moves.
    let device = client(&emu, &FakeClock::at_unix(T0));
    let browser = emu
        .browser(
            "alice",
            "alice-password",
            onegini_model::emulator::Consent::Allow,
        )
        .unwrap();
    device
        .register_user(&["read"], &browser, &ScriptedUser::typing([PIN]))
        .await
        .unwrap();
    let moved = emu.control(Control::AdvanceClock { seconds: 901 }).unwrap();
    assert_eq!(moved["now"].as_f64(), Some((T0 + 901) as f64));
    assert_eq!(
        clock.now(),
        std::time::UNIX_EPOCH + Duration::from_secs(T0 + 901)
    );
    // The access token expired at the server: 9010.
    let err = device.fetch_user_resource().await.unwrap_err();
    assert_eq!(err.code(), 9010, "{err}");

    // The default clock is real time plus an offset that moves.
    let real = Emulator::start().await.unwrap();
    let before = real.model().clock().now();
    real.control(Control::AdvanceClock { seconds: 3600 })
        .unwrap();
    let after = real.model().clock().now();
    assert!(after.duration_since(before).unwrap() >= Duration::from_secs(3600));
    assert!(matches!(real.model().clock(), EmulatorClock::Offset(_)));
    // A clock the model does not own cannot be moved.
    let shared: SharedClock = Arc::new(FakeClock::at_unix(T0));
    let model = TokenServer::new(app_config(), shared);
    let err = model
        .control(Control::AdvanceClock { seconds: 1 })
        .unwrap_err();
    assert!(matches!(err, ControlError::Conflict(_)), "{err}");
}

#[tokio::test]
async fn the_request_log_is_bounded_and_has_no_bodies_or_query_secrets() {
    let w = World::new().await;
    w.register("alice").await;
    let log = w.emu().control(Control::ReadLog { limit: None }).unwrap();
    let entries = log.as_array().unwrap();
    let paths: Vec<&str> = entries
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&wire::DCR_PATH), "{paths:?}");
    let authorize = entries
        .iter()
        .find(|e| {
            e["path"]
                .as_str()
                .unwrap()
                .starts_with(wire::AUTHORIZE_PATH)
        })
        .unwrap();
    assert_eq!(authorize["method"], "GET");
    assert_eq!(authorize["status"], 302);
    // The query (state, PKCE challenge, client id) is redacted; no entry has a body.
    for path in &paths {
        if let Some((_, query)) = path.split_once('?') {
            assert!(
                query.split('&').all(|pair| pair.ends_with("=[redacted]")),
                "{path}"
            );
        }
    }
    assert!(
        authorize["path"]
            .as_str()
            .unwrap()
            .contains("code_challenge=[redacted]")
    );
    assert!(entries.iter().all(|e| e.get("body").is_none()));
    let last = w
        .emu()
        .control(Control::ReadLog { limit: Some(1) })
        .unwrap();
    assert_eq!(last.as_array().unwrap().len(), 1);
    assert_eq!(&last[0], entries.last().unwrap());
}

#[tokio::test]
async fn the_administrator_commands_are_json() {
    let w = World::new().await;
    let (profile, _) = w.register("alice").await;
    w.client.register_fingerprint().await.unwrap();
    let emu = w.emu();
    let admin = |body: Value| emu.control(Control::Provider { body });

    let ids = admin(json!({"command": "client_ids"})).unwrap();
    let client_id = w.client.client_id().unwrap().unwrap();
    assert_eq!(ids, json!([client_id.as_str()]));
    assert_eq!(
        admin(json!({"command": "active_tokens", "user": "alice"})).unwrap(),
        json!({"pin_refresh": 1, "fingerprint_refresh": 1, "access": 1})
    );
    assert_eq!(
        admin(json!({"command": "failed_pin_attempts", "user": "alice"})).unwrap(),
        json!(0)
    );
    let counts = admin(json!({"command": "record_counts"})).unwrap();
    assert_eq!(counts["clients"], 1);
    let events = admin(json!({"command": "events"})).unwrap();
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().contains("fingerprint registered"))
    );
    assert_eq!(
        admin(json!({"command": "revoke_fingerprint_tokens", "user": "alice"})).unwrap(),
        json!({"revoked": 1})
    );
    // The typed form is the same command.
    assert_eq!(
        Control::from(AdminCommand::SetMaxPinFailures { max: 5 }),
        Control::Provider {
            body: json!({"command": "set_max_pin_failures", "max": 5})
        }
    );
    emu.control(AdminCommand::SetMaxPinFailures { max: 5 }.into())
        .unwrap();
    w.client.logout().await.unwrap();
    let pins = ScriptedUser::typing([OTHER_PIN]);
    let err = w
        .client
        .authenticate_user(&profile, &pins, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), 9006); // the script ran out after one wrong PIN
    assert_eq!(w.server.failed_pin_attempts("alice"), Some(1));
    assert!(pins.prompts().iter().any(|p| matches!(
        p,
        onegini_model::testing::Prompt::WrongPin(c) if c.max_attempts() == 5 && c.remaining_attempts() == 4
    )));

    admin(json!({"command": "set_version_status", "version": VERSION, "platform": PLATFORM, "status": "disabled"}))
        .unwrap();
    let err = w
        .client
        .authenticate_user(&profile, &ScriptedUser::typing([PIN]), None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), 9004, "{err}");
    admin(json!({"command": "set_version_status", "version": VERSION, "platform": PLATFORM, "status": "enabled"}))
        .unwrap();
    admin(json!({"command": "revoke_user_tokens", "user": "alice"})).unwrap();
    assert_eq!(w.client.start().await.unwrap(), [profile].into());
    admin(json!({"command": "delete_client", "client_id": client_id.as_str()})).unwrap();
    assert!(admin(json!({"command": "client_ids"})).unwrap() == json!([]));
    // Development mode: a device with any signature registers, until it is off again.
    let any_signature = || {
        w.client_on(
            Arc::new(MemoryStorage::new()),
            &w.device_clock,
            "any-signature",
            false,
        )
    };
    assert!(matches!(
        any_signature().pin_policy().await,
        Err(onegini_model::Error::DeviceRegistrationError)
    ));
    let development = |on: bool| json!({"command": "set_development_mode", "version": VERSION, "platform": PLATFORM, "development_mode": on});
    assert_eq!(admin(development(true)).unwrap(), json!({}));
    any_signature().pin_policy().await.unwrap();
    admin(development(false)).unwrap();
    assert!(matches!(
        any_signature().pin_policy().await,
        Err(onegini_model::Error::DeviceRegistrationError)
    ));
    assert_eq!(
        admin(json!({"command": "client_ids"}))
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Refused: unknown users, versions and clients; bad arguments; unknown commands.
    for (body, status) in [
        (
            json!({"command": "revoke_user_tokens", "user": "mallory"}),
            404,
        ),
        (json!({"command": "active_tokens", "user": "mallory"}), 404),
        (
            json!({"command": "set_version_status", "version": "9", "platform": "ios", "status": "enabled"}),
            404,
        ),
        (
            json!({"command": "delete_client", "client_id": "NOPE"}),
            404,
        ),
        (json!({"command": "set_max_pin_failures", "max": 0}), 400),
        (
            json!({"command": "set_development_mode", "version": "9", "platform": "ios", "development_mode": true}),
            404,
        ),
        (
            json!({"command": "set_development_mode", "version": VERSION, "platform": PLATFORM}),
            400,
        ),
        (
            json!({"command": "set_version_status", "version": VERSION, "platform": PLATFORM, "status": "retired"}),
            400,
        ),
        (json!({"command": "explode"}), 400),
    ] {
        let err = admin(body.clone()).unwrap_err();
        assert_eq!(err.status(), status, "{body}: {err}");
    }
    let typed = VersionStatus::LoginEnabledRegistrationDisabled;
    assert_eq!(
        serde_json::to_value(typed).unwrap(),
        json!("login_enabled_registration_disabled")
    );
}

#[tokio::test]
async fn what_the_token_server_does_not_have_is_unsupported() {
    let (emu, _) = emulator().await;
    for command in [
        Control::Fail {
            id: "x".into(),
            reason: None,
        },
        Control::SetRules { rules: json!({}) },
        Control::RotateKeys,
    ] {
        let name = command.name();
        let err = emu.control(command).unwrap_err();
        assert_eq!(
            err,
            ControlError::Unsupported {
                provider: "onegini-model",
                command: name
            }
        );
        assert_eq!(err.status(), 501);
    }
}

#[test]
fn the_model_is_a_plain_value_with_no_socket() {
    fn send_sync_static<T: Send + Sync + 'static>() {}
    send_sync_static::<TokenServer>();
    // Built outside any runtime; usable as a `dyn Model`.
    let model: Arc<dyn Model> = Arc::new(Emulator::builder().build_model().unwrap());
    assert_eq!(model.provider(), "onegini-model");
    assert!(model.pending().is_empty());
    let client = InProcess::new(model);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let request = http::Request::post(format!("http://model.invalid{}", wire::DCR_PATH))
        .header("content-type", "application/json")
        .body(br#"{"application_identifier":"ExampleApp","application_platform":"android","application_version":"1.0.0"}"#.to_vec())
        .unwrap();
    let response = rt.block_on(client.execute(request)).unwrap();
    assert_eq!(response.status(), 200);
    let challenge: wire::DcrChallenge = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(challenge.challenge.len(), 64);
}

#[tokio::test]
async fn every_kind_of_record_has_a_ceiling() {
    // In process (no socket): a flood of DCR round 1 requests past the ceiling.
    let w = World::in_process().await;
    let http = w.wire.http.clone().unwrap();
    let first = dcr_round1(&http).await;
    for _ in 0..MAX_RECORDS + 50 {
        dcr_round1(&http).await;
    }
    let counts = w.server.record_counts();
    assert_eq!(counts.pending_dcr, MAX_RECORDS);
    // The oldest pending registration was dropped: its round 2 is refused like an expired one.
    let answer = json!({"registration_id": first, "ocra_response": "00000000"});
    let request = http::Request::post(format!("http://model.invalid{}", wire::DCR_PATH))
        .body(answer.to_string().into_bytes())
        .unwrap();
    let response = http.execute(request).await.unwrap();
    assert_eq!(response.status(), 400);
    // A device registering now still gets through.
    assert!(w.client.pin_policy().await.is_ok());
}

async fn dcr_round1(http: &Arc<dyn HttpClient>) -> String {
    let body = json!({
        "application_identifier": APP,
        "application_platform": PLATFORM,
        "application_version": VERSION,
    });
    let request = http::Request::post(format!("http://model.invalid{}", wire::DCR_PATH))
        .body(body.to_string().into_bytes())
        .unwrap();
    let response = http.execute(request).await.unwrap();
    let challenge: wire::DcrChallenge = serde_json::from_slice(response.body()).unwrap();
    challenge.registration_id
}
