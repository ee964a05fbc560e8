//! Shared set-up for the integration tests: a Token Server model on a loopback port with its
//! own fake clock, and a device (client) with another fake clock.

use std::sync::Arc;
use std::time::Duration;

use auth_core::{FakeClock, SharedClock};
use onegini_model::emulator::{AppConfig, AppVersion, Consent, EmulatedBrowser, TokenServer};
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

/// A name no other test (or test run) uses, for temporary files.
pub fn unique() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{nanos}-{n}", std::process::id())
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

pub struct World {
    pub server: TokenServer,
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

    /// A world whose device clock is `device_offset_secs` off the server's.
    pub async fn with(app: AppConfig, device_offset_secs: i64) -> World {
        let server_clock = FakeClock::at_unix(T0);
        let device_clock = FakeClock::at_unix(T0.saturating_add_signed(device_offset_secs));
        let server = TokenServer::start(app, Arc::new(server_clock.clone())).await;
        server.add_user("alice", "alice-password");
        server.add_user("bob", "bob-password");
        let storage = Arc::new(MemoryStorage::new());
        let client = make_client(&server, storage.clone(), &device_clock, SIGNATURE, true);
        World {
            server,
            server_clock,
            device_clock,
            storage,
            client,
        }
    }

    pub fn browser(&self, user: &str) -> EmulatedBrowser {
        self.server
            .browser(user, &format!("{user}-password"), Consent::Allow)
            .unwrap()
    }

    /// Registers `user` at the IdP with `PIN`; returns the profile.
    pub async fn register(&self, user: &str) -> (UserProfile, ScriptedUser) {
        let pins = ScriptedUser::typing([PIN]);
        let profile = self
            .client
            .register_user(&["read"], &self.browser(user), &pins)
            .await
            .unwrap();
        (profile, pins)
    }

    /// Moves both clocks.
    pub fn advance(&self, by: Duration) {
        self.server_clock.advance(by);
        self.device_clock.advance(by);
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

pub fn make_client(
    server: &TokenServer,
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
        .base_url(server.base_url().unwrap())
        .clock(clock);
    if fingerprint {
        builder = builder.keystore(Arc::new(MemoryKeystore::new()));
    }
    builder.build().unwrap()
}
