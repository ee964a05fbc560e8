//! The control API (JSON over HTTP) and the user's phone page: what a test in any language uses
//! to play the user and the provider's back office. The routes are listed in the crate docs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use auth_core::Clock as _;
use auth_core::emulator::{
    Control, ControlError, Fault, Model as _, OffsetClock, PendingStepUp, clock_answer,
};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Provider;
use crate::served::Served;

/// What the control API works on.
pub(crate) struct Hub {
    pub(crate) served: BTreeMap<Provider, Arc<Served>>,
    pub(crate) clock: OffsetClock,
    /// What `--print-json` prints (also `GET /providers`).
    pub(crate) info: Value,
}

type Shared = State<Arc<Hub>>;

/// The phone page (plain HTML and a little JavaScript; no build step).
const PHONE_PAGE: &str = include_str!("../assets/phone.html");

/// The control API's router.
pub(crate) fn router(hub: Arc<Hub>) -> Router {
    Router::new()
        .route("/", get(phone_page))
        .route("/healthz", get(|| async { "ok" }))
        .route("/providers", get(providers))
        .route("/pending", get(all_pending))
        .route("/clock", get(clock))
        .route("/clock/advance", post(advance_clock))
        .route("/{provider}/pending", get(pending))
        .route("/{provider}/control", post(control))
        .route("/{provider}/step-ups/{id}/{action}", post(step_up_action))
        .route("/{provider}/users", post(add_user))
        .route("/{provider}/rules", post(set_rules).put(set_rules))
        .route("/{provider}/faults", post(inject_fault))
        .route("/{provider}/rotate-keys", post(rotate_keys))
        .route("/{provider}/log", get(read_log))
        .route("/{provider}/deliveries", get(deliveries))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .with_state(hub)
}

/// An error answer: `{"error": code, "message": text}` with a status.
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid", message)
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> ApiError {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
        ApiError::new(status, e.code(), e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.code, "message": self.message});
        (self.status, axum::Json(body)).into_response()
    }
}

type Answer = Result<Response, ApiError>;

fn served(hub: &Hub, provider: &str) -> Result<Arc<Served>, ApiError> {
    provider
        .parse::<Provider>()
        .ok()
        .and_then(|p| hub.served.get(&p).cloned())
        .ok_or_else(|| {
            let names: Vec<&str> = hub.served.keys().map(|p| p.name()).collect();
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_provider",
                format!(
                    "no provider `{provider}` here (serving: {})",
                    names.join(", ")
                ),
            )
        })
}

/// Runs `command` on a blocking thread: some commands sign or encrypt, and a model may wait
/// for its own server there.
pub(crate) async fn run_blocking(
    served: Arc<Served>,
    command: Control,
) -> Result<Value, ControlError> {
    tokio::task::spawn_blocking(move || served.control(command))
        .await
        .unwrap_or_else(|_| Err(ControlError::Conflict("the command did not finish".into())))
}

/// Runs `command` on `provider` and answers it as JSON.
async fn run(hub: Arc<Hub>, provider: String, command: Control) -> Answer {
    let served = served(&hub, &provider)?;
    let value = run_blocking(served, command).await?;
    Ok(axum::Json(value).into_response())
}

/// A JSON body, where an empty body is `default` (so `curl -X POST` needs no `-d '{}'`).
fn body<T: serde::de::DeserializeOwned>(bytes: &[u8], default: T) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(default);
    }
    auth_core::json::from_slice("the request body", bytes)
        .map_err(|e| ApiError::invalid(e.to_string()))
}

async fn phone_page() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        PHONE_PAGE,
    )
        .into_response()
}

async fn providers(State(hub): Shared) -> Response {
    axum::Json(hub.info.clone()).into_response()
}

#[derive(Deserialize)]
struct PendingQuery {
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    provider: Option<String>,
}

/// Every provider's pending step-ups, oldest first; `?limit=N` keeps the newest N,
/// `?provider=` one provider. `X-Total-Count` says how many there are in all.
async fn all_pending(State(hub): Shared, Query(q): Query<PendingQuery>) -> Answer {
    let listed = tokio::task::spawn_blocking(move || {
        let mut all: Vec<PendingStepUp> = Vec::new();
        for (p, s) in &hub.served {
            if q.provider.as_deref().is_none_or(|o| o == p.name()) {
                all.extend(s.pending());
            }
        }
        all.sort_by_key(|p| p.created_at);
        let total = all.len();
        if let Some(limit) = q.limit {
            all.drain(..total.saturating_sub(limit));
        }
        // Written straight from the step-ups (no JSON tree of 10,000 in between).
        serde_json::to_vec(&all).map(|body| (total, body))
    })
    .await;
    let Ok(Ok((total, body))) = listed else {
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "listing failed",
        ));
    };
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::HeaderName::from_static("x-total-count"),
                HeaderValue::from(total),
            ),
        ],
        body,
    )
        .into_response())
}

