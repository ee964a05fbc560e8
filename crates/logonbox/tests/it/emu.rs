//! The credential server a conformance scenario runs against, through one test-side API: the
//! crate's emulator over a loopback socket or in process, or the `oob-auth-emulator` server
//! binary (its control URL in `OOB_EMULATOR_URL`), driven through the control API.
//!
//! Auth-core's [`Controller`] runs the control commands either way; [`Setup`] adds the
//! credential server's own words on top.
//!
//! The server is shared by every scenario of a run (one at a time): each scenario's users are
//! its own (unique principals), what it reads back (sign requests, pending requests) is its own
//! users', and its setup puts the server-wide settings (padding, retention) back first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_core::BaseUrl;
use auth_core::emulator::testing::Controller;
pub use auth_core::emulator::testing::Wire;
use auth_core::emulator::{Control, ControlError, PendingStepUp};
use logonbox::emulator::{Behaviour, DEFAULT_ANSWER_TIMEOUT, DEFAULT_RECORD_CAPACITY, Emulator};
use logonbox::{AuthorizedKey, Client, ClientBuilder, KeyType};
use serde_json::{Value, json};

use crate::common::b64url;

/// The provider's name at the server.
pub const PROVIDER: &str = "logonbox";

/// One sign request the phone received (the model's `SignRecord`, read either way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sign {
    pub flow: String,
    pub username: String,
    pub fingerprint: String,
    pub flags: u32,
    pub text: String,
    pub authorize_text: String,
    pub remote_name: String,
    pub payload_len: usize,
    pub payload_field: String,
}

/// What a scenario gets: the wire, the emulator behind it, and the users it made.
pub struct Setup {
    /// How the client reaches the emulator.
    pub wire: Wire,
    emu: Emu,
    /// Runs the control commands on it.
    ctl: Controller,
    /// This scenario's users (what it reads back is theirs).
    users: Mutex<Vec<String>>,
    /// Key listings served before the scenario began.
    listings_before: usize,
}

enum Emu {
    Local(Emulator),
    Remote(Remote),
}

struct Remote {
    base_url: BaseUrl,
    /// The public keys of each user this scenario added (the server answers them at
    /// `add_user`).
    keys: Mutex<HashMap<String, Vec<AuthorizedKey>>>,
}

/// A string no other scenario (or run against the same server) uses: lowercase hex.
pub fn unique_hex(digits: usize) -> String {
    let mut rng = fastrand::Rng::new();
    (0..digits)
        .map(|_| char::from_digit(rng.u32(..16), 16).unwrap())
        .collect()
}

impl Setup {
    /// A fresh emulator (socket, in process), or the server binary (fails loudly without it).
    pub async fn start(wire: Wire) -> Setup {
        let (emu, ctl) = match wire {
            Wire::Socket | Wire::InProcess => {
                let e = Emulator::start().await.unwrap();
                let ctl = Controller::local(e.model());
                (Emu::Local(e), ctl)
            }
            Wire::Binary => {
                let (ctl, info) = Controller::connect(PROVIDER)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let base_url = info.url("base_url").unwrap();
                let remote = Remote {
                    base_url,
                    keys: Mutex::new(HashMap::new()),
                };
                (Emu::Remote(remote), ctl)
            }
        };
        let mut s = Setup {
            wire,
            emu,
            ctl,
            users: Mutex::new(Vec::new()),
            listings_before: 0,
        };
        if let Emu::Remote(_) = &s.emu {
            s.provider(json!({
                "padded_signatures": false, "padded_responses": false,
                "retention": DEFAULT_RECORD_CAPACITY
            }))
            .await;
            s.listings_before = s.records().await.1;
        }
        s
    }

    /// The credential server's URL.
    pub fn base_url(&self) -> &BaseUrl {
        match &self.emu {
            Emu::Local(e) => e.base_url(),
            Emu::Remote(r) => &r.base_url,
        }
    }

    /// A client builder on this wire.
    pub fn client_builder(&self) -> ClientBuilder {
        let builder = Client::builder(self.base_url());
        match (&self.emu, self.wire) {
            (Emu::Local(e), Wire::InProcess) => builder.http_client(e.in_process()),
            _ => builder,
        }
    }

    /// The HTTP client a client on this wire uses.
    pub fn http(&self) -> Arc<dyn auth_core::HttpClient> {
        match (&self.emu, self.wire) {
            (Emu::Local(e), Wire::InProcess) => e.in_process(),
            _ => {
                Arc::new(auth_core::ReqwestClient::new(&auth_core::HttpConfig::default()).unwrap())
            }
        }
    }

    /// A principal of this scenario alone: `<name>-<hex>@<domain>` (`domain` after the
    /// last `@` of `like`).
    pub fn principal(&self, like: &str) -> String {
        let (name, domain) = like.rsplit_once('@').unwrap_or((like, "logonbox.com"));
        let principal = format!("{name}-{}@{domain}", unique_hex(10));
        self.users.lock().unwrap().push(principal.clone());
        principal
    }

