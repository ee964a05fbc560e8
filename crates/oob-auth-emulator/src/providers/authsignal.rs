//! Authsignal: one tenant (its secret key generated at start, or from the settings), rules
//! set with `set_rules`, challenged actions approved on the phone page (their id is the
//! action's `idempotencyKey`).
//!
//! Settings: none yet. `add_user` details: `{"phone_number": "+64…"}` or `{"email": "…"}`
//! enrols a verified SMS or e-mail OTP authenticator (an enrolled user can be challenged);
//! without details the user gets an SMS authenticator with a made-up number.
//! Rules (`set_rules`): a list of `{"id", "action"?, "outcome": "ALLOW"|"CHALLENGE"|"REVIEW"|
//! "BLOCK", "when"?: "always" | "new_device" | {"ip_address": s} | {"custom_equals": [k, v]} |
//! {"custom_greater_than": [k, n]}, "name"?}`.
//! Provider commands: `{"webhook_url": "http://…"}` sets where events go;
//! `{"deliver_webhooks": true}` posts the queued events; `{"otp_code": "<challengeId>"}` reads
//! the code the user received.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use auth_core::emulator::{Control, ControlError, Model, PendingStepUp};
use auth_core::{Clock as _, HttpRequest, HttpResponse};
use authsignal::emulator::{Condition, Emulator, Rule, RuleOutcome};
use authsignal::{ActionCode, IdempotencyKey, UserId, VerificationMethod};
use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::proxy::Upstream;
use super::{Built, Ctx};
use crate::{Provider, StartError};

const P: Provider = Provider::Authsignal;
/// Challenged actions remembered for the phone page at most (the oldest go first).
const MAX_CHALLENGES: usize = 100_000;

pub(crate) async fn build(ctx: &Ctx<'_>) -> Result<Built, StartError> {
    let emulator = Emulator::try_start_with_clock(ctx.shared_clock())
        .await
        .map_err(|e| StartError::provider(P, e))?;
    emulator.set_retention(ctx.log_capacity, authsignal::emulator::DEFAULT_SETTLED_CAPACITY);
    let upstream = Upstream::new(P, &emulator.call_connect_url())?;
    let secret = emulator.secret().expose_secret().to_owned();
    let mut info = Map::new();
    info.insert("secret_key".into(), json!(secret));
    info.insert("tenant_id".into(), json!(emulator.tenant_id()));
    Ok(Built {
        model: Arc::new(Authsignal {
            emulator,
            upstream,
            secret,
            clock: ctx.clock.clone(),
            challenges: Mutex::new(HashMap::new()),
        }),
        api_path: "/v1",
        info,
    })
}

struct Challenged {
    user: String,
    action: String,
    created: SystemTime,
}

struct Authsignal {
    emulator: Emulator,
    upstream: Upstream,
    secret: String,
    clock: auth_core::emulator::OffsetClock,
    /// Actions whose track answered `CHALLENGE_REQUIRED`, by idempotency key.
    challenges: Mutex<HashMap<String, Challenged>>,
}

fn rule(v: &Value) -> Result<Rule, ControlError> {
    let bad = |m: &str| ControlError::Invalid(format!("rule: {m}"));
    let id = v
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("`id` is missing"))?;
    let outcome = match v.get("outcome").and_then(Value::as_str) {
        Some("ALLOW") => RuleOutcome::Allow,
        Some("CHALLENGE") => RuleOutcome::Challenge,
        Some("REVIEW") => RuleOutcome::Review,
        Some("BLOCK") => RuleOutcome::Block,
        _ => return Err(bad("`outcome` is ALLOW, CHALLENGE, REVIEW or BLOCK")),
    };
    let mut r = Rule::new(id, outcome);
    if let Some(a) = v.get("action").and_then(Value::as_str) {
        r = r.for_action(a);
    }
    if let Some(n) = v.get("name").and_then(Value::as_str) {
        r = r.named(n);
    }
    let condition = match v.get("when") {
        None | Some(Value::Null) => Condition::Always,
        Some(Value::String(s)) if s == "always" => Condition::Always,
        Some(Value::String(s)) if s == "new_device" => Condition::NewDevice,
        Some(Value::Object(o)) => {
            if let Some(ip) = o.get("ip_address").and_then(Value::as_str) {
                Condition::IpAddress(ip.to_owned())
            } else if let Some([k, val]) = o.get("custom_equals").and_then(Value::as_array).map(Vec::as_slice) {
                Condition::CustomEquals(k.as_str().unwrap_or_default().to_owned(), val.clone())
            } else if let Some([k, n]) = o
                .get("custom_greater_than")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
            {
                Condition::CustomGreaterThan(
                    k.as_str().unwrap_or_default().to_owned(),
                    n.as_f64().ok_or_else(|| bad("custom_greater_than needs a number"))?,
                )
            } else {
                return Err(bad("unknown `when`"));
            }
        }
        Some(_) => return Err(bad("unknown `when`")),
    };
    Ok(r.when(condition))
}

