//! The platform's rules, as state changes: what a create, a poll, a cancel, a session call
//! and a TOTP check do to the emulated platform and what they answer. No cryptography and no
//! I/O here: the model verifies, decrypts, encrypts and signs around these functions, outside
//! the state lock.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use auth_core::secret::constant_time_eq;
use auth_core::time::Timestamp;
use serde_json::{Map, Value, json};

use super::{EmulatedUser, EndpointCounts, Fault, PhoneAnswer, ReceivedCall};
use crate::hazmat::b64e;
use crate::keys::{RsaPublicKey, ServicePrivateKey};
use crate::{JweAlgorithm, JwsAlgorithm, ServiceId};

/// Where an authorization request stands.
#[derive(Debug, Clone)]
pub(super) enum ReqState {
    Pending,
    Responded(PhoneAnswer),
    Canceled,
}

/// An authorization request as the platform keeps it.
#[derive(Debug, Clone)]
pub(super) struct AuthReq {
    pub(super) service: ServiceId,
    pub(super) service_kid: String,
    pub(super) username: String,
    /// What the device shows (`context`), and the Directory `title`.
    pub(super) context: Option<String>,
    pub(super) title: Option<String>,
    pub(super) created: i64,
    pub(super) ttl: i64,
    /// The `auth_policy` the device reports: the one the request asked for.
    pub(super) auth_policy: Value,
    pub(super) state: ReqState,
    /// The service has fetched the answer (or the cancellation) once.
    pub(super) fetched: bool,
}

impl AuthReq {
    pub(super) fn expired(&self, now: i64) -> bool {
        now >= self.created + self.ttl
    }

    pub(super) fn pending(&self, now: i64) -> bool {
        matches!(self.state, ReqState::Pending) && !self.expired(now)
    }

    pub(super) fn settled(&self, now: i64) -> bool {
        !self.pending(now)
    }

    /// Whether the platform may forget it: settled, and either fetched by the service or past
    /// its time to live (an answer nobody fetched yet is kept until then, as the platform does;
    /// the time to live bounds it like a pending request).
    pub(super) fn forgettable(&self, now: i64) -> bool {
        self.settled(now) && (self.fetched || self.expired(now))
    }
}

/// A registered service: its public keys by kid.
#[derive(Default)]
pub(super) struct Service {
    pub(super) keys: HashMap<String, Arc<RsaPublicKey>>,
}

/// How the emulated platform answers (settable by the builder and a few test knobs).
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) response_jwe: JweAlgorithm,
    pub(super) response_jws: JwsAlgorithm,
    pub(super) legacy_packages: bool,
    pub(super) create_status: u16,
    pub(super) in_progress_status: u16,
    pub(super) default_ttl: i64,
    pub(super) settled_capacity: usize,
    pub(super) received_capacity: usize,
}

/// Everything the emulated platform holds. Bounded: users, services and keys come from control
/// commands only; pending requests are at most one per user; settled ones at most
/// `settled_capacity`; the received-call log at most `received_capacity`.
pub(super) struct State {
    pub(super) api_keys: Vec<Arc<ServicePrivateKey>>,
    pub(super) foreign_key: Option<Arc<ServicePrivateKey>>,
    pub(super) services: HashMap<ServiceId, Service>,
    pub(super) users: HashMap<String, EmulatedUser>,
    pub(super) requests: HashMap<String, AuthReq>,
    /// Request ids in creation order (for forgetting the oldest settled ones).
    pub(super) request_order: VecDeque<String>,
    pub(super) sessions: HashMap<(ServiceId, String), Option<String>>,
    pub(super) totp: HashMap<String, String>,
    pub(super) settings: Settings,
    pub(super) faults: VecDeque<Fault>,
    pub(super) received: VecDeque<ReceivedCall>,
    pub(super) counts: EndpointCounts,
}

impl State {
    /// The service public key a request was signed with.
    pub(super) fn service_key(&self, service: ServiceId, kid: &str) -> Option<Arc<RsaPublicKey>> {
        self.services.get(&service)?.keys.get(kid).cloned()
    }

    /// The service (and key) that owns `kid`.
    pub(super) fn service_by_kid(&self, kid: &str) -> Option<(ServiceId, Arc<RsaPublicKey>)> {
        self.services
            .iter()
            .find_map(|(id, s)| s.keys.get(kid).map(|k| (*id, k.clone())))
    }

