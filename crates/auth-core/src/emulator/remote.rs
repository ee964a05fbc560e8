//! The `oob-auth-emulator` server seen from a test: [`RemoteEmulator`] speaks its control API
//! (JSON over loopback HTTP) with the same vocabulary as an in-process model ([`Control`],
//! [`ControlError`], [`PendingStepUp`], [`LogEntry`]).
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), auth_core::emulator::RemoteError> {
//! use auth_core::emulator::{Control, RemoteEmulator};
//!
//! // OOB_EMULATOR_URL=http://127.0.0.1:4700 (the server's `control_url`)
//! let emulator = RemoteEmulator::from_env()?;
//! let api_url = emulator.provider_info("launchkey").await?["api_url"].clone();
//! for step_up in emulator.pending("launchkey").await? {
//!     emulator.control("launchkey", &Control::Approve { id: step_up.id }).await?;
//! }
//! # let _ = api_url; Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{Method, StatusCode, header};
use serde::Deserialize;
use serde_json::Value;

use super::{Control, ControlError, LogEntry, PendingStepUp};
use crate::{BaseUrl, HttpClient, HttpRequest, TransportError};

pub mod testing;

/// The environment variable that holds the server's control URL
/// (`http://127.0.0.1:4700`, the `control_url` that `--print-json` prints).
pub const EMULATOR_URL_ENV: &str = "OOB_EMULATOR_URL";

/// The providers a server may serve: a [`ControlError::Unsupported`] read back from the wire
/// names one of these (the error's fields are `&'static str`).
const PROVIDERS: &[&str] = &[
    "launchkey",
    "authsignal",
    "airlock-iam",
    "logonbox",
    "onegini-model",
    "ciba",
];

/// What a [`ControlError::NotFound`] read back from the wire may say it looked for (the
/// models' words); another word reads back as `"item"`, the whole message as the id.
const NOT_FOUND_WHAT: &[&str] = &[
    "step-up",
    "user",
    "key",
    "IdP user",
    "action",
    "app version",
    "authorization request",
    "challenge",
    "client",
    "login session",
    "pending 2FA request",
    "provider",
    "request",
    "tenant",
    "waiting sign request",
];

/// The largest control-API answer read (a full request log of a busy provider).
#[cfg(feature = "reqwest")]
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// Why a [`RemoteEmulator`] call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// `OOB_EMULATOR_URL` is not set.
    #[error(
        "{EMULATOR_URL_ENV} is not set: start the emulator server (`cargo xtask conformance \
         --binary`, or `cargo run -p oob-auth-emulator -- --base-port 0 --print-json`) and set \
         {EMULATOR_URL_ENV} to its `control_url`"
    )]
    NotConfigured,
    /// The control URL is not a plain `http://` URL of a loopback address.
    #[error("invalid emulator control URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The server could not be reached, or its answer not read.
    #[error("the emulator server did not answer: {0}")]
    Transport(#[from] TransportError),
    /// The provider ran the command and refused it (the model's own error, read back).
    #[error(transparent)]
    Control(#[from] ControlError),
    /// The server does not serve this provider.
    #[error("the emulator server does not serve `{provider}`: {message}")]
    UnknownProvider {
        /// The provider asked for.
        provider: String,
        /// What the server said.
        message: String,
    },
    /// Any other error answer (no such route, an internal error).
    #[error("the emulator server answered {status}: {message}")]
    Server {
        /// The HTTP status.
        status: u16,
        /// The error's text (`{"error", "message"}`), or the start of the body.
        message: String,
    },
    /// A success answer that does not have the expected shape.
    #[error("the emulator server's answer to {what} does not decode: {reason}")]
    Decode {
        /// Which call.
        what: &'static str,
        /// Why.
        reason: String,
    },
}

impl RemoteError {
    /// The model's refusal, when that is what this is.
    pub fn control_error(&self) -> Option<&ControlError> {
        match self {
            RemoteError::Control(e) => Some(e),
            _ => None,
        }
    }
}

/// The `oob-auth-emulator` server's control API, from a test: run [`Control`] commands on one
/// of its providers, list pending step-ups, move the one clock, read a provider's request log,
/// and read what a client needs (`GET /providers`: URLs, ids, keys, secrets).
///
/// Loopback `http://` only: the control API hands out every secret and approves step-ups.
#[derive(Clone)]
pub struct RemoteEmulator {
    url: BaseUrl,
    http: Arc<dyn HttpClient>,
}

impl fmt::Debug for RemoteEmulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteEmulator")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

/// How long one control command may take: longer than the server's longest wait (a delivery
/// flush, 60 s).
#[cfg(feature = "reqwest")]
const CONTROL_TIMEOUT: Duration = Duration::from_secs(90);

impl RemoteEmulator {
    /// The server whose control URL is in `OOB_EMULATOR_URL`, over the default HTTP client.
    #[cfg(feature = "reqwest")]
    pub fn from_env() -> Result<Self, RemoteError> {
        Self::new(&Self::url_from_env()?)
    }

    /// The server at `control_url` (`http://127.0.0.1:4700`), over the default HTTP client:
    /// straight to the loopback address, never through a proxy from the environment (the
    /// answers hold every key and secret), and patient enough for a command that waits on the
    /// server (a delivery flush waits up to a minute).
    #[cfg(feature = "reqwest")]
    pub fn new(control_url: &str) -> Result<Self, RemoteError> {
        let config = crate::HttpConfig {
            max_response_bytes: MAX_ANSWER_BYTES,
            timeout: CONTROL_TIMEOUT,
            ..crate::HttpConfig::default()
        };
        let http = crate::ReqwestClient::direct(&config).map_err(|e| RemoteError::InvalidUrl {
            url: control_url.to_owned(),
            reason: format!("no HTTP client: {e}"),
        })?;
        Self::with_client(control_url, Arc::new(http))
    }

    /// The server whose control URL is in `OOB_EMULATOR_URL`, over `http`.
    pub fn from_env_with_client(http: Arc<dyn HttpClient>) -> Result<Self, RemoteError> {
        Self::with_client(&Self::url_from_env()?, http)
    }

    /// The server at `control_url`, over `http` (bring your own client).
    pub fn with_client(control_url: &str, http: Arc<dyn HttpClient>) -> Result<Self, RemoteError> {
        let invalid = |reason: &str| RemoteError::InvalidUrl {
            url: control_url.to_owned(),
            reason: reason.to_owned(),
        };
        let url = BaseUrl::parse(control_url).map_err(|e| invalid(&e.to_string()))?;
        if url.url().scheme() != "http" || !url.is_loopback() {
            return Err(invalid(
                "the control URL is plain http:// on a loopback address",
            ));
        }
        if !matches!(url.url().path(), "" | "/") {
            return Err(invalid(
                "the control URL has no path (e.g. http://127.0.0.1:4700)",
            ));
        }
        Ok(RemoteEmulator { url, http })
    }

    /// `OOB_EMULATOR_URL`, set and not blank.
    fn url_from_env() -> Result<String, RemoteError> {
        url_from_var(std::env::var(EMULATOR_URL_ENV))
    }

    /// The control URL.
    pub fn url(&self) -> &BaseUrl {
        &self.url
    }

    /// `GET /providers`: what `--print-json` printed — `control_url`, and under `providers`
    /// each served provider's `base_url`, `api_url`, ids, keys, secrets and seeded users.
    pub async fn providers(&self) -> Result<Value, RemoteError> {
        self.call(Method::GET, "/providers", None, None, "providers")
            .await
    }

    /// One provider's entry of [`RemoteEmulator::providers`] (`base_url`, `api_url`, …).
    pub async fn provider_info(&self, provider: &str) -> Result<Value, RemoteError> {
        let mut all = self.providers().await?;
        match all.get_mut("providers").and_then(|p| p.get_mut(provider)) {
            Some(info) => Ok(info.take()),
            None => Err(RemoteError::UnknownProvider {
                provider: provider.to_owned(),
                message: "not in GET /providers".to_owned(),
            }),
        }
    }

    /// Runs `command` on `provider` (`POST /{provider}/control`) and returns its JSON answer.
    /// The model's refusal comes back as [`RemoteError::Control`] with the [`ControlError`]
    /// the model gave.
    pub async fn control(&self, provider: &str, command: &Control) -> Result<Value, RemoteError> {
        let body = serde_json::to_vec(command).map_err(|e| RemoteError::Decode {
            what: "the command (encoding it)",
            reason: e.to_string(),
        })?;
        let path = format!("/{}/control", segment(provider)?);
        self.call(
            Method::POST,
            &path,
            Some(body),
            Some((provider, command)),
            command.name(),
        )
        .await
    }

    /// The provider's pending step-ups, oldest first, with the text the user sees.
    pub async fn pending(&self, provider: &str) -> Result<Vec<PendingStepUp>, RemoteError> {
        let answer = self.control(provider, &Control::ListPending).await?;
        decode("list_pending", answer)
    }

    /// Moves the server's one clock (every provider's) forward by `seconds`; each provider
    /// settles what ran out. Returns the server's time afterwards.
    pub async fn advance_clock(&self, seconds: u64) -> Result<SystemTime, RemoteError> {
        let body = serde_json::json!({ "seconds": seconds }).to_string();
        let answer = self
            .call(
                Method::POST,
                "/clock/advance",
                Some(body.into_bytes()),
                None,
                "advance_clock",
            )
            .await?;
        now_of("advance_clock", answer)
    }

    /// The server's time (its one clock).
    pub async fn now(&self) -> Result<SystemTime, RemoteError> {
        let answer = self
            .call(Method::GET, "/clock", None, None, "clock")
            .await?;
        now_of("clock", answer)
    }

    /// The provider's most recent requests (method, path, status), oldest first.
    pub async fn read_log(&self, provider: &str) -> Result<Vec<LogEntry>, RemoteError> {
        let answer = self
            .control(provider, &Control::ReadLog { limit: None })
            .await?;
        decode("read_log", answer)
    }

    /// One call; an error answer becomes the matching [`RemoteError`] (the model's
    /// [`ControlError`] when `command` was refused).
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        command: Option<(&str, &Control)>,
        what: &'static str,
    ) -> Result<Value, RemoteError> {
        let mut builder = http::Request::builder()
            .method(method)
            .uri(self.url.join(path).as_str())
            .header(header::ACCEPT, "application/json");
        if body.is_some() {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
        }
        let request: HttpRequest =
            builder
                .body(body.unwrap_or_default())
                .map_err(|e| RemoteError::InvalidUrl {
                    url: self.url.join(path).as_str().to_owned(),
                    reason: e.to_string(),
                })?;
        let response = self.http.execute(request).await?;
        let status = response.status();
        if status.is_success() {
            return serde_json::from_slice(response.body()).map_err(|e| RemoteError::Decode {
                what,
                reason: e.to_string(),
            });
        }
        Err(error_answer(status, response.body(), command))
    }
}

