//! Shared set-up for the integration tests: a Token Server model on a loopback port with its
//! own fake clock, and a device (client) with another fake clock.

use std::sync::Arc;

use auth_core::emulator::{Control, ControlError, InProcess, Model, PendingStepUp, Server};
use auth_core::{BaseUrl, FakeClock, HttpClient, HttpRequest, HttpResponse, SharedClock};
use onegini_model::emulator::{
    AppConfig, AppVersion, Consent, EmulatedBrowser, Emulator, EmulatorBuilder, TokenServer,
};
use onegini_model::testing::ScriptedUser;
use onegini_model::{
    ApplicationSignature, Client, ClientConfig, ClientConfigBuilder, MemoryKeystore, MemoryStorage,
    Storage, UserProfile,
};

/// Lowercase hex, for the fixtures' JSON.
pub mod hex {
    /// Lowercase hex of `bytes`.
    pub fn encode(bytes: impl AsRef<[u8]>) -> String {
        bytes.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Bytes of hex text (either case, even length).
    pub fn decode(text: &str) -> Result<Vec<u8>, std::num::ParseIntError> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(text.get(i..i + 2).unwrap_or("x"), 16))
            .collect()
    }
}

/// 2026-01-01T00:00:00Z.
pub const T0: u64 = 1_767_225_600;
pub const APP: &str = "ExampleApp";
pub const VERSION: &str = "1.0.0";
pub const PLATFORM: &str = "android";
pub const REDIRECT: &str = "oneginiexample://loginsuccess";
pub const SIGNATURE: &str = "AB:CD:EF:01:23:45:67:89:signing-cert-sha256";
pub const PIN: &str = "31415";
pub const OTHER_PIN: &str = "27182";

/// Where the client's requests go: the model on a loopback port, or the model called in process.
pub struct Wire {
    /// The Token Server's base URL (in process: a closed loopback port nothing listens on).
    pub base: BaseUrl,
    /// The in-process client, or `None` for the socket.
    pub http: Option<Arc<dyn HttpClient>>,
}

impl Wire {
    /// A browser on this wire that logs in as `user` and answers the consent.
    pub fn browser_with(&self, user: &str, password: &str, consent: Consent) -> EmulatedBrowser {
        let mut config = auth_core::Config::new();
        if let Some(http) = &self.http {
            config = config.http_client(http.clone());
        }
        EmulatedBrowser::new(self.base.clone(), &config, user, password, consent).unwrap()
    }

    /// A browser that logs in as `user` with the right password and allows.
    pub fn browser(&self, user: &str) -> EmulatedBrowser {
        self.browser_with(user, &format!("{user}-password"), Consent::Allow)
    }

    /// Registers `user` at the IdP through `client`, with `PIN`; returns the profile.
    pub async fn register(&self, client: &Client, user: &str) -> (UserProfile, ScriptedUser) {
        let pins = ScriptedUser::typing([PIN]);
        let profile = client
            .register_user(&["read"], &self.browser(user), &pins)
            .await
            .unwrap();
        (profile, pins)
    }
}

pub struct World {
    /// The emulator serving the model on a loopback port (`None` in process: no socket at all).
    pub emu: Option<Emulator>,
    pub wire: Wire,
    /// The model, for its Rust control methods.
    pub server: Arc<TokenServer>,
    pub server_clock: FakeClock,
    pub device_clock: FakeClock,
    pub storage: Arc<MemoryStorage>,
    pub client: Client,
}

pub fn app_config() -> AppConfig {
    AppConfig::new(
        APP,
        REDIRECT,
        AppVersion::new(VERSION, PLATFORM, ApplicationSignature::new(SIGNATURE)),
    )
    .unwrap()
}

impl World {
    pub async fn new() -> World {
        World::with(app_config(), 0).await
    }

    /// The same world with no socket: the client and the browser call the model in process,
    /// with a base URL whose port nothing listens on (a request sent over the network would
    /// fail with 9000).
    pub async fn in_process() -> World {
        let (builder, server_clock, device_clock) = World::seeds(app_config(), 0);
        let model = Arc::new(builder.build_model().unwrap());
        let wire = Wire {
            base: BaseUrl::parse(&format!("http://127.0.0.1:{}", closed_port())).unwrap(),
            http: Some(Arc::new(InProcess::new(model.clone()))),
        };
        World::around(None, wire, model, server_clock, device_clock)
    }

    /// A world whose device clock is `device_offset_secs` off the server's.
    pub async fn with(app: AppConfig, device_offset_secs: i64) -> World {
        let (builder, server_clock, device_clock) = World::seeds(app, device_offset_secs);
        let emu = builder.start().await.unwrap();
        let wire = Wire {
            base: emu.base_url().clone(),
            http: None,
        };
        let model = emu.model();
        World::around(Some(emu), wire, model, server_clock, device_clock)
    }

    fn seeds(app: AppConfig, device_offset_secs: i64) -> (EmulatorBuilder, FakeClock, FakeClock) {
        let server_clock = FakeClock::at_unix(T0);
        let device_clock = FakeClock::at_unix(T0.saturating_add_signed(device_offset_secs));
        let builder = Emulator::builder()
            .app(app)
            .clock(server_clock.clone())
            .user("alice", "alice-password")
            .user("bob", "bob-password");
        (builder, server_clock, device_clock)
    }

