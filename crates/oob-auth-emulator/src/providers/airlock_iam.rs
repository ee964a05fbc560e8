//! Airlock IAM: the Loginapp REST API with the emulator's default users (password
//! `password1`; see the `airlock-iam` crate's emulator docs) plus the ones added here. A
//! pending Airlock 2FA request is approved on the phone page; its id is the user's name.
//!
//! `add_user` details: `{"password": "…", "factor": "mobile_only" | "one_touch" | "otp" |
//! "online_qr" | "none"}` (default: password `password1`, One-Touch).
//! Provider commands: `{"passcode": "<user>"}` reads the user's current passcode / OTP.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use airlock_iam::emulator::{DEFAULT_PASSWORD, EmulatedUser, Emulator, SecondFactor};
use auth_core::emulator::{Control, ControlError, Model, PendingStepUp};
use auth_core::{HttpRequest, HttpResponse};
use serde_json::{Map, Value, json};

use super::proxy::Upstream;
use super::{Built, Ctx};
use crate::{Provider, StartError};

const P: Provider = Provider::AirlockIam;
const DEFAULT_USERS: [&str; 9] = [
    "jdoe", "alice", "bob", "carol", "dave", "erin", "frank", "grace", "locked",
];

pub(crate) async fn build(ctx: &Ctx<'_>) -> Result<Built, StartError> {
    let emulator = Emulator::builder()
        .clock(ctx.shared_clock())
        .start()
        .await;
    emulator.set_retention(
        ctx.log_capacity,
        airlock_iam::emulator::DEFAULT_SESSION_CAPACITY,
    );
    let upstream = Upstream::new(P, &emulator.uri())?;
    let mut info = Map::new();
    info.insert("loginapp_path".into(), json!("/auth"));
    info.insert("default_password".into(), json!(DEFAULT_PASSWORD));
    info.insert("default_users".into(), json!(DEFAULT_USERS));
    Ok(Built {
        model: Arc::new(Airlock {
            emulator,
            upstream,
            users: Mutex::new(DEFAULT_USERS.iter().map(|u| (*u).to_owned()).collect()),
        }),
        api_path: "/auth",
        info,
    })
}

struct Airlock {
    emulator: Emulator,
    upstream: Upstream,
    users: Mutex<Vec<String>>,
}

impl Airlock {
    fn settle(&self, user: &str, done: bool) -> Result<Value, ControlError> {
        if done {
            Ok(json!({"id": user}))
        } else {
            Err(ControlError::NotFound {
                what: "pending 2FA request of user",
                id: user.to_owned(),
            })
        }
    }
}

#[async_trait::async_trait]
impl Model for Airlock {
    fn provider(&self) -> &'static str {
        "airlock-iam"
    }

    async fn handle(&self, request: HttpRequest) -> HttpResponse {
        self.upstream.forward(request).await
    }

    fn control(&self, command: Control) -> Result<Value, ControlError> {
        match command {
            Control::AddUser { user, details } => {
                let password = details
                    .get("password")
                    .and_then(Value::as_str)
                    .unwrap_or(DEFAULT_PASSWORD);
                let factor = match details.get("factor").and_then(Value::as_str) {
                    None | Some("one_touch") => SecondFactor::OneTouch,
                    Some("mobile_only") => SecondFactor::MobileOnly,
                    Some("otp") => SecondFactor::Otp,
                    Some("online_qr") => SecondFactor::OnlineQr,
                    Some("none") => SecondFactor::None,
                    Some(other) => {
                        return Err(ControlError::Invalid(format!("unknown factor `{other}`")));
                    }
                };
                self.emulator
                    .add_user(EmulatedUser::new(&user, password, factor));
                let mut users = auth_core::sync::lock(&self.users);
                if !users.contains(&user) {
                    users.push(user.clone());
                }
                Ok(json!({"user": user}))
            }
            Control::Approve { id } => self.settle(&id, self.emulator.approve(&id)),
            Control::Deny { id, .. } => self.settle(&id, self.emulator.reject(&id)),
            Control::Expire { id } => self.settle(&id, self.emulator.time_out(&id)),
            Control::Provider { body } => {
                let user = body
                    .get("passcode")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        ControlError::Invalid("airlock-iam's provider command: {\"passcode\": \"<user>\"}".into())
                    })?;
                let code = self.emulator.passcode(user).ok_or_else(|| ControlError::NotFound {
                    what: "user",
                    id: user.to_owned(),
                })?;
                Ok(json!({"user": user, "passcode": code}))
            }
            other => Err(ControlError::Unsupported {
                provider: "airlock-iam",
                command: other.name(),
            }),
        }
    }

    fn pending(&self) -> Vec<PendingStepUp> {
        let users = auth_core::sync::lock(&self.users).clone();
        users
            .into_iter()
            .filter(|u| self.emulator.pending_count(u) > 0)
            .map(|u| {
                PendingStepUp::new(
                    "airlock-iam",
                    u.as_str(),
                    u.as_str(),
                    "Do you want to log in?",
                    SystemTime::now(),
                )
                .with_title("Airlock 2FA")
            })
            .collect()
    }
}