async fn pending(State(hub): Shared, Path(provider): Path<String>) -> Answer {
    run(hub, provider, Control::ListPending).await
}

async fn clock(State(hub): Shared) -> Response {
    axum::Json(clock_answer(hub.clock.now())).into_response()
}

#[derive(Deserialize)]
struct Advance {
    seconds: u64,
}

/// Moves the one clock every provider runs on.
async fn advance_clock(State(hub): Shared, bytes: axum::body::Bytes) -> Answer {
    let advance: Advance = body(&bytes, Advance { seconds: 0 })?;
    hub.clock.advance(Duration::from_secs(advance.seconds));
    // Every model shares the clock; told that time moved, each settles what ran out.
    for served in hub.served.values() {
        let _ = run_blocking(served.clone(), Control::AdvanceClock { seconds: 0 }).await;
    }
    Ok(axum::Json(clock_answer(hub.clock.now())).into_response())
}

async fn control(
    State(hub): Shared,
    Path(provider): Path<String>,
    bytes: axum::body::Bytes,
) -> Answer {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid(
            "the body is a control command, e.g. {\"command\": \"list_pending\"}",
        ));
    }
    let command = body::<Control>(&bytes, Control::ListPending)?;
    run(hub, provider, command).await
}

#[derive(Default, Deserialize)]
struct ActionBody {
    #[serde(default)]
    fraud: bool,
    #[serde(default)]
    reason: Option<String>,
}

async fn step_up_action(
    State(hub): Shared,
    Path((provider, id, action)): Path<(String, String, String)>,
    bytes: axum::body::Bytes,
) -> Answer {
    let b: ActionBody = body(&bytes, ActionBody::default())?;
    let command = match action.as_str() {
        "approve" => Control::Approve { id },
        "deny" => Control::Deny {
            id,
            fraud: b.fraud,
            reason: b.reason,
        },
        "expire" => Control::Expire { id },
        "fail" => Control::Fail {
            id,
            reason: b.reason,
        },
        other => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no action `{other}` (approve, deny, expire or fail)"),
            ));
        }
    };
    run(hub, provider, command).await
}

#[derive(Deserialize)]
struct NewUser {
    user: String,
    #[serde(default)]
    details: Value,
}

async fn add_user(
    State(hub): Shared,
    Path(provider): Path<String>,
    bytes: axum::body::Bytes,
) -> Answer {
    let Ok(Some(NewUser { user, details })) = body::<Option<NewUser>>(&bytes, None) else {
        return Err(ApiError::invalid(
            "the body is {\"user\": \"alice\", \"details\": {...}}",
        ));
    };
    run(hub, provider, Control::AddUser { user, details }).await
}

async fn set_rules(
    State(hub): Shared,
    Path(provider): Path<String>,
    bytes: axum::body::Bytes,
) -> Answer {
    let rules = body::<Value>(&bytes, Value::Array(Vec::new()))?;
    run(hub, provider, Control::SetRules { rules }).await
}

async fn inject_fault(
    State(hub): Shared,
    Path(provider): Path<String>,
    bytes: axum::body::Bytes,
) -> Answer {
    match body::<Option<Fault>>(&bytes, None)? {
        Some(fault) => run(hub, provider, Control::InjectFault { fault }).await,
        None => Err(ApiError::invalid(
            "the body is a fault, e.g. {\"status\": 503, \"path_contains\": \"/auths\", \"times\": 1}",
        )),
    }
}

async fn rotate_keys(State(hub): Shared, Path(provider): Path<String>) -> Answer {
    run(hub, provider, Control::RotateKeys).await
}

#[derive(Deserialize)]
struct LogQuery {
    #[serde(default)]
    limit: Option<usize>,
}

async fn read_log(
    State(hub): Shared,
    Path(provider): Path<String>,
    Query(q): Query<LogQuery>,
) -> Answer {
    run(hub, provider, Control::ReadLog { limit: q.limit }).await
}

/// What the provider sent on its own (webhooks, notifications): the newest deliveries, each
/// with its URL (no query) and status or error; never headers or bodies.
async fn deliveries(
    State(hub): Shared,
    Path(provider): Path<String>,
    Query(q): Query<LogQuery>,
) -> Answer {
    let served = served(&hub, &provider)?;
    match served.delivery() {
        Some(delivery) => Ok(axum::Json(delivery.report(q.limit)).into_response()),
        None => Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "unsupported",
            format!("{provider} sends nothing on its own"),
        )),
    }
}
