//! `null` is the same as absent: every response the crate reads (the recorded transcripts of
//! `fixtures/airlock-iam/` and what the emulator answers across every flow) still parses with
//! any one optional member or list set to `null` (`auth_core::json::null_variants`).
//!
//! The few members a document cannot do without are listed in [`REQUIRED`], each with its
//! reason; the test also checks each of them really is refused, so the list stays minimal.

// Test code: panicking on a broken expectation is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airlock_iam::emulator::Emulator;
use airlock_iam::{
    Client, Device, DeviceId, ErrorDocument, MobileOnlyChallenge, Otp, Password, QrCode,
    StepResponse,
};
use auth_core::{
    HttpClient, HttpConfig, HttpRequest, HttpResponse, PollConfig, ReqwestClient, TransportError,
    async_trait,
};
use serde_json::Value;

/// Members that may not be `null` (array indices written `[]`), for every reader or only for
/// one, and why.
const REQUIRED: &[(Option<Reader>, &str, &str)] = &[
    (
        None,
        "data",
        "a success document without its resource answers nothing",
    ),
    (
        None,
        "data.type",
        "JSON:API: every resource object has a type",
    ),
    (None, "data.id", "JSON:API: every resource object has an id"),
    (
        None,
        "data[].type",
        "JSON:API: every resource object has a type",
    ),
    (
        None,
        "data[].id",
        "JSON:API: every resource object has an id (the device id to select)",
    ),
    (
        None,
        "errors",
        "an error document without errors is no error document",
    ),
    (
        None,
        "errors[].code",
        "the code is what the flow engine reports; nothing to classify without it",
    ),
    (
        Some(Reader::Challenge),
        "data.attributes",
        "the mobile-only challenge is its mobileAuthUri attribute",
    ),
    (
        Some(Reader::Challenge),
        "data.attributes.mobileAuthUri",
        "the mobile-only challenge is this URI; without it there is nothing to hand to the app",
    ),
];

fn is_required(reader: Reader, pattern: &str) -> bool {
    REQUIRED
        .iter()
        .any(|(scope, path, _)| *path == pattern && scope.is_none_or(|s| s == reader))
}

/// Which reader the client applies to a response, by the call it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reader {
    Step,
    Challenge,
    Devices,
    Qr,
    Error,
}

fn reader(path: &str, status: u16) -> Option<Reader> {
    if !(200..300).contains(&status) {
        return Some(Reader::Error);
    }
    let p = path.trim_end_matches('/');
    Some(if p.ends_with("mobile-only/challenge/retrieve") {
        Reader::Challenge
    } else if p.ends_with("devices/retrieve") {
        Reader::Devices
    } else if p.ends_with("qr-code/retrieve") {
        Reader::Qr
    } else if p.ends_with("/public/logout") || p.ends_with("/authentication/flow") {
        // The client only looks at the status of a logout.
        return None;
    } else {
        Reader::Step
    })
}

fn read(reader: Reader, status: u16, body: &[u8]) -> Result<(), String> {
    let shown = |e: airlock_iam::Error| e.to_string();
    match reader {
        Reader::Step => StepResponse::from_json(body).map(drop).map_err(shown),
        Reader::Challenge => MobileOnlyChallenge::from_json(body)
            .map(drop)
            .map_err(shown),
        Reader::Devices => Device::list_from_json(body).map(drop).map_err(shown),
        Reader::Qr => QrCode::from_json(body).map(drop).map_err(shown),
        Reader::Error => ErrorDocument::from_json(status, body)
            .map(drop)
            .ok_or_else(|| "not an error document".to_owned()),
    }
}

/// `errors[0].code` → `errors[].code`.
fn pattern(path: &str) -> String {
    let mut out = String::new();
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push_str("[]");
            }
            ']' => in_index = false,
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    out
}

/// One answer: the request path, the status and the body.
type Answer = (String, u16, Vec<u8>);

/// A transport that records every answer (request path, status, body) on its way to the client.
struct Recorder {
    inner: ReqwestClient,
    seen: Arc<Mutex<Vec<Answer>>>,
}

#[async_trait]
impl HttpClient for Recorder {
    async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let path = request.uri().path().to_owned();
        let response = self.inner.execute(request).await?;
        self.seen
            .lock()
            .unwrap()
            .push((path, response.status().as_u16(), response.body().clone()));
        Ok(response)
    }
}