impl Authsignal {
    fn remember(&self, path: &str, body: &[u8]) {
        // POST /v1/users/{u}/actions/{a}
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let (user, action) = match segments.as_slice() {
            ["v1", "users", u, "actions", a] | ["users", u, "actions", a] => (*u, *a),
            _ => return,
        };
        let Ok(answer) = serde_json::from_slice::<Value>(body) else {
            return;
        };
        if answer["state"] != "CHALLENGE_REQUIRED" {
            return;
        }
        let Some(key) = answer["idempotencyKey"].as_str() else {
            return;
        };
        let decode = |s: &str| auth_core::base_url::percent_decode(s, false).unwrap_or_default();
        let mut map = auth_core::sync::lock(&self.challenges);
        if map.len() >= MAX_CHALLENGES
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, c)| c.created)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(
            key.to_owned(),
            Challenged {
                user: decode(user),
                action: decode(action),
                created: self.clock.now(),
            },
        );
    }

    fn finish(&self, id: &str, approve: bool) -> Result<Value, ControlError> {
        let (user, action) = {
            let map = auth_core::sync::lock(&self.challenges);
            let c = map.get(id).ok_or_else(|| ControlError::NotFound {
                what: "challenged action",
                id: id.to_owned(),
            })?;
            (c.user.clone(), c.action.clone())
        };
        let invalid = |e: &dyn std::fmt::Display| ControlError::Invalid(e.to_string());
        let user_id = UserId::new(user).map_err(|e| invalid(&e))?;
        let action = ActionCode::new(action).map_err(|e| invalid(&e))?;
        let key = IdempotencyKey::new(id).map_err(|e| invalid(&e))?;
        let token = if approve {
            self.emulator
                .complete_challenge(&user_id, &action, &key, VerificationMethod::Sms)
        } else {
            self.emulator.fail_challenge(&user_id, &action, &key)
        }
        .map_err(|e| ControlError::Conflict(e.to_string()))?;
        auth_core::sync::lock(&self.challenges).remove(id);
        Ok(json!({"id": id, "state": if approve { "CHALLENGE_SUCCEEDED" } else { "CHALLENGE_FAILED" }, "token": token.expose_secret()}))
    }

    fn add_user(&self, user: &str, details: &Value) -> Result<Value, ControlError> {
        let body = if let Some(email) = details.get("email").and_then(Value::as_str) {
            json!({"verificationMethod": "EMAIL_OTP", "email": email})
        } else {
            let phone = details
                .get("phone_number")
                .and_then(Value::as_str)
                .unwrap_or("+64270000000");
            json!({"verificationMethod": "SMS", "phoneNumber": phone})
        };
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:", self.secret));
        let path = format!(
            "/v1/users/{}/authenticators",
            auth_core::base_url::encode_path_segment(user)
        );
        let request = http::Request::post(path)
            .header(http::header::AUTHORIZATION, format!("Basic {basic}"))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body.to_string().into_bytes())
            .map_err(|e| ControlError::Invalid(e.to_string()))?;
        // Control commands run on a blocking thread: wait for the server's answer here.
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| ControlError::Conflict("no runtime".into()))?;
        let response = handle.block_on(self.upstream.forward(request));
        let answer: Value = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
        if !response.status().is_success() {
            return Err(ControlError::Invalid(format!(
                "enrolment answered {}: {answer}",
                response.status()
            )));
        }
        Ok(json!({"user": user, "authenticator": answer["authenticator"]}))
    }

    fn provider_command(&self, body: &Value) -> Result<Value, ControlError> {
        if let Some(url) = body.get("webhook_url").and_then(Value::as_str) {
            self.emulator.set_webhook_url(url);
            return Ok(json!({"webhook_url": url}));
        }
        if body.get("deliver_webhooks").is_some() {
            let handle = tokio::runtime::Handle::try_current()
                .map_err(|_| ControlError::Conflict("no runtime".into()))?;
            let statuses = handle
                .block_on(self.emulator.deliver_webhooks())
                .map_err(|e| ControlError::Conflict(e.to_string()))?;
            return Ok(json!({"delivered": statuses}));
        }
        if let Some(c) = body.get("otp_code").and_then(Value::as_str) {
            let id = authsignal::ChallengeId::new(c)
                .map_err(|e| ControlError::Invalid(e.to_string()))?;
            let code = self.emulator.otp_code(&id).ok_or_else(|| ControlError::NotFound {
                what: "challenge",
                id: c.to_owned(),
            })?;
            return Ok(json!({"code": code.expose_secret()}));
        }
        Err(ControlError::Invalid(
            "authsignal's provider commands: {\"webhook_url\": ...}, {\"deliver_webhooks\": true}, {\"otp_code\": \"<challengeId>\"}".into(),
        ))
    }
}