    fn around(
        emu: Option<Emulator>,
        wire: Wire,
        server: Arc<TokenServer>,
        server_clock: FakeClock,
        device_clock: FakeClock,
    ) -> World {
        let storage = Arc::new(MemoryStorage::new());
        let client = make_client(&wire, storage.clone(), &device_clock, SIGNATURE, true);
        World {
            emu,
            wire,
            server,
            server_clock,
            device_clock,
            storage,
            client,
        }
    }

    /// The Token Server's base URL.
    pub fn base_url(&self) -> &BaseUrl {
        &self.wire.base
    }

    /// The emulator (socket worlds only).
    pub fn emu(&self) -> &Emulator {
        self.emu.as_ref().expect("a world with a socket")
    }

    /// A device client on this world's wire.
    pub fn client_on(
        &self,
        storage: Arc<dyn Storage>,
        clock: &FakeClock,
        signature: &str,
        fingerprint: bool,
    ) -> Client {
        make_client(&self.wire, storage, clock, signature, fingerprint)
    }

    /// A browser on this world's wire that logs in as `user` and answers the consent.
    pub fn browser_with(&self, user: &str, password: &str, consent: Consent) -> EmulatedBrowser {
        self.wire.browser_with(user, password, consent)
    }

    pub fn browser(&self, user: &str) -> EmulatedBrowser {
        self.wire.browser(user)
    }

    /// Registers `user` at the IdP with `PIN`; returns the profile.
    pub async fn register(&self, user: &str) -> (UserProfile, ScriptedUser) {
        self.wire.register(&self.client, user).await
    }
}

/// The app's configuration with `signature` (every required step but nothing else).
pub fn client_config(signature: &str) -> ClientConfigBuilder {
    ClientConfig::builder()
        .app_identifier(APP)
        .app_platform(PLATFORM)
        .app_version(VERSION)
        .signature(ApplicationSignature::new(signature))
        .redirect_uri(REDIRECT)
}

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

pub fn make_client(
    wire: &Wire,
    storage: Arc<dyn Storage>,
    clock: &FakeClock,
    signature: &str,
    fingerprint: bool,
) -> Client {
    let config = client_config(signature)
        .device_name("Pixel 8")
        .pbkdf2_iterations(1_000);
    let config = if fingerprint {
        config.fingerprint_sensor()
    } else {
        config
    };
    let config = config.build().unwrap();
    let clock: SharedClock = Arc::new(clock.clone());
    let mut builder = Client::builder(config, storage)
        .base_url(&wire.base)
        .clock(clock);
    if let Some(http) = &wire.http {
        builder = builder.http_client(http.clone());
    }
    if fingerprint {
        builder = builder.keystore(Arc::new(MemoryKeystore::new()));
    }
    builder.build().unwrap()
}

/// A request as a [`StandIn`] saw it.
pub struct Seen {
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

type Answer = Box<dyn Fn(&HttpRequest) -> HttpResponse + Send + Sync>;

/// A stand-in server for one test (a replay, an echo, a hostile Token Server): `answer` for
/// every request, each request recorded; an `auth_core::emulator::Model` like the real one,
/// served on a loopback port the same way.
pub struct StandIn {
    answer: Answer,
    seen: std::sync::Mutex<Vec<Seen>>,
}

#[async_trait::async_trait]
impl Model for StandIn {
    fn provider(&self) -> &'static str {
        "stand-in"
    }

    async fn handle(&self, request: HttpRequest) -> HttpResponse {
        let response = (self.answer)(&request);
        self.seen.lock().unwrap().push(Seen {
            headers: request.headers().clone(),
            body: request.body().clone(),
        });
        response
    }

    fn control(&self, command: Control) -> Result<serde_json::Value, ControlError> {
        Err(ControlError::Unsupported {
            provider: "stand-in",
            command: command.name(),
        })
    }

    fn pending(&self) -> Vec<PendingStepUp> {
        Vec::new()
    }
}

impl StandIn {
    /// Serves `answer` on a loopback port; keep the server for as long as it is used.
    pub async fn serve(
        answer: impl Fn(&HttpRequest) -> HttpResponse + Send + Sync + 'static,
    ) -> (Server, Arc<StandIn>) {
        let stand_in = Arc::new(StandIn {
            answer: Box::new(answer),
            seen: std::sync::Mutex::new(Vec::new()),
        });
        let server = auth_core::emulator::serve(stand_in.clone(), "127.0.0.1:0")
            .await
            .unwrap();
        (server, stand_in)
    }

    /// Takes the requests seen so far.
    pub fn take_seen(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

/// A response with `status`, an optional content type and `body`.
pub fn respond(status: u16, content_type: Option<&str>, body: impl Into<Vec<u8>>) -> HttpResponse {
    let mut builder = http::Response::builder().status(status);
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    builder.body(body.into()).unwrap()
}