    /// The API key with id `kid`.
    pub(super) fn api_key(&self, kid: &str) -> Option<Arc<ServicePrivateKey>> {
        self.api_keys
            .iter()
            .find(|k| k.kid().as_str() == kid)
            .cloned()
    }

    /// The current API key.
    pub(super) fn current_api_key(&self) -> Option<Arc<ServicePrivateKey>> {
        self.api_keys.last().cloned()
    }

    /// Keeps an accepted call for [`super::Model::received`] (a bounded ring).
    pub(super) fn remember_call(&mut self, call: ReceivedCall) {
        let capacity = self.settings.received_capacity;
        if capacity == 0 {
            return;
        }
        while self.received.len() >= capacity {
            self.received.pop_front();
        }
        self.received.push_back(call);
    }

    /// The pending (unanswered, unexpired, not cancelled) request for `username`.
    pub(super) fn pending_for(&self, username: &str, now: i64) -> Option<(&String, &AuthReq)> {
        self.requests
            .iter()
            .find(|(_, r)| r.username == username && r.pending(now))
    }
}

/// A verified incoming call.
pub(super) struct Caller {
    pub(super) service: ServiceId,
    pub(super) kid: String,
    pub(super) jti: String,
    pub(super) body: Option<Value>,
}

/// What a signed route answers before it is encrypted and signed.
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) body: ReplyBody,
}

/// A reply's body: none, JSON, or an authorization response package still to be built (its
/// RSA work runs outside the state lock).
pub(super) enum ReplyBody {
    Empty,
    Json(Value),
    Package(Box<PackageJob>),
}

/// Everything needed to build an authorization response package ("core", §5.6) without the
/// state: the user, the answer, the service key it is encrypted to.
pub(super) struct PackageJob {
    /// The `auth_request` the device package names.
    pub(super) id: String,
    pub(super) user: EmulatedUser,
    pub(super) service_kid: String,
    pub(super) service_key: Arc<RsaPublicKey>,
    pub(super) answer: PhoneAnswer,
    pub(super) auth_policy: Value,
    pub(super) legacy: bool,
    pub(super) jwe: JweAlgorithm,
}

impl Reply {
    pub(super) fn empty(status: u16) -> Self {
        Reply {
            status,
            body: ReplyBody::Empty,
        }
    }
    pub(super) fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            body: ReplyBody::Json(body),
        }
    }
    pub(super) fn error(status: u16, code: &str, detail: &str, data: Value) -> Self {
        Reply::json(
            status,
            json!({"error_code": code, "error_detail": detail, "error_data": data}),
        )
    }
}

/// The package job for request `id` answered with `answer`, if its user and key still exist.
pub(super) fn package_job(
    st: &State,
    id: &str,
    r: &AuthReq,
    answer: &PhoneAnswer,
) -> Option<PackageJob> {
    Some(PackageJob {
        id: id.to_owned(),
        user: st.users.get(&r.username)?.clone(),
        service_kid: r.service_kid.clone(),
        service_key: st.service_key(r.service, &r.service_kid)?,
        answer: answer.clone(),
        auth_policy: answer
            .auth_policy
            .clone()
            .unwrap_or_else(|| r.auth_policy.clone()),
        legacy: st.settings.legacy_packages,
        jwe: st.settings.response_jwe,
    })
}