    /// A principal of this scenario of exactly `len` characters (`p<hex>@lb.example`).
    pub fn principal_of_len(&self, len: usize) -> String {
        let principal = format!("p{}@lb.example", unique_hex(len - 12));
        assert_eq!(principal.len(), len);
        self.users.lock().unwrap().push(principal.clone());
        principal
    }

    /// Adds (or replaces) a user with fresh keys of these types, approving; its public keys.
    pub async fn add_user(&self, principal: &str, keys: &[KeyType]) -> Vec<AuthorizedKey> {
        {
            let mut users = self.users.lock().unwrap();
            if !users.iter().any(|u| u == principal) {
                users.push(principal.to_owned());
            }
        }
        match &self.emu {
            Emu::Local(e) => e.add_user(principal, keys).unwrap(),
            Emu::Remote(r) => {
                let types: Vec<&str> = keys
                    .iter()
                    .map(|k| match k {
                        KeyType::Ed25519 => "ed25519",
                        KeyType::Rsa => "rsa",
                        other => panic!("no add_user key type for {other:?}"),
                    })
                    .collect();
                let answer = self
                    .control(Control::AddUser {
                        user: principal.to_owned(),
                        details: json!({"keys": types}),
                    })
                    .await
                    .unwrap_or_else(|e| panic!("add_user {principal}: {e}"));
                let public: Vec<AuthorizedKey> = answer["authorized_keys"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|line| AuthorizedKey::parse_line(line.as_str().unwrap()).unwrap())
                    .collect();
                r.keys
                    .lock()
                    .unwrap()
                    .insert(principal.to_owned(), public.clone());
                public
            }
        }
    }

    /// The user's public keys, in listing order.
    pub fn public_keys(&self, principal: &str) -> Vec<AuthorizedKey> {
        match &self.emu {
            Emu::Local(e) => e.public_keys(principal),
            Emu::Remote(r) => r
                .keys
                .lock()
                .unwrap()
                .get(principal)
                .cloned()
                .unwrap_or_default(),
        }
    }

    /// Removes a user.
    pub async fn remove_user(&self, principal: &str) {
        match &self.emu {
            Emu::Local(e) => e.remove_user(principal),
            Emu::Remote(r) => {
                self.provider(json!({"user": principal, "remove": true}))
                    .await;
                r.keys.lock().unwrap().remove(principal);
            }
        }
    }

    /// A control command (the same vocabulary either way).
    pub async fn control(&self, command: Control) -> Result<Value, ControlError> {
        self.ctl
            .answer(command)
            .await
            .unwrap_or_else(|e| panic!("the emulator server: {e}"))
    }

    /// A provider command that must succeed.
    async fn provider(&self, body: Value) -> Value {
        self.control(Control::Provider { body: body.clone() })
            .await
            .unwrap_or_else(|e| panic!("{body}: {e}"))
    }

    /// How the phone answers for this user from now on.
    pub async fn set_behaviour(&self, principal: &str, behaviour: Behaviour) {
        match &self.emu {
            Emu::Local(e) => e.set_behaviour(principal, behaviour),
            Emu::Remote(_) => {
                let mut body = behaviour_json(&behaviour);
                body["user"] = json!(principal);
                self.provider(body).await;
            }
        }
    }

    /// How long the user takes to answer.
    pub async fn set_delay(&self, principal: &str, delay: Duration) {
        match &self.emu {
            Emu::Local(e) => e.set_delay(principal, delay),
            Emu::Remote(_) => {
                let ms = u64::try_from(delay.as_millis()).unwrap();
                self.provider(json!({"user": principal, "delay_ms": ms}))
                    .await;
            }
        }
    }

    /// Serves this text as the user's key listing.
    pub async fn set_listing(&self, principal: &str, listing: impl Into<String>) {
        let listing = listing.into();
        match &self.emu {
            Emu::Local(e) => e.set_listing(principal, listing),
            Emu::Remote(_) => {
                self.provider(json!({"user": principal, "listing": listing}))
                    .await;
            }
        }
    }

    /// Padded base64url for signatures and response blobs.
    pub async fn set_padded_base64(&self, padded: bool) {
        match &self.emu {
            Emu::Local(e) => e.set_padded_base64(padded),
            Emu::Remote(_) => {
                self.provider(json!({"padded_signatures": padded, "padded_responses": padded}))
                    .await;
            }
        }
    }

    /// Padded base64url for signatures.
    pub async fn set_padded_signatures(&self, padded: bool) {
        match &self.emu {
            Emu::Local(e) => e.set_padded_signatures(padded),
            Emu::Remote(_) => {
                self.provider(json!({"padded_signatures": padded})).await;
            }
        }
    }

    /// Padded base64url for response blobs.
    pub async fn set_padded_responses(&self, padded: bool) {
        match &self.emu {
            Emu::Local(e) => e.set_padded_responses(padded),
            Emu::Remote(_) => {
                self.provider(json!({"padded_responses": padded})).await;
            }
        }
    }

