//! Memory at scale: the `oob-auth-emulator` binary, in its own process, holding N pending
//! step-ups (half LaunchKey authorization requests, half Authsignal challenges, each made
//! through the provider's own API by our clients), and its resident memory read from
//! `/proc/<pid>/status` (VmRSS now, VmHWM the peak).
//!
//!     cargo bench -p oob-auth-emulator --bench scale            # 10,000 pending
//!     cargo bench -p oob-auth-emulator --bench scale -- 2000    # another count
//!
//! Linux only (procfs). Prints a Markdown table.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use launchkey::AuthorizationRequest;
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt as _;

const BIN: &str = env!("CARGO_BIN_EXE_oob-auth-emulator");
const IN_FLIGHT: usize = 16;

type Fail = Box<dyn std::error::Error + Send + Sync>;

fn memory(pid: u32) -> Result<(u64, u64), Fail> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    Ok((kb("VmRSS:"), kb("VmHWM:")))
}

fn mib(kb: u64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
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
    Ok(serde_json::from_slice(&bytes)?)
}

#[tokio::main]
async fn main() -> Result<(), Fail> {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let dir = std::env::temp_dir().join(format!("oob-emu-scale-{}", std::process::id()));
    let mut child = tokio::process::Command::new(BIN)
        .args([
            "--base-port",
            "0",
            "--print-json",
            "--only",
            "launchkey,authsignal",
            "--dir",
        ])
        .arg(&dir)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().ok_or("no pid")?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
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
    let lk = &info["providers"]["launchkey"];
    let sig = &info["providers"]["authsignal"];
    let http = reqwest::Client::new();
    let mut rows = vec![("started, idle".to_owned(), 0usize, memory(pid)?)];

    // Authsignal: one rule, users enrolled by the control API, one challenged track each.
    post(
        &http,
        &format!("{control}/authsignal/rules"),
        &json!([{"id": "scale", "action": "pay", "outcome": "CHALLENGE"}]),
    )
    .await?;
    let client = Arc::new(
        launchkey::Client::builder(
            launchkey::ServiceId::parse(lk["service_id"].as_str().ok_or("service id")?)?,
            launchkey::ServicePrivateKey::from_pem(
                lk["service_private_key_pem"].as_str().ok_or("key")?,
            )?,
        )
        .base_url(lk["api_url"].as_str().ok_or("url")?)
        .build()?,
    );
    let api = sig["api_url"].as_str().ok_or("url")?.to_owned();
    let secret = sig["secret_key"].as_str().ok_or("secret")?.to_owned();

    let started = Instant::now();
    let limit = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let permit = limit.clone().acquire_owned().await?;
        let (http, control, client, api, secret) = (
            http.clone(),
            control.clone(),
            client.clone(),
            api.clone(),
            secret.clone(),
        );
        tasks.spawn(async move {
            let _permit = permit;
            let user = format!("scale-{i}");
            if i % 2 == 0 {
                post(
                    &http,
                    &format!("{control}/launchkey/users"),
                    &json!({"user": user}),
                )
                .await?;
                client
                    .authorize(
                        &AuthorizationRequest::new(user.as_str())
                            .context("Pay 10.00 EUR to ACME")
                            .ttl(Duration::from_secs(600)),
                    )
                    .await?;
            } else {
                post(
                    &http,
                    &format!("{control}/authsignal/users"),
                    &json!({"user": user}),
                )
                .await?;
                let r = http
                    .post(format!("{api}/users/{user}/actions/pay"))
                    .basic_auth(&secret, Some(""))
                    .header("content-type", "application/json")
                    .body("{}")
                    .send()
                    .await?;
                let v: Value = serde_json::from_slice(&r.bytes().await?)?;
                if v["state"] != "CHALLENGE_REQUIRED" {
                    return Err::<(), Fail>(format!("track: {v}").into());
                }
            }
            Ok(())
        });
        while tasks.len() > IN_FLIGHT {
            if let Some(r) = tasks.join_next().await {
                r??;
            }
        }
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    let took = started.elapsed();
    let counted = http
        .get(format!("{control}/pending?limit=1"))
        .send()
        .await?
        .headers()
        .get("x-total-count")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    rows.push((
        format!("{n} step-ups created ({took:.1?})"),
        counted,
        memory(pid)?,
    ));
    let all = http
        .get(format!("{control}/pending"))
        .send()
        .await?
        .bytes()
        .await?;
    rows.push((
        format!("after listing them all ({} KiB of JSON)", all.len() / 1024),
        counted,
        memory(pid)?,
    ));

    println!("| server state | pending | VmRSS | VmHWM (peak) |");
    println!("| --- | ---: | ---: | ---: |");
    for (what, pending, (rss, hwm)) in rows {
        println!("| {what} | {pending} | {} | {} |", mib(rss), mib(hwm));
    }
    child.kill().await?;
    let _ = std::fs::remove_dir_all(dir);
    if counted != n {
        return Err(format!("{counted} pending, expected {n}").into());
    }
    Ok(())
}
