//! The `oob-auth-emulator` binary: flags, `--print-json`, and our own client against the
//! server in another process.

use std::process::Stdio;
use std::time::Duration;

use launchkey::AuthorizationRequest;
use serde_json::Value;
use tokio::io::AsyncBufReadExt as _;

use crate::common::{add_user, answer, ciba_client, launchkey_client, poll, post, unique};

const BIN: &str = env!("CARGO_BIN_EXE_oob-auth-emulator");

/// The binary, started on free ports; its `--print-json` line.
async fn spawn(extra: &[&str]) -> (tokio::process::Child, Value) {
    let dir = std::env::temp_dir().join(unique("oob-emu-bin"));
    let mut child = tokio::process::Command::new(BIN)
        .args(["--base-port", "0", "--print-json", "--dir"])
        .arg(&dir)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the emulator prints its JSON line")
        .unwrap()
        .expect("a line");
    (child, serde_json::from_str(&line).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_prints_what_clients_need_and_serves_them() {
    let (mut child, info) = spawn(&["--user", "alice"]).await;
    for name in [
        "launchkey",
        "authsignal",
        "airlock-iam",
        "logonbox",
        "onegini-model",
        "ciba",
    ] {
        assert!(
            info["providers"][name]["api_url"].is_string(),
            "{name}: {info}"
        );
    }
    assert!(info["providers"]["launchkey"]["users"]["alice"].is_object());
    let control = info["control_url"].as_str().unwrap().to_owned();

    // Our LaunchKey client, in this process; the emulator in another; the phone over HTTP.
    let client = launchkey_client(&info);
    let user = unique("bin");
    add_user(&control, "launchkey", &user).await;
    let created = client
        .authorize(&AuthorizationRequest::new(user.as_str()))
        .await
        .unwrap();
    let (status, body) = post(
        &format!(
            "{control}/launchkey/step-ups/{}/approve",
            created.id.as_str()
        ),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        client
            .wait_for_response(&created.id, &poll())
            .await
            .unwrap()
            .authorized
    );
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn help_usage_errors_and_a_busy_port_say_what_is_wrong() {
    let out = std::process::Command::new(BIN)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--base-port"));

    let out = std::process::Command::new(BIN)
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--bogus"));

    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let out = std::process::Command::new(BIN)
        .args(["--base-port", "0", "--port", &format!("control={port}")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&port) && err.contains("control API"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_human_summary_names_every_url() {
    let dir = std::env::temp_dir().join(unique("oob-emu-sum"));
    let mut child = tokio::process::Command::new(BIN)
        .args(["--base-port", "0", "--only", "authsignal", "--dir"])
        .arg(&dir)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut text = String::new();
    while let Ok(Some(line)) = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .unwrap()
    {
        text.push_str(&line);
        text.push('\n');
        if line.contains("Ctrl-C") {
            break;
        }
    }
    assert!(
        text.contains("phone page and control API: http://127.0.0.1:"),
        "{text}"
    );
    assert!(
        text.contains("api_url: http://127.0.0.1:") && text.contains("/v1"),
        "{text}"
    );
    assert!(text.contains("secret_key: "), "{text}");
    assert!(!text.contains("launchkey"), "--only authsignal: {text}");
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_serves_ciba_from_flags_to_our_client() {
    use ciba::{AuthenticationRequest, Outcome};
    let (mut child, info) = spawn(&[
        "--only",
        "ciba",
        "--user",
        "carol",
        "--setting",
        "ciba.interval=1",
    ])
    .await;
    let providers = info["providers"].as_object().unwrap();
    assert_eq!(providers.keys().collect::<Vec<_>>(), ["ciba"], "{info}");
    let c = &info["providers"]["ciba"];
    let issuer = c["issuer"].as_str().unwrap();
    assert_eq!(c["base_url"].as_str(), Some(issuer));
    assert_eq!(c["interval"], 1);
    assert!(c["users"]["carol"].is_object(), "{info}");
    let control = info["control_url"].as_str().unwrap().to_owned();

    let client = ciba_client(&info).build().unwrap();
    let started = client
        .authenticate(AuthenticationRequest::login_hint("carol").binding_message("Carol? C3"))
        .await
        .unwrap();
    answer(&control, "ciba", started.auth_req_id.as_str(), "approve").await;
    let outcome = tokio::time::timeout(Duration::from_secs(30), client.poll(&started))
        .await
        .unwrap()
        .unwrap();
    let Outcome::Approved(tokens) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(tokens.claims.sub, "carol");
    child.kill().await.unwrap();
}