    /// The server's records: every kept sign request, and how many key listings were served.
    async fn records(&self) -> (Vec<Sign>, usize) {
        match &self.emu {
            Emu::Local(e) => {
                let signs = e
                    .sign_requests()
                    .into_iter()
                    .map(|r| Sign {
                        flow: r.flow.to_owned(),
                        username: r.username,
                        fingerprint: r.fingerprint,
                        flags: r.flags,
                        text: r.text,
                        authorize_text: r.authorize_text,
                        remote_name: r.remote_name,
                        payload_len: r.payload_len,
                        payload_field: r.payload_field,
                    })
                    .collect();
                (signs, e.listing_requests())
            }
            Emu::Remote(_) => {
                let v = self.provider(json!({"records": true})).await;
                let text = |r: &Value, k: &str| r[k].as_str().unwrap().to_owned();
                let signs = v["sign_requests"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| Sign {
                        flow: text(r, "flow"),
                        username: text(r, "username"),
                        fingerprint: text(r, "fingerprint"),
                        flags: u32::try_from(r["flags"].as_u64().unwrap()).unwrap(),
                        text: text(r, "text"),
                        authorize_text: text(r, "authorize_text"),
                        remote_name: text(r, "remote_name"),
                        payload_len: usize::try_from(r["payload_len"].as_u64().unwrap()).unwrap(),
                        payload_field: text(r, "payload_field"),
                    })
                    .collect();
                (signs, v["listing_requests"].as_u64().unwrap() as usize)
            }
        }
    }

    /// The sign requests this scenario's users received, oldest first.
    pub async fn sign_requests(&self) -> Vec<Sign> {
        let users = self.users.lock().unwrap().clone();
        self.records()
            .await
            .0
            .into_iter()
            .filter(|s| users.contains(&s.username))
            .collect()
    }

    /// How many key listings were served since the scenario began.
    pub async fn listing_requests(&self) -> usize {
        self.records().await.1 - self.listings_before
    }

    /// Signs `message` with the user's key at `index`, as the phone would.
    pub async fn sign_with(
        &self,
        principal: &str,
        index: usize,
        flags: u32,
        message: &[u8],
    ) -> Vec<u8> {
        match &self.emu {
            Emu::Local(e) => e.sign_with(principal, index, flags, message).unwrap(),
            Emu::Remote(_) => {
                let answer = self
                    .provider(json!({"user": principal, "sign": {
                        "message": b64url(message), "key": index, "flags": flags
                    }}))
                    .await;
                crate::common::decode(answer["signature"].as_str().unwrap())
            }
        }
    }

    /// The sign requests of this scenario's users waiting for the phone.
    pub async fn pending(&self) -> Vec<PendingStepUp> {
        let all = self.ctl.pending().await.unwrap();
        let users = self.users.lock().unwrap().clone();
        all.into_iter()
            .filter(|p| users.contains(&p.user))
            .collect()
    }

    /// Plays the browser: opens the sign URL, reloads the waiting page while the phone has not
    /// answered, and returns where the server sends the browser back to.
    pub async fn follow_sign_url(&self, sign_url: &url::Url) -> url::Url {
        match &self.emu {
            Emu::Local(e) => e.follow_sign_url(sign_url).await.unwrap(),
            Emu::Remote(_) => follow(sign_url).await,
        }
    }
}

/// The `provider` command that sets `behaviour` (without the user).
fn behaviour_json(behaviour: &Behaviour) -> Value {
    match behaviour {
        Behaviour::Approve => json!({"behaviour": "approve"}),
        Behaviour::Manual => json!({"behaviour": "manual"}),
        Behaviour::Reject { message } => json!({"behaviour": "reject", "message": message}),
        Behaviour::Fail { message } => json!({"behaviour": "fail", "message": message}),
        Behaviour::HttpStatus { status, message } => {
            json!({"behaviour": "http_status", "status": status, "message": message})
        }
        Behaviour::CorruptSignature => json!({"behaviour": "corrupt_signature"}),
        Behaviour::EmptySignaturePositive => json!({"behaviour": "empty_signature_positive"}),
        Behaviour::AnswerWithFlags(flags) => {
            json!({"behaviour": "answer_with_flags", "flags": flags})
        }
        Behaviour::SignAs(other) => json!({"behaviour": "sign_as", "sign_as": other}),
        other => panic!("no provider command for {other:?}"),
    }
}

/// The browser on the server binary's sign page (as `Emulator::follow_sign_url` does): no
/// redirects followed, the waiting page reloaded until the phone answers.
async fn follow(sign_url: &url::Url) -> url::Url {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let give_up = tokio::time::Instant::now() + DEFAULT_ANSWER_TIMEOUT;
    loop {
        let page = browser.get(sign_url.as_str()).send().await.unwrap();
        let status = page.status();
        if status == reqwest::StatusCode::FOUND {
            let location = page.headers()[reqwest::header::LOCATION].to_str().unwrap();
            return url::Url::parse(location).unwrap();
        }
        let body = page.text().await.unwrap_or_default();
        let waiting = status == reqwest::StatusCode::OK && body.contains("http-equiv=\"refresh\"");
        assert!(
            waiting && tokio::time::Instant::now() < give_up,
            "the sign page answered {status}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