/// The variable's value, set and not blank.
fn url_from_var(value: Result<String, std::env::VarError>) -> Result<String, RemoteError> {
    match value {
        Ok(url) if !url.trim().is_empty() => Ok(url),
        Ok(_) | Err(std::env::VarError::NotPresent) => Err(RemoteError::NotConfigured),
        Err(std::env::VarError::NotUnicode(_)) => Err(RemoteError::InvalidUrl {
            url: String::new(),
            reason: format!("{EMULATOR_URL_ENV} is not UTF-8"),
        }),
    }
}

/// A provider name as one path segment: no `/`, `?`, `#` or `%`, not empty.
fn segment(provider: &str) -> Result<&str, RemoteError> {
    let fine = !provider.is_empty()
        && provider
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if fine {
        Ok(provider)
    } else {
        Err(RemoteError::UnknownProvider {
            provider: provider.to_owned(),
            message: "not a provider name".to_owned(),
        })
    }
}

/// The server's error answer (`{"error": code, "message": text}`) as a [`RemoteError`].
fn error_answer(status: StatusCode, body: &[u8], command: Option<(&str, &Control)>) -> RemoteError {
    #[derive(Deserialize)]
    struct Answer {
        error: String,
        #[serde(default)]
        message: String,
    }
    let Ok(answer) = serde_json::from_slice::<Answer>(body) else {
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        return RemoteError::Server {
            status: status.as_u16(),
            message: text,
        };
    };
    let Answer { error, message } = answer;
    if error == "unknown_provider" {
        return RemoteError::UnknownProvider {
            provider: command.map_or_else(String::new, |(p, _)| p.to_owned()),
            message,
        };
    }
    let Some((provider, command)) = command else {
        return RemoteError::Server {
            status: status.as_u16(),
            message,
        };
    };
    let control = match (error.as_str(), status.as_u16()) {
        ("unsupported", 501) => ControlError::Unsupported {
            provider: PROVIDERS
                .iter()
                .find(|p| **p == provider)
                .copied()
                .unwrap_or("provider"),
            command: command.name(),
        },
        ("not_found", 404) => match not_found(&message) {
            Some(e) => e,
            // The route's own 404 (no such route), not the model's.
            None => {
                return RemoteError::Server {
                    status: status.as_u16(),
                    message,
                };
            }
        },
        ("conflict", 409) => ControlError::Conflict(message),
        ("invalid", 400) => ControlError::Invalid(
            message
                .strip_prefix("invalid command: ")
                .map_or_else(|| message.clone(), str::to_owned),
        ),
        _ => {
            return RemoteError::Server {
                status: status.as_u16(),
                message,
            };
        }
    };
    RemoteError::Control(control)
}

