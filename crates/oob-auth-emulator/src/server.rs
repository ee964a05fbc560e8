//! Starting and stopping: ports, TLS, the providers' models, seeds, the control API.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use auth_core::emulator::{Control, Model, OffsetClock};
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::control::{self, Hub};
use crate::delivery::{DELIVERY_TIMEOUT, Delivery};
use crate::options::{Options, Provider};
use crate::providers::{self, Ctx};
use crate::served::Served;
use crate::tls::{Tls, TlsListener};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A port could not be bound.
    #[error(
        "cannot listen on {addr} ({what}): {source} (pick other ports with --base-port or --port)"
    )]
    Bind {
        /// For what.
        what: String,
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The certificate could not be made.
    #[error("TLS: {0}")]
    Tls(String),
    /// A provider's model could not be set up (bad settings, a key that does not parse…).
    #[error("{provider}: {message}")]
    Provider {
        /// The provider.
        provider: Provider,
        /// What went wrong.
        message: String,
    },
}

impl StartError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> StartError {
        StartError::Io {
            path: path.to_owned(),
            source,
        }
    }

    pub(crate) fn provider(provider: Provider, message: impl std::fmt::Display) -> StartError {
        StartError::Provider {
            provider,
            message: message.to_string(),
        }
    }
}

/// The running emulator server: every provider's API on its port, the control API and the
/// phone page on another. Dropping it stops everything.
pub struct Server {
    hub: Arc<Hub>,
    control_url: String,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("control_url", &self.control_url)
            .field("providers", &self.hub.served.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn url_host(bind: IpAddr) -> String {
    match bind {
        IpAddr::V4(v4) if v4.is_unspecified() => Ipv4Addr::LOCALHOST.to_string(),
        IpAddr::V6(v6) if v6.is_unspecified() => format!("[{}]", Ipv6Addr::LOCALHOST),
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

async fn bind(what: &str, ip: IpAddr, port: u16) -> Result<TcpListener, StartError> {
    let addr = SocketAddr::new(ip, port);
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind {
            what: what.to_owned(),
            addr,
            source,
        })
}

fn spawn_serving(
    listener: TcpListener,
    tls: Option<&Tls>,
    app: axum::Router,
    mut stop: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, StartError> {
    let stopped = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    Ok(match tls {
        None => tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await;
        }),
        Some(tls) => {
            let listener = TlsListener::new(listener, tls.acceptor.clone())
                .map_err(|e| StartError::Tls(e.to_string()))?;
            tokio::spawn(async move {
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(stopped)
                    .await;
            })
        }
    })
}

impl Server {
    /// Starts every provider in `options`, seeds its users and rules, and serves the control
    /// API. Must run inside a multi-threaded tokio runtime.
    pub async fn start(options: Options) -> Result<Server, StartError> {
        let host = url_host(options.bind);
        let control_listener =
            bind("the control API", options.bind, options.control_port()).await?;
        let control_port = control_listener
            .local_addr()
            .map_err(|e| StartError::Tls(e.to_string()))?
            .port();
        let mut listeners = Vec::new();
        for provider in Provider::ALL.into_iter().filter(|p| options.serves(*p)) {
            let listener = bind(provider.name(), options.bind, options.port_of(provider)).await?;
            listeners.push((provider, listener));
        }

        let dir = options.dir.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("oob-auth-emulator-{control_port}"))
        });
        std::fs::create_dir_all(&dir).map_err(|e| StartError::io(&dir, e))?;
        let tls = if options.tls {
            let mut names = vec![
                "localhost".to_owned(),
                "127.0.0.1".to_owned(),
                "::1".to_owned(),
            ];
            if !options.bind.is_unspecified() && !options.bind.is_loopback() {
                names.push(options.bind.to_string());
            }
            Some(Tls::generate(&dir, names)?)
        } else {
            None
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let control_url = format!("{scheme}://{host}:{control_port}");

        let clock = OffsetClock::new();
        // What providers send on their own (webhooks, notifications) goes out through this,
        // straight to the URL given (never through a proxy from the environment).
        let http: Arc<dyn auth_core::HttpClient> = Arc::new(
            auth_core::ReqwestClient::direct(&auth_core::HttpConfig {
                connect_timeout: DELIVERY_TIMEOUT,
                timeout: DELIVERY_TIMEOUT,
                ..auth_core::HttpConfig::default()
            })
            .map_err(|e| StartError::Tls(format!("the delivery client: {e}")))?,
        );
        let (stop, stop_rx) = watch::channel(false);
        let mut served = BTreeMap::new();
        let mut provider_info = Map::new();
        let mut tasks = Vec::new();
        for (provider, listener) in listeners {
            let port = listener
                .local_addr()
                .map_err(|e| StartError::provider(provider, e))?
                .port();
            let base_url = format!("{scheme}://{host}:{port}");
            let settings = options
                .providers
                .get(&provider)
                .map(|p| p.settings.clone())
                .unwrap_or(Value::Null);
            let ctx = Ctx {
                base_url: &base_url,
                clock: clock.clone(),
                log_capacity: options.log_capacity,
                dir: &dir,
                settings: &settings,
            };
            let built = providers::build(provider, &ctx).await?;
            let delivery = built.outbox.map(|outbox| {
                let (delivery, task) =
                    Delivery::new(provider.name(), outbox, http.clone(), clock.clone());
                tasks.push(tokio::spawn(task));
                if delivery.ticks() {
                    tasks.push(tokio::spawn(delivery.clone().tick()));
                }
                delivery
            });
            let model = Arc::new(Served::new(
                built.model,
                options.log_capacity,
                clock.clone(),
                base_url.clone(),
                built.default_user_details,
                delivery,
            ));
            let users = seed(provider, &model, &options).await?;

            let mut info = Map::new();
            info.insert("base_url".into(), json!(base_url));
            info.insert(
                "api_url".into(),
                json!(format!("{base_url}{}", built.api_path)),
            );
            info.insert(
                "control_url".into(),
                json!(format!("{control_url}/{}", provider.name())),
            );
            info.extend(built.info);
            info.insert("users".into(), Value::Object(users));
            provider_info.insert(provider.name().into(), Value::Object(info));

            let app = auth_core::emulator::router(model.clone() as Arc<dyn Model>);
            tasks.push(spawn_serving(listener, tls.as_ref(), app, stop_rx.clone())?);
            served.insert(provider, model);
        }

        let info = json!({
            "control_url": control_url,
            "phone_url": format!("{control_url}/"),
            "tls": tls.as_ref().map(|t| json!({
                "certificate": t.certificate,
                "private_key": t.private_key,
            })),
            "dir": dir,
            "log_capacity": options.log_capacity,
            "providers": provider_info,
        });
        let hub = Arc::new(Hub {
            served,
            clock,
            info,
        });
        tasks.push(spawn_serving(
            control_listener,
            tls.as_ref(),
            control::router(hub.clone()),
            stop_rx,
        )?);
        Ok(Server {
            hub,
            control_url,
            stop,
            tasks,
        })
    }

