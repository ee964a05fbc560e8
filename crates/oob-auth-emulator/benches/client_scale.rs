//! Client memory at scale: N concurrent pending step-ups through ONE client of each polling
//! provider, the emulator in another process (the `oob-auth-emulator` binary), so the figure is
//! the client's alone.
//!
//! For each provider and N: N step-ups are started at once through `auth_core::StepUp::start`
//! and each waited on with `StepUp::wait` (one client, its default limit of requests in flight);
//! once all are pending, the "user" approves every one through the emulator's control API;
//! every wait must end `Approved`. Reported: the client process's peak resident memory
//! (`VmHWM`, read from `/proc/self/status` in a fresh child process per row), the HTTP requests
//! the client sent per step-up, failures and wall time.
//!
//!     cargo bench -p oob-auth-emulator --bench client_scale                 # 1,000 and 10,000
//!     cargo bench -p oob-auth-emulator --bench client_scale -- 2000 launchkey
//!
//! Linux only (procfs). Prints a Markdown table.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use auth_core::{
    Config, HttpClient, HttpConfig, HttpRequest, HttpResponse, PollConfig, StepUp, StepUpOutcome,
    StepUpRequest, TransportError,
};
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt as _;

const BIN: &str = env!("CARGO_BIN_EXE_oob-auth-emulator");
/// Concurrency of the bench's own control-API calls (setting up users, approving).
const CONTROL_CONCURRENCY: usize = 16;
/// How many pending step-ups the approver lists at a time.
const PAGE: usize = 256;

/// One pending step-up as the control API lists it (only its id is needed here).
#[derive(serde::Deserialize)]
struct Listed {
    id: String,
}
const PROVIDERS: &[&str] = &["launchkey", "authsignal", "airlock-iam"];

type Fail = Box<dyn std::error::Error + Send + Sync>;

/// Counts the requests the client sends, then hands them to the default client.
struct Counting {
    inner: auth_core::ReqwestClient,
    sent: AtomicU64,
}

#[auth_core::async_trait]
impl HttpClient for Counting {
    async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.sent.fetch_add(1, Ordering::Relaxed);
        self.inner.execute(request).await
    }
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

async fn post(http: &reqwest::Client, url: &str, body: &Value) -> Result<Value, Fail> {
    let r = http
        .post(url)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body)?)
        .send()
        .await?;
    let status = r.status();
    let bytes = r.bytes().await?;
    if !status.is_success() {
        return Err(format!("{url}: {status} {}", String::from_utf8_lossy(&bytes)).into());
    }
    Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Runs `f` over `items` with at most `CONTROL_CONCURRENCY` at once.
async fn each<T, F, Fut>(items: Vec<T>, f: F) -> Result<(), Fail>
where
    T: Send + 'static,
    F: Fn(T) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), Fail>> + Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    for item in items {
        while tasks.len() >= CONTROL_CONCURRENCY {
            if let Some(r) = tasks.join_next().await {
                r??;
            }
        }
        let f = f.clone();
        tasks.spawn(async move { f(item).await });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    Ok(())
}

struct Row {
    provider: String,
    n: usize,
    peak_kib: u64,
    requests: u64,
    failures: usize,
    wall: Duration,
}