/// Answers a verified signed call (the state changes happen here, under the lock).
pub(super) fn route(st: &mut State, method: &str, path: &str, caller: &Caller, now: i64) -> Reply {
    let body = caller.body.clone().unwrap_or(Value::Null);
    // Only peek: signing consumes the fault of this response (popping here too would swallow
    // the next injected fault).
    match st.faults.front().cloned() {
        Some(Fault::Status(s)) => return Reply::empty(s),
        Some(Fault::RateLimited(_)) => return Reply::empty(429),
        Some(Fault::ApiError(s, code)) => {
            return Reply::error(s, &code, "emulated", Value::Null);
        }
        _ => {}
    }
    match (method, path) {
        ("POST", "/service/v3/auths") => create(st, caller, &body, now),
        ("POST", "/service/v3/sessions") => {
            let Some(user) = body.get("username").and_then(Value::as_str) else {
                return invalid("username is required");
            };
            if !st.users.contains_key(user) {
                return Reply::empty(404);
            }
            let auth = body
                .get("auth_request")
                .and_then(Value::as_str)
                .map(|a| a.chars().take(64).collect());
            st.sessions.insert((caller.service, user.to_owned()), auth);
            Reply::empty(204)
        }
        ("DELETE", "/service/v3/sessions") => {
            let Some(user) = body.get("username").and_then(Value::as_str) else {
                return invalid("username is required");
            };
            if !st.users.contains_key(user) {
                return Reply::empty(404);
            }
            st.sessions.remove(&(caller.service, user.to_owned()));
            Reply::empty(204)
        }
        ("POST", "/service/v3/totp") => {
            let (Some(user), Some(otp)) = (
                body.get("identifier").and_then(Value::as_str),
                body.get("otp").and_then(Value::as_str),
            ) else {
                return invalid("identifier and otp are required");
            };
            if !st.users.contains_key(user) {
                return Reply::empty(404);
            }
            let valid = st
                .totp
                .get(user)
                .is_some_and(|c| constant_time_eq(c.as_bytes(), otp.as_bytes()));
            Reply::json(200, json!({"valid": valid}))
        }
        (m, p) if p.starts_with("/service/v3/auths/") => {
            let id = p.trim_start_matches("/service/v3/auths/");
            match m {
                "GET" => poll(st, caller, id, now),
                "DELETE" => cancel(st, caller, id, now),
                _ => Reply::error(400, "ARG-002", "route/method does not exist", Value::Null),
            }
        }
        _ => Reply::error(400, "ARG-002", "route/method does not exist", Value::Null),
    }
}

/// `ARG-001` with `detail`.
fn invalid(detail: &str) -> Reply {
    Reply::error(400, "ARG-001", detail, Value::Null)
}

/// The platform's parameter rules for a create (spec §5.1, §5.3), applied to whatever the
/// client sent: `Err` is the `ARG-001` reply.
fn check_create(obj: &Map<String, Value>) -> Result<(), Reply> {
    const KEYS: [&str; 8] = [
        "username",
        "context",
        "title",
        "ttl",
        "push_title",
        "push_body",
        "policy",
        "denial_reasons",
    ];
    if let Some(k) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(invalid(&format!("unexpected field {k}")));
    }
    match obj.get("username").and_then(Value::as_str) {
        Some(u) if !u.trim().is_empty() => {}
        _ => return Err(invalid("username is required")),
    }
    if let Some(v) = obj.get("ttl")
        && !v.as_i64().is_some_and(|t| (30..=600).contains(&t))
    {
        return Err(Reply::error(
            400,
            "ARG-001",
            "ttl must be 30..600",
            json!({"ttl": "invalid"}),
        ));
    }
    for (field, max) in [
        ("context", 400),
        ("title", 200),
        ("push_title", usize::MAX),
        ("push_body", usize::MAX),
    ] {
        match obj.get(field) {
            None => {}
            Some(Value::String(text)) if text.chars().count() <= max => {}
            Some(Value::String(_)) => {
                return Err(invalid(&format!("{field} is longer than {max} characters")));
            }
            Some(_) => return Err(invalid(&format!("{field} must be a string"))),
        }
    }
    if let Some(dr) = obj.get("denial_reasons") {
        check_denial_reasons(dr)?;
    }
    Ok(())
}

/// Denial reasons: a list of at least two `{id, reason, fraud}` objects, ids 1–5 characters
/// and unique, at least one fraud and one non-fraud reason.
fn check_denial_reasons(value: &Value) -> Result<(), Reply> {
    let Some(list) = value.as_array() else {
        return Err(invalid("denial_reasons must be an array"));
    };
    if list.len() < 2 {
        return Err(invalid("at least two denial_reasons are required"));
    }
    let mut ids = std::collections::HashSet::new();
    let (mut fraud, mut not_fraud) = (false, false);
    for entry in list {
        let id = entry.get("id").and_then(Value::as_str);
        let reason = entry.get("reason").and_then(Value::as_str);
        let is_fraud = entry.get("fraud").and_then(Value::as_bool);
        let (Some(id), Some(reason), Some(is_fraud)) = (id, reason, is_fraud) else {
            return Err(invalid("each denial reason needs id, reason and fraud"));
        };
        if !(1..=5).contains(&id.chars().count()) {
            return Err(invalid("denial reason ids must be 1-5 characters"));
        }
        if reason.trim().is_empty() {
            return Err(invalid("denial reason text must not be empty"));
        }
        if !ids.insert(id) {
            return Err(invalid("denial reason ids must be unique"));
        }
        fraud |= is_fraud;
        not_fraud |= !is_fraud;
    }
    if !(fraud && not_fraud) {
        return Err(invalid("denial_reasons need fraud and non-fraud entries"));
    }
    Ok(())
}