/// Drives the client through every flow variant of the emulator and returns its answers.
async fn emulator_answers() -> Vec<Answer> {
    let emu = Emulator::builder()
        .temporary_lock(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let client = Client::builder(emu.base_url())
        .http_client(Arc::new(Recorder {
            inner: ReqwestClient::new(&HttpConfig::default()).unwrap(),
            seen: seen.clone(),
        }))
        .poll_config(PollConfig::every(
            Duration::from_millis(5),
            Duration::from_secs(10),
        ))
        .build()
        .unwrap();
    let pw = Password::new("password1");

    // Mobile-only: challenge, pending poll, approval.
    let flow = client.flow();
    flow.check_password("jdoe", &pw).await.unwrap();
    let challenge = flow.retrieve_mobile_only_challenge().await.unwrap();
    flow.poll().await.unwrap();
    emu.approve_session_token(challenge.uri.session_token().expose_secret());
    flow.wait().await.unwrap();
    // Application access after and before authentication.
    flow.access_application(&airlock_iam::ApplicationId::new("portal").unwrap())
        .await
        .unwrap();
    client.flow().start().await.unwrap();

    // One-Touch: pending poll, offline switch, wrong then right passcode.
    let flow = client.flow();
    flow.check_password("alice", &pw).await.unwrap();
    flow.poll().await.unwrap();
    flow.switch_to_offline().await.unwrap();
    flow.check_passcode(&Otp::new("000000x")).await.unwrap_err();
    flow.check_passcode(&Otp::new(emu.passcode("alice").unwrap()))
        .await
        .unwrap();

    // Device choice, a wrong device, selection, rejection on the phone.
    let flow = client.flow();
    flow.check_password("bob", &pw).await.unwrap();
    let devices = flow.retrieve_devices().await.unwrap();
    flow.select_device(&DeviceId::new("nope").unwrap())
        .await
        .unwrap_err();
    flow.select_device(&devices[0].id).await.unwrap();
    emu.reject("bob");
    flow.poll().await.unwrap_err();

    // Generic OTP: wrong (with a lock expiry), then right.
    let flow = client.flow();
    flow.check_password("carol", &pw).await.unwrap();
    flow.check_otp(&Otp::new("000000x")).await.unwrap_err();
    flow.check_otp(&Otp::new(emu.passcode("carol").unwrap()))
        .await
        .unwrap();

    // Online QR; offline QR after the switch.
    let flow = client.flow();
    flow.check_password("dave", &pw).await.unwrap();
    flow.retrieve_qr_code().await.unwrap();
    let flow = client.flow();
    flow.check_password("erin", &pw).await.unwrap();
    flow.switch_to_offline().await.unwrap();
    flow.retrieve_qr_code().await.unwrap();
    // A timed-out push.
    let flow = client.flow();
    flow.check_password("alice", &pw).await.unwrap();
    emu.time_out("alice");
    flow.poll().await.unwrap_err();

    // An unknown step; a password change; locked and wrong passwords; a call out of order.
    client.flow().check_password("frank", &pw).await.unwrap();
    let flow = client.flow();
    flow.check_password("grace", &pw).await.unwrap();
    flow.change_password(Some(&pw), &Password::new("short"))
        .await
        .unwrap_err();
    flow.change_password(Some(&pw), &Password::new("a-much-longer-one"))
        .await
        .unwrap();
    client
        .flow()
        .check_password("locked", &pw)
        .await
        .unwrap_err();
    client
        .flow()
        .check_password("jdoe", &Password::new("wrong"))
        .await
        .unwrap_err();
    client.flow().poll().await.unwrap_err();
    let flow = client.flow();
    flow.check_password("jdoe", &pw).await.unwrap();
    flow.poll().await.unwrap_err();
    flow.abort().await.unwrap();

    seen.lock().unwrap().clone()
}

fn fixture_answers() -> Vec<Answer> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(common::fixtures_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(name) = name.strip_suffix(".json") else {
            continue;
        };
        let fixture = common::load(name);
        for ex in fixture["exchanges"].as_array().unwrap() {
            out.push((
                ex["request"]["path"].as_str().unwrap().to_owned(),
                ex["response"]["status"].as_u64().unwrap() as u16,
                serde_json::to_vec(&ex["response"]["body"]).unwrap(),
            ));
        }
    }
    out
}

#[tokio::test]
async fn null_is_the_same_as_absent_in_every_response() {
    let mut answers = fixture_answers();
    let recorded = answers.len();
    answers.extend(emulator_answers().await);
    assert!(recorded >= 30, "{recorded} recorded answers");
    assert!(answers.len() >= recorded + 30, "{} answers", answers.len());

    let mut readers = BTreeSet::new();
    let mut refused_required = BTreeSet::new();
    let mut variants = 0;
    let mut failures = Vec::new();
    for (path, status, body) in &answers {
        let Some(reader) = reader(path, *status) else {
            continue;
        };
        readers.insert(reader);
        read(reader, *status, body)
            .unwrap_or_else(|e| panic!("{path} ({status}) does not parse as it is: {e}"));
        let value: Value = serde_json::from_slice(body).unwrap();
        for (field, nulled) in auth_core::json::null_variants(&value) {
            variants += 1;
            let bytes = serde_json::to_vec(&nulled).unwrap();
            let outcome = read(reader, *status, &bytes);
            let pattern = pattern(&field);
            match outcome {
                Err(_) if is_required(reader, &pattern) => {
                    refused_required.insert(pattern);
                }
                Err(e) => failures.push(format!("{path} ({status}) {field} = null: {e}")),
                Ok(()) => {}
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(readers.len(), 5, "every reader was exercised: {readers:?}");
    assert!(variants > 500, "{variants} variants");
    let unused: Vec<&str> = REQUIRED
        .iter()
        .map(|(_, path, _)| *path)
        .filter(|p| !refused_required.contains(*p))
        .collect();
    assert!(
        unused.is_empty(),
        "these members are listed as required but a null there parses (or never occurs): {unused:?}"
    );
}