/// One measurement: N step-ups through one client.
async fn measure<S: StepUp + 'static>(
    provider: &str,
    n: usize,
    client: Arc<S>,
    counter: Arc<Counting>,
    control: String,
    users: Vec<String>,
) -> Result<Row, Fail> {
    let started = Instant::now();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONTROL_CONCURRENCY)
        .build()?;
    let poll = PollConfig::every(Duration::from_secs(10), Duration::from_secs(900));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut waits = tokio::task::JoinSet::new();
    for user in users {
        let (client, tx, poll) = (client.clone(), tx.clone(), poll.clone());
        waits.spawn(async move {
            let request = StepUpRequest::new(user, "Confirm payment", "Pay 10.00 EUR to ACME?")
                .with_ttl(Duration::from_secs(600));
            let handle = match client.start(request).await {
                Ok(started) => started.into_handle(),
                Err(e) => return Err(format!("start: {e}")),
            };
            let _ = tx.send(());
            drop(tx); // the approver stops listening once every step-up is pending
            match client.wait(&handle, &poll).await {
                Ok(StepUpOutcome::Approved { .. }) => Ok(()),
                Ok(other) => Err(format!("{other:?}")),
                Err(e) => Err(format!("wait: {e}")),
            }
        });
    }
    drop(tx);
    // Once every step-up is pending, the user approves each one the emulator lists.
    let mut started_count = 0;
    while rx.recv().await.is_some() {
        started_count += 1;
    }
    // In pages, so the approver's own share of this process stays small: the newest
    // `PAGE` pending step-ups, each approved, until none is left.
    let mut approved = 0;
    loop {
        let page = http
            .get(format!(
                "{control}/pending?provider={provider}&limit={PAGE}"
            ))
            .send()
            .await?
            .bytes()
            .await?;
        let ids: Vec<String> = serde_json::from_slice::<Vec<Listed>>(&page)?
            .into_iter()
            .map(|p| p.id)
            .collect();
        drop(page);
        if ids.is_empty() {
            break;
        }
        approved += ids.len();
        let (http, control, provider) = (http.clone(), control.clone(), provider.to_owned());
        each(ids, move |id: String| {
            let (http, control, provider) = (http.clone(), control.clone(), provider.clone());
            async move {
                let id = auth_core::base_url::encode_path_segment(&id);
                post(
                    &http,
                    &format!("{control}/{provider}/step-ups/{id}/approve"),
                    &json!({}),
                )
                .await
                .map(|_| ())
            }
        })
        .await?;
    }
    if approved != started_count {
        eprintln!("{provider} n={n}: {started_count} started, {approved} approved");
    }
    let mut failures = 0;
    let mut first_failure = None;
    while let Some(r) = waits.join_next().await {
        if let Err(e) = r.map_err(|e| e.to_string()).and_then(|r| r) {
            failures += 1;
            first_failure.get_or_insert(e);
        }
    }
    if let Some(e) = first_failure {
        eprintln!("{provider} n={n}: first failure: {e}");
    }
    Ok(Row {
        provider: provider.to_owned(),
        n,
        peak_kib: peak_rss_kib(),
        requests: counter.sent.load(Ordering::Relaxed),
        failures,
        wall: started.elapsed(),
    })
}

fn counting_config() -> Result<(Config, Arc<Counting>), Fail> {
    let http = HttpConfig {
        timeout: Duration::from_secs(120),
        ..HttpConfig::default()
    };
    let counter = Arc::new(Counting {
        inner: auth_core::ReqwestClient::with_pool(&http, auth_core::http::DEFAULT_MAX_IN_FLIGHT)?,
        sent: AtomicU64::new(0),
    });
    let config = Config::new()
        .http_config(http)
        .http_client(counter.clone() as Arc<dyn HttpClient>);
    Ok((config, counter))
}