#[async_trait::async_trait]
impl Model for Authsignal {
    fn provider(&self) -> &'static str {
        "authsignal"
    }

    async fn handle(&self, request: HttpRequest) -> HttpResponse {
        let is_track = request.method() == http::Method::POST;
        let path = request.uri().path().to_owned();
        let response = self.upstream.forward(request).await;
        if is_track && response.status().is_success() {
            self.remember(&path, response.body());
        }
        response
    }

    fn control(&self, command: Control) -> Result<Value, ControlError> {
        match command {
            Control::AddUser { user, details } => self.add_user(&user, &details),
            Control::Approve { id } => self.finish(&id, true),
            Control::Deny { id, .. } | Control::Fail { id, .. } => self.finish(&id, false),
            Control::SetRules { rules } => {
                let list = rules
                    .as_array()
                    .ok_or_else(|| ControlError::Invalid("rules are a JSON list".into()))?
                    .iter()
                    .map(rule)
                    .collect::<Result<Vec<_>, _>>()?;
                self.emulator.clear_rules();
                let n = list.len();
                for r in list {
                    self.emulator.add_rule(r);
                }
                Ok(json!({"rules": n}))
            }
            Control::InjectFault { fault } => {
                let f = match (fault.status, fault.retry_after) {
                    (429, Some(secs)) => authsignal::emulator::Fault::RateLimited {
                        retry_after_secs: secs,
                    },
                    (status, _) => authsignal::emulator::Fault::Status(status),
                };
                for _ in 0..fault.times {
                    self.emulator.inject(f.clone());
                }
                Ok(json!({"injected": fault.times}))
            }
            Control::Provider { body } => self.provider_command(&body),
            other => Err(ControlError::Unsupported {
                provider: "authsignal",
                command: other.name(),
            }),
        }
    }

    fn pending(&self) -> Vec<PendingStepUp> {
        let map = auth_core::sync::lock(&self.challenges);
        let mut v: Vec<PendingStepUp> = map
            .iter()
            .map(|(key, c)| {
                PendingStepUp::new(
                    "authsignal",
                    key.as_str(),
                    c.user.as_str(),
                    format!("Verify it's you to continue: {}", c.action),
                    c.created,
                )
                .with_title("Authsignal challenge")
            })
            .collect();
        v.sort_by_key(|p| p.created_at);
        v
    }
}