/// The `auth_policy` a device reports for a request: what the request's legacy policy asked
/// for (the emulated services have no policy of their own to merge it with), or "any one
/// factor" when the request sent no policy.
fn reported_policy(policy: Option<&Value>) -> Value {
    let Some(policy) = policy else {
        return json!({"requirement": "amount", "amount": 1, "types": [], "geofences": []});
    };
    let minimum = policy
        .get("minimum_requirements")
        .and_then(Value::as_array)
        .and_then(|list| list.first());
    let number = |key: &str| {
        minimum.and_then(|m| m.get(key)).map_or(0, |v| match v {
            Value::Bool(b) => i64::from(*b),
            other => other.as_i64().unwrap_or(0),
        })
    };
    let types: Vec<&str> = [
        ("knowledge", "KNOWLEDGE"),
        ("inherence", "INHERENCE"),
        ("possession", "POSSESSION"),
    ]
    .into_iter()
    .filter(|(key, _)| number(key) > 0)
    .map(|(_, wire)| wire)
    .collect();
    let fences: Vec<Value> = policy
        .get("factors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|f| f.get("factor").and_then(Value::as_str) == Some("geofence"))
        .filter_map(|f| f.pointer("/attributes/locations").and_then(Value::as_array))
        .flatten()
        .map(|l| {
            let mut fence = json!({
                "latitude": l.get("latitude"), "longitude": l.get("longitude"), "radius": l.get("radius"),
            });
            if let (Some(name), Some(obj)) = (l.get("name"), fence.as_object_mut()) {
                obj.insert("name".into(), name.clone());
            }
            fence
        })
        .collect();
    let any = number("any");
    let (requirement, amount) = if any > 0 {
        (json!("amount"), any)
    } else if !types.is_empty() {
        (json!("types"), 0)
    } else {
        (Value::Null, 0)
    };
    json!({"requirement": requirement, "amount": amount, "types": types, "geofences": fences})
}

/// Forgets the oldest settled requests beyond the configured capacity.
pub(super) fn prune_settled(st: &mut State, now: i64) {
    // Nothing to forget (and nothing to count) while every request fits.
    if st.requests.len() <= st.settings.settled_capacity {
        return;
    }
    let settled = |st: &State| st.requests.values().filter(|r| r.forgettable(now)).count();
    let mut excess = settled(st).saturating_sub(st.settings.settled_capacity);
    if excess == 0 {
        return;
    }
    let mut kept = VecDeque::with_capacity(st.request_order.len());
    while let Some(id) = st.request_order.pop_front() {
        let drop_it = excess > 0 && st.requests.get(&id).is_none_or(|r| r.forgettable(now));
        if drop_it {
            if st.requests.remove(&id).is_some() {
                excess -= 1;
            }
        } else {
            kept.push_back(id);
        }
    }
    st.request_order = kept;
}

fn create(st: &mut State, caller: &Caller, body: &Value, now: i64) -> Reply {
    let Some(obj) = body.as_object() else {
        return invalid("body must be an object");
    };
    if let Err(reply) = check_create(obj) {
        return reply;
    }
    let username = obj
        .get("username")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let ttl = obj
        .get("ttl")
        .and_then(Value::as_i64)
        .unwrap_or(st.settings.default_ttl);
    if let Some(p) = obj.get("policy")
        && (p
            .get("minimum_requirements")
            .and_then(Value::as_array)
            .is_none()
            || p.get("factors").and_then(Value::as_array).is_none())
    {
        return Reply::error(400, "SVC-002", "policy is invalid", Value::Null);
    }
    let Some(user) = st.users.get(username).cloned() else {
        return Reply::empty(404);
    };
    if let Some((id, r)) = st.pending_for(username, now) {
        return Reply::error(
            st.settings.in_progress_status,
            "SVC-005",
            "Authorization in progress",
            json!({
                "auth_request": id,
                "from_same_service": r.service == caller.service,
                "expires": Timestamp::from_unix(r.created + r.ttl).to_utc_string(),
            }),
        );
    }
    let id = uuid::Uuid::new_v4().to_string();
    let text = |key: &str| obj.get(key).and_then(Value::as_str).map(str::to_owned);
    st.requests.insert(
        id.clone(),
        AuthReq {
            service: caller.service,
            service_kid: caller.kid.clone(),
            username: username.to_owned(),
            context: text("context"),
            title: text("title"),
            created: now,
            ttl,
            auth_policy: reported_policy(obj.get("policy")),
            state: ReqState::Pending,
            fetched: false,
        },
    );
    st.request_order.push_back(id.clone());
    prune_settled(st, now);
    let mut out = json!({"auth_request": id, "device_ids": [user.device_id]});
    if obj.contains_key("push_title") || obj.contains_key("push_body") {
        out["push_package"] = json!(b64e(format!("push:{id}").as_bytes()));
    }
    Reply::json(st.settings.create_status, out)
}

fn poll(st: &mut State, caller: &Caller, id: &str, now: i64) -> Reply {
    let Some(r) = st.requests.get(id).cloned() else {
        return Reply::empty(204);
    };
    if r.service != caller.service {
        return Reply::empty(204);
    }
    if r.settled(now)
        && !r.fetched
        && let Some(kept) = st.requests.get_mut(id)
    {
        kept.fetched = true;
        prune_settled(st, now);
    }
    match &r.state {
        ReqState::Canceled => Reply::error(
            400,
            "SVC-007",
            "Authorization request canceled",
            Value::Null,
        ),
        ReqState::Pending if r.expired(now) => Reply::empty(408),
        ReqState::Pending => Reply::empty(204),
        ReqState::Responded(answer) => {
            let pkg_id = if st.faults.front() == Some(&Fault::WrongRequestId) {
                st.faults.pop_front();
                uuid::Uuid::new_v4().to_string()
            } else {
                id.to_owned()
            };
            match package_job(st, &pkg_id, &r, answer) {
                Some(job) => Reply {
                    status: 200,
                    body: ReplyBody::Package(Box::new(job)),
                },
                None => Reply::empty(500),
            }
        }
    }
}

fn cancel(st: &mut State, caller: &Caller, id: &str, now: i64) -> Reply {
    let Some(r) = st.requests.get_mut(id) else {
        return Reply::empty(404);
    };
    if r.service != caller.service {
        return Reply::empty(404);
    }
    match r.state {
        ReqState::Canceled => Reply::error(
            400,
            "SVC-007",
            "Authorization request already canceled",
            Value::Null,
        ),
        ReqState::Responded(_) => {
            Reply::error(400, "SVC-006", "Authorization response exists", Value::Null)
        }
        ReqState::Pending if r.expired(now) => Reply::empty(408),
        ReqState::Pending => {
            r.state = ReqState::Canceled;
            prune_settled(st, now);
            Reply::empty(204)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reported_policy_follows_the_legacy_request_policy() {
        use crate::{AuthPolicy, Geofence};
        assert_eq!(
            reported_policy(None),
            json!({"requirement": "amount", "amount": 1, "types": [], "geofences": []})
        );
        let p = AuthPolicy::factor_count(2).to_wire();
        assert_eq!(
            reported_policy(Some(&p)),
            json!({"requirement": "amount", "amount": 2, "types": [], "geofences": []})
        );
        let p = AuthPolicy::new()
            .require_knowledge()
            .require_possession()
            .geofence(Geofence::new(36.1, -115.1, 200.0).named("hq"))
            .geofence(Geofence::new(1.0, 2.0, 3.0))
            .to_wire();
        assert_eq!(
            reported_policy(Some(&p)),
            json!({"requirement": "types", "amount": 0, "types": ["KNOWLEDGE", "POSSESSION"],
                   "geofences": [{"name": "hq", "latitude": 36.1, "longitude": -115.1, "radius": 200.0},
                                 {"latitude": 1.0, "longitude": 2.0, "radius": 3.0}]})
        );
        let p = AuthPolicy::new().deny_rooted_jailbroken().to_wire();
        assert_eq!(
            reported_policy(Some(&p)),
            json!({"requirement": null, "amount": 0, "types": [], "geofences": []})
        );
        // Flags written as booleans (a hand-made policy) count too.
        let p = json!({"minimum_requirements": [{"requirement": "authenticated", "any": 0,
                       "knowledge": true, "inherence": false, "possession": false}], "factors": []});
        assert_eq!(reported_policy(Some(&p))["types"], json!(["KNOWLEDGE"]));
    }
}
