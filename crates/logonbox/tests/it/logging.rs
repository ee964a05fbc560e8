//! Logging (the official SDKs' debug switch) goes through `tracing`: it names the user, the
//! keys and the outcome, and never prints a payload or a signature.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use auth_core::Classify;
use base64::Engine;
use logonbox::emulator::{Behaviour, Emulator};
use logonbox::{Client, KeyType};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<String>>>);

struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut line = Line(format!(
            "{} {}: ",
            event.metadata().level(),
            event.metadata().target()
        ));
        event.record(&mut line);
        self.0.lock().unwrap().push(line.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[tokio::test]
async fn logs_keys_and_outcomes_but_never_payloads_or_signatures() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());

    let emulator = Emulator::start().await.unwrap();
    let lee = "lee@logonbox.com";
    let keys = emulator.add_user(lee, &[KeyType::Ed25519]).unwrap();
    let listing = format!(
        "# Authorized keys\nssh-dss AAAAB3NzaC1kc3M= old\n{}\n",
        keys[0].to_line()
    );
    emulator.set_listing(lee, listing);
    let client = Client::builder(emulator.base_url()).build().unwrap();
    let approval = client.authenticate(lee).await.unwrap();
    emulator.set_behaviour(lee, Behaviour::CorruptSignature);
    assert!(client.authenticate(lee).await.is_err());
    // Text from the phone/server cannot forge a log line.
    emulator.set_behaviour(
        lee,
        Behaviour::Reject {
            message: "no\nINFO forged: approved".into(),
        },
    );
    assert_eq!(
        client.authenticate(lee).await.unwrap_err().kind(),
        auth_core::ErrorKind::Rejected
    );

    let lines = capture.0.lock().unwrap().clone();
    let ours: Vec<&String> = lines.iter().filter(|l| l.contains(" logonbox")).collect();
    let all = ours
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(all.contains("fetched the key listing"), "{all}");
    assert!(all.contains(keys[0].fingerprint().as_str()), "{all}");
    assert!(all.contains("skipping a line"), "{all}");
    assert!(all.contains("signature verified: approved"), "{all}");
    assert!(
        all.contains("WARN") && all.contains("signature refused"),
        "{all}"
    );
    assert!(all.contains("user rejected"), "{all}");
    assert!(!lines.iter().any(|l| l.contains('\n')), "{all}");
    // Neither the payload nor the signature, in any base64 flavour or as bytes.
    for secret in [approval.signed_data(), approval.signature()] {
        for engine in [
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
        ] {
            let text = engine.encode(secret);
            assert!(!lines.iter().any(|l| l.contains(&text[..20])), "{all}");
        }
        let bytes = format!("{:?}", &secret[..8]);
        assert!(!lines.iter().any(|l| l.contains(&bytes)), "{all}");
    }
}