/// The child: one provider, one N, printed as one JSON line.
async fn child(provider: &str, n: usize) -> Result<(), Fail> {
    let dir = std::env::temp_dir().join(format!("oob-client-scale-{}", std::process::id()));
    let mut emulator = tokio::process::Command::new(BIN)
        .args([
            "--base-port",
            "0",
            "--print-json",
            "--only",
            provider,
            "--dir",
        ])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = emulator.stdout.take().ok_or("no stdout")?;
    let line = tokio::io::BufReader::new(stdout)
        .lines()
        .next_line()
        .await?
        .ok_or("the emulator printed nothing")?;
    let info: Value = serde_json::from_str(&line)?;
    let control = info["control_url"]
        .as_str()
        .ok_or("no control URL")?
        .to_owned();
    let p = &info["providers"][provider];
    let api = p["api_url"].as_str().ok_or("no api_url")?.to_owned();
    let users: Vec<String> = (0..n).map(|i| format!("scale-{i}")).collect();
    let setup = reqwest::Client::new();
    {
        let (setup, control, provider) = (setup.clone(), control.clone(), provider.to_owned());
        each(users.clone(), move |user: String| {
            let (setup, control, provider) = (setup.clone(), control.clone(), provider.clone());
            async move {
                post(
                    &setup,
                    &format!("{control}/{provider}/users"),
                    &json!({"user": user}),
                )
                .await
                .map(|_| ())
            }
        })
        .await?;
    }
    let (config, counter) = counting_config()?;
    let row = match provider {
        "launchkey" => {
            let client = launchkey::Client::builder(
                launchkey::ServiceId::parse(p["service_id"].as_str().ok_or("service id")?)?,
                launchkey::ServicePrivateKey::from_pem(
                    p["service_private_key_pem"].as_str().ok_or("key")?,
                )?,
            )
            .config(&config)
            .base_url(api.as_str())
            .build()?;
            measure(provider, n, Arc::new(client), counter, control, users).await?
        }
        "authsignal" => {
            post(
                &setup,
                &format!("{control}/authsignal/rules"),
                &json!([{"id": "scale", "action": "step-up", "outcome": "CHALLENGE"}]),
            )
            .await?;
            let client = authsignal::Client::builder(authsignal::SecretKey::new(
                p["secret_key"].as_str().ok_or("secret")?,
            ))
            .config(&config)
            .base_url(api.as_str())
            .step_up_action(authsignal::ActionCode::new("step-up")?)
            .build()?;
            measure(provider, n, Arc::new(client), counter, control, users).await?
        }
        "airlock-iam" => {
            let password = p["default_password"].as_str().ok_or("password")?.to_owned();
            let client = Arc::new(
                airlock_iam::Client::builder(api.as_str())
                    .config(&config)
                    .target_application(airlock_iam::ApplicationId::new("portal")?)
                    .step_up_application(airlock_iam::ApplicationId::new("ebanking")?)
                    .build()?,
            );
            // Each user logs in with a password first: the step-up raises that session.
            let c = client.clone();
            each(users.clone(), move |user: String| {
                let (c, password) = (c.clone(), password.clone());
                async move {
                    let flow = c.flow();
                    flow.start().await?;
                    flow.check_password(&user, &airlock_iam::Password::new(password))
                        .await?;
                    c.attach_session(&user, flow.save());
                    Ok(())
                }
            })
            .await?;
            measure(provider, n, client, counter, control, users).await?
        }
        other => return Err(format!("unknown provider {other}").into()),
    };
    println!(
        "{}",
        json!({
            "provider": row.provider, "n": row.n, "peak_kib": row.peak_kib,
            "requests": row.requests, "failures": row.failures,
            "wall_ms": u64::try_from(row.wall.as_millis()).unwrap_or(u64::MAX),
        })
    );
    emulator.kill().await?;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

fn main() -> Result<(), Fail> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if let Some(pos) = args.iter().position(|a| a == "--child") {
        let provider = args.get(pos + 1).ok_or("--child <provider> <n>")?.clone();
        let n: usize = args.get(pos + 2).ok_or("--child <provider> <n>")?.parse()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        return runtime.block_on(child(&provider, n));
    }
    let counts: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let counts = if counts.is_empty() {
        vec![1_000, 10_000]
    } else {
        counts
    };
    let chosen: Vec<&str> = PROVIDERS
        .iter()
        .copied()
        .filter(|p| {
            !args.iter().any(|a| PROVIDERS.contains(&a.as_str())) || args.iter().any(|a| a == p)
        })
        .collect();
    println!(
        "| provider | step-ups | client peak RSS | requests per step-up | failures | wall time |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    let me = std::env::current_exe()?;
    for provider in chosen {
        for &n in &counts {
            // A fresh process per row, so each peak is that row's own.
            let out = std::process::Command::new(&me)
                .args(["--child", provider, &n.to_string()])
                .stderr(Stdio::inherit())
                .output()?;
            let line = String::from_utf8_lossy(&out.stdout);
            let Some(v) = line
                .lines()
                .last()
                .and_then(|l| serde_json::from_str::<Value>(l).ok())
            else {
                println!("| {provider} | {n} | (failed: exit {}) | | | |", out.status);
                continue;
            };
            let per = v["requests"].as_f64().unwrap_or(0.0) / n as f64;
            println!(
                "| {provider} | {n} | {:.1} MiB | {per:.1} | {} | {:.1} s |",
                v["peak_kib"].as_f64().unwrap_or(0.0) / 1024.0,
                v["failures"],
                v["wall_ms"].as_f64().unwrap_or(0.0) / 1000.0
            );
        }
    }
    Ok(())
}