    /// The control API's URL (also the phone page's), without a trailing slash.
    pub fn control_url(&self) -> &str {
        &self.control_url
    }

    /// Everything a client needs, as `--print-json` prints it: URLs, ids, keys, secrets.
    pub fn info(&self) -> &Value {
        &self.hub.info
    }

    /// The URL an official SDK takes as the provider's base (`api_url` in [`Server::info`]).
    pub fn api_url(&self, provider: Provider) -> Option<&str> {
        self.hub.info["providers"][provider.name()]["api_url"].as_str()
    }

    /// The providers served.
    pub fn providers(&self) -> Vec<Provider> {
        self.hub.served.keys().copied().collect()
    }

    /// Runs a control command on `provider` (as `POST /{provider}/control` does).
    pub async fn control(
        &self,
        provider: Provider,
        command: Control,
    ) -> Result<Value, auth_core::emulator::ControlError> {
        let Some(served) = self.hub.served.get(&provider).cloned() else {
            return Err(auth_core::emulator::ControlError::NotFound {
                what: "provider",
                id: provider.name().to_owned(),
            });
        };
        control::run_blocking(served, command).await
    }

    /// The provider's model, as served (to call it in-process).
    pub fn model(&self, provider: Provider) -> Option<Arc<dyn Model>> {
        self.hub.served.get(&provider).map(|s| s.inner().clone())
    }

    /// Waits until the server is stopped (never, unless a task fails).
    pub async fn wait(&mut self) {
        for task in &mut self.tasks {
            let _ = task.await;
        }
    }
}

/// Creates the seeded users and rules; answers what each `add_user` returned, by user.
async fn seed(
    provider: Provider,
    model: &Arc<Served>,
    options: &Options,
) -> Result<Map<String, Value>, StartError> {
    let mut created = Map::new();
    let own = options.providers.get(&provider);
    let users: Vec<(String, Value)> = options
        .users
        .iter()
        .map(|u| (u.clone(), Value::Null))
        .chain(
            own.into_iter()
                .flat_map(|o| o.users.iter().map(|u| (u.user.clone(), u.details.clone()))),
        )
        .collect();
    for (user, details) in users {
        let command = Control::AddUser {
            user: user.clone(),
            details,
        };
        let answer = control::run_blocking(model.clone(), command)
            .await
            .map_err(|e| StartError::provider(provider, format!("user `{user}`: {e}")))?;
        created.insert(user, answer);
    }
    if let Some(rules) = own.and_then(|o| o.rules.clone()) {
        control::run_blocking(model.clone(), Control::SetRules { rules })
            .await
            .map_err(|e| StartError::provider(provider, format!("rules: {e}")))?;
    }
    Ok(created)
}