/// `no {what} `{id}`` (the display of [`ControlError::NotFound`]) read back.
fn not_found(message: &str) -> Option<ControlError> {
    let rest = message.strip_prefix("no ")?.strip_suffix('`')?;
    let (what, id) = rest.split_once(" `")?;
    Some(match NOT_FOUND_WHAT.iter().find(|w| **w == what) {
        Some(what) => ControlError::NotFound {
            what,
            id: id.to_owned(),
        },
        None => ControlError::NotFound {
            what: "item",
            id: message.to_owned(),
        },
    })
}

fn decode<T: serde::de::DeserializeOwned>(what: &'static str, v: Value) -> Result<T, RemoteError> {
    serde_json::from_value(v).map_err(|e| RemoteError::Decode {
        what,
        reason: e.to_string(),
    })
}

/// `{"now": seconds}` (the answer `clock_answer` writes), read with the same Unix-seconds rule
/// as every time on the wire.
fn now_of(what: &'static str, answer: Value) -> Result<SystemTime, RemoteError> {
    #[derive(serde::Deserialize)]
    struct Now {
        #[serde(with = "super::unix_time")]
        now: SystemTime,
    }
    decode::<Now>(what, answer).map(|n| n.now)
}

#[cfg(all(test, feature = "reqwest"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::emulator::{Fault, Model};
    use crate::{HttpResponse, TransportErrorKind};
    use async_trait::async_trait;
    use axum::extract::{Path, State};
    use axum::response::IntoResponse;
    use axum::routing::{get, post};
    use serde_json::json;
    use std::sync::Mutex;
    use std::time::UNIX_EPOCH;

    /// A model that refuses in every way a model can, and lists one pending step-up.
    pub(super) struct Refuser {
        pub(super) approved: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl Model for Refuser {
        fn provider(&self) -> &'static str {
            "launchkey"
        }
        async fn handle(&self, _: HttpRequest) -> HttpResponse {
            http::Response::new(Vec::new())
        }
        fn control(&self, command: Control) -> Result<Value, ControlError> {
            match command {
                Control::Approve { id } if id == "gone" => Err(ControlError::NotFound {
                    what: "authorization request",
                    id,
                }),
                Control::Approve { id } if id == "settled" => {
                    Err(ControlError::Conflict(format!("{id} is settled")))
                }
                Control::Approve { id } => {
                    self.approved.lock().unwrap().push(id.clone());
                    Ok(json!({ "approved": id }))
                }
                Control::InjectFault { .. } => {
                    Err(ControlError::Invalid("no such fault here".into()))
                }
                Control::Expire { .. } => Err(ControlError::NotFound {
                    what: "gizmo",
                    id: "g1".into(),
                }),
                Control::ListPending => Ok(json!([{
                    "provider": "launchkey", "id": "r1", "user": "alice", "title": "Log in",
                    "message": "Pay 10 EUR", "created_at": 1_700_000_000.5,
                    "expires_at": 1_700_000_300.0, "page": null
                }])),
                Control::ReadLog { .. } => Ok(json!([
                    {"at": 1_700_000_000.0, "method": "POST", "path": "/service/v3/auths", "status": 201}
                ])),
                other => Err(ControlError::Unsupported {
                    provider: "launchkey",
                    command: other.name(),
                }),
            }
        }
        fn pending(&self) -> Vec<PendingStepUp> {
            Vec::new()
        }
    }

    /// The control API's shape, as the server answers it: `{"error", "message"}` and a status.
    async fn control_api(model: Arc<Refuser>) -> String {
        async fn control(
            State(model): State<Arc<Refuser>>,
            Path(provider): Path<String>,
            body: axum::body::Bytes,
        ) -> axum::response::Response {
            if provider != "launchkey" {
                let body = json!({"error": "unknown_provider", "message": "serving: launchkey"});
                return (http::StatusCode::NOT_FOUND, axum::Json(body)).into_response();
            }
            let command: Control = serde_json::from_slice(&body).unwrap();
            match model.control(command) {
                Ok(v) => axum::Json(v).into_response(),
                Err(e) => {
                    let status = http::StatusCode::from_u16(e.status()).unwrap();
                    let body = json!({"error": e.code(), "message": e.to_string()});
                    (status, axum::Json(body)).into_response()
                }
            }
        }
        let app = axum::Router::new()
            .route("/{provider}/control", post(control))
            .route(
                "/providers",
                get(|| async {
                    axum::Json(
                        json!({"providers": {"launchkey": {"api_url": "http://127.0.0.1:1"}}}),
                    )
                }),
            )
            .route(
                "/clock/advance",
                post(|body: axum::body::Bytes| async move {
                    let v: Value = serde_json::from_slice(&body).unwrap();
                    let now = 1_700_000_000 + v["seconds"].as_u64().unwrap();
                    axum::Json(json!({ "now": now }))
                }),
            )
            .route("/clock", get(|| async { "not json" }))
            .with_state(model);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    pub(super) async fn remote() -> (RemoteEmulator, Arc<Refuser>) {
        let model = Arc::new(Refuser {
            approved: Mutex::new(Vec::new()),
        });
        let url = control_api(model.clone()).await;
        (RemoteEmulator::new(&url).unwrap(), model)
    }

    #[tokio::test]
    async fn commands_run_and_refusals_come_back_as_the_models_errors() {
        let (emulator, model) = remote().await;
        let approve = |id: &str| Control::Approve { id: id.into() };
        let ok = emulator.control("launchkey", &approve("r1")).await.unwrap();
        assert_eq!(ok, json!({"approved": "r1"}));
        assert_eq!(*model.approved.lock().unwrap(), ["r1"]);

        let err = |r: Result<Value, RemoteError>| match r {
            Err(RemoteError::Control(e)) => e,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            err(emulator.control("launchkey", &approve("gone")).await),
            ControlError::NotFound {
                what: "authorization request",
                id: "gone".into()
            }
        );
        assert_eq!(
            err(emulator.control("launchkey", &approve("settled")).await),
            ControlError::Conflict("settled is settled".into())
        );
        assert_eq!(
            err(emulator.control("launchkey", &Control::RotateKeys).await),
            ControlError::Unsupported {
                provider: "launchkey",
                command: "rotate_keys"
            }
        );
        let fault = Control::InjectFault {
            fault: Fault::status(503),
        };
        assert_eq!(
            err(emulator.control("launchkey", &fault).await),
            ControlError::Invalid("no such fault here".into())
        );
        // A word the client does not know: still NotFound, with the whole text.
        let expire = Control::Expire { id: "g1".into() };
        assert_eq!(
            err(emulator.control("launchkey", &expire).await),
            ControlError::NotFound {
                what: "item",
                id: "no gizmo `g1`".into()
            }
        );
        assert!(matches!(
            emulator.control("ciba", &approve("r1")).await,
            Err(RemoteError::UnknownProvider { provider, .. }) if provider == "ciba"
        ));
        assert!(matches!(
            emulator.control("../clock", &approve("r1")).await,
            Err(RemoteError::UnknownProvider { .. })
        ));
    }

    #[tokio::test]
    async fn pending_log_clock_and_providers_are_read() {
        let (emulator, _) = remote().await;
        let pending = emulator.pending("launchkey").await.unwrap();
        assert_eq!(pending.len(), 1);
        let p = &pending[0];
        assert_eq!((p.id.as_str(), p.user.as_str()), ("r1", "alice"));
        assert_eq!(
            (p.title.as_str(), p.message.as_str()),
            ("Log in", "Pay 10 EUR")
        );
        assert_eq!(
            p.created_at,
            UNIX_EPOCH + Duration::from_millis(1_700_000_000_500)
        );
        assert_eq!(
            p.expires_at,
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_300))
        );
        assert_eq!(p.page, None);

        let log = emulator.read_log("launchkey").await.unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(
            (log[0].method.as_str(), log[0].path.as_str(), log[0].status),
            ("POST", "/service/v3/auths", 201)
        );

        let now = emulator.advance_clock(60).await.unwrap();
        assert_eq!(now, UNIX_EPOCH + Duration::from_secs(1_700_000_060));
        assert!(matches!(
            emulator.now().await,
            Err(RemoteError::Decode { what: "clock", .. })
        ));

        let info = emulator.provider_info("launchkey").await.unwrap();
        assert_eq!(info["api_url"], "http://127.0.0.1:1");
        assert!(matches!(
            emulator.provider_info("authsignal").await,
            Err(RemoteError::UnknownProvider { .. })
        ));
    }

    #[tokio::test]
    async fn only_loopback_http_control_urls() {
        for url in [
            "https://127.0.0.1:4700",
            "http://example.com:4700",
            "http://127.0.0.1:4700/launchkey",
            "ftp://127.0.0.1",
            "not a url",
        ] {
            assert!(
                matches!(
                    RemoteEmulator::new(url),
                    Err(RemoteError::InvalidUrl { .. })
                ),
                "{url}"
            );
        }
        let e = RemoteEmulator::new("http://[::1]:4700").unwrap();
        assert_eq!(e.url().as_str(), "http://[::1]:4700");
        assert!(format!("{e:?}").contains("[::1]:4700"));
    }

    #[tokio::test]
    async fn a_server_that_is_not_there_is_a_transport_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let emulator = RemoteEmulator::new(&url).unwrap();
        match emulator.pending("launchkey").await {
            Err(RemoteError::Transport(e)) => assert_eq!(e.kind(), TransportErrorKind::Connect),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_unset_variable_is_a_clear_error() {
        // The variable's value as read (tests run in parallel: the environment stays as is).
        for unset in [Err(std::env::VarError::NotPresent), Ok("  ".to_owned())] {
            let e = url_from_var(unset).unwrap_err();
            assert!(matches!(e, RemoteError::NotConfigured));
            assert!(e.to_string().contains("OOB_EMULATOR_URL is not set"));
        }
        let url = url_from_var(Ok("http://127.0.0.1:4700".to_owned())).unwrap();
        assert_eq!(url, "http://127.0.0.1:4700");
    }

    #[test]
    fn error_answers_that_are_not_json_are_server_errors() {
        let e = error_answer(StatusCode::BAD_GATEWAY, b"<html>oops</html>", None);
        assert!(
            matches!(e, RemoteError::Server { status: 502, ref message } if message == "<html>oops</html>")
        );
        let route = br#"{"error":"not_found","message":"no such route"}"#;
        let cmd = Control::ListPending;
        let e = error_answer(StatusCode::NOT_FOUND, route, Some(("launchkey", &cmd)));
        assert!(matches!(e, RemoteError::Server { status: 404, .. }));
    }
}
