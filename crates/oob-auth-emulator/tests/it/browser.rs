//! The phone page in a real browser: headless Chromium driven over WebDriver (chromedriver).
//! A LaunchKey client starts a step-up, the page shows it, the test clicks Approve, and the
//! client's wait sees the approval; a CIBA request shows its binding message, and the click
//! makes the server ping the client.
//!
//! Needs `chromium` and `chromedriver` (Debian: `apt-get install -y chromium chromium-driver`;
//! `.ci/run` installs them). `CHROMEDRIVER` and `CHROMIUM` override where they are.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use launchkey::AuthorizationRequest;
use serde_json::{Value, json};

use crate::common::{add_user, launchkey_client, poll, start_default, unique};

const INSTALL: &str = "install them with `apt-get install -y chromium chromium-driver` \
     (Debian; `.ci/run` does this), or set CHROMEDRIVER and CHROMIUM";

fn find(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Ok(p) = std::env::var(env) {
        return Some(PathBuf::from(p));
    }
    candidates.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// A W3C WebDriver session: just the commands this test needs, JSON over HTTP.
struct WebDriver {
    http: reqwest::Client,
    session: String,
    _driver: tokio::process::Child,
}

impl WebDriver {
    async fn start(driver: &Path, browser: &Path, profile: &Path) -> WebDriver {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let child = tokio::process::Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}; {INSTALL}", driver.display()));
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http.get(format!("{base}/status")).send().await
                && crate::common::json_of(r).await["value"]["ready"] == true
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": browser,
                "args": ["--headless", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage",
                         "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--no-first-run",
                         format!("--user-data-dir={}", profile.display())],
            },
        }}});
        let request = crate::common::with_json(http.post(format!("{base}/session")), &caps);
        let r = crate::common::json_of(request.send().await.unwrap()).await;
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {r}"))
            .to_owned();
        WebDriver {
            http,
            session: format!("{base}/session/{session}"),
            _driver: child,
        }
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.session));
        if let Some(b) = body {
            req = crate::common::with_json(req, &b);
        }
        crate::common::json_of(req.send().await.unwrap()).await["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// The element matching `css`, once it is there (None after `wait`).
    async fn find(&self, css: &str, wait: Duration) -> Option<String> {
        let deadline = Instant::now() + wait;
        loop {
            let v = self
                .cmd(
                    reqwest::Method::POST,
                    "/element",
                    Some(json!({"using": "css selector", "value": css})),
                )
                .await;
            if let Some(id) = v
                .as_object()
                .and_then(|o| o.values().next())
                .and_then(Value::as_str)
                && v.get("error").is_none()
            {
                return Some(id.to_owned());
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn text(&self, element: &str) -> String {
        let v = self
            .cmd(
                reqwest::Method::GET,
                &format!("/element/{element}/text"),
                None,
            )
            .await;
        v.as_str().unwrap_or_default().to_owned()
    }

    async fn attribute(&self, element: &str, name: &str) -> Option<String> {
        let v = self
            .cmd(
                reqwest::Method::GET,
                &format!("/element/{element}/attribute/{name}"),
                None,
            )
            .await;
        v.as_str().map(str::to_owned)
    }

    async fn current_url(&self) -> String {
        let v = self.cmd(reqwest::Method::GET, "/url", None).await;
        v.as_str().unwrap_or_default().to_owned()
    }

    async fn type_text(&self, element: &str, text: &str) {
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn click(&self, element: &str) {
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn screenshot(&self, to: &Path) {
        let v = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        if let Some(png) = v
            .as_str()
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        {
            let _ = std::fs::write(to, png);
        }
    }

    async fn quit(&self) {
        let _ = self.http.delete(&self.session).send().await;
    }
}

/// chromedriver, Chromium and a fresh profile directory; a clear failure when they are missing.
fn tools() -> (PathBuf, PathBuf, PathBuf) {
    let driver = find(
        "CHROMEDRIVER",
        &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
    )
    .unwrap_or_else(|| panic!("chromedriver not found: {INSTALL}"));
    let browser = find(
        "CHROMIUM",
        &["/usr/bin/chromium", "/usr/lib/chromium/chromium"],
    )
    .unwrap_or_else(|| panic!("chromium not found: {INSTALL}"));
    let profile = std::env::temp_dir().join(unique("oob-emu-chromium"));
    (driver, browser, profile)
}

/// On failure: a screenshot into target/, then the panic.
async fn finish(web: &WebDriver, outcome: Result<(), String>, name: &str) {
    if let Err(e) = &outcome {
        let shot = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../../target/oob-auth-emulator-{name}-failure.png"));
        web.screenshot(&shot).await;
        web.quit().await;
        panic!("{e} (screenshot: {})", shot.display());
    }
    web.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_step_up_is_approved_by_clicking_on_the_phone_page() {
    let (driver, browser, profile) = tools();

    let server = start_default().await;
    let client = launchkey_client(server.info());
    let user = unique("browser");
    add_user(server.control_url(), "launchkey", &user).await;
    let created = client
        .authorize(&AuthorizationRequest::new(user.as_str()).context("Sign in to ACME?"))
        .await
        .unwrap();
    let id = created.id.as_str().to_owned();

    let web = WebDriver::start(&driver, &browser, &profile).await;
    let outcome = async {
        web.goto(&format!("{}/", server.control_url())).await;
        let card = web
            .find(&format!(".card[data-id=\"{id}\"]"), Duration::from_secs(15))
            .await
            .ok_or("the step-up never showed on the page")?;
        // Rendered text: the provider line is upper-cased by the page's style.
        let text = web.text(&card).await.to_lowercase();
        if !text.contains(&user)
            || !text.contains("launchkey")
            || !text.contains("sign in to acme?")
        {
            return Err(format!("the card shows {text:?}"));
        }
        let approve = web
            .find(
                &format!("button[data-action=\"approve\"][data-id=\"{id}\"]"),
                Duration::from_secs(5),
            )
            .await
            .ok_or("no Approve button")?;
        web.click(&approve).await;
        let answer = client
            .wait_for_response(&created.id, &poll())
            .await
            .map_err(|e| format!("the client's wait failed: {e}"))?;
        if !answer.authorized {
            return Err("the client saw a denial".to_owned());
        }
        // The page drops the answered step-up and says what happened.
        let status = web
            .find("#status", Duration::from_secs(1))
            .await
            .ok_or("no status")?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let gone = web
                .find(&format!(".card[data-id=\"{id}\"]"), Duration::ZERO)
                .await
                .is_none();
            let said = web.text(&status).await;
            if gone && said.starts_with("Approved") {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "after approval the page still shows the card ({gone}) / status {said:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    .await;
    finish(&web, outcome, "phone-page").await;
    let _ = std::fs::remove_dir_all(profile);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ciba_request_shows_its_binding_message_and_a_click_pings_the_client() {
    use ciba::{AuthenticationRequest, ClientAuth, ClientId, DeliveryMode, Outcome, TokenPoll};
    let (driver, browser, profile) = tools();
    let receiver = crate::common::Receiver::start(204).await;
    let endpoint = format!("{}/ciba", receiver.base);
    let mut options = oob_auth_emulator::Options::ephemeral();
    options.only = vec![oob_auth_emulator::Provider::Ciba];
    options
        .provider_mut(oob_auth_emulator::Provider::Ciba)
        .settings = json!({
        "client_id": "shop", "client_secret": "shop-secret-0123456789",
        "delivery_mode": "ping", "notification_endpoint": endpoint,
    });
    let server = crate::common::start(options).await;
    let issuer = server.info()["providers"]["ciba"]["issuer"]
        .as_str()
        .unwrap()
        .to_owned();
    let client = ciba::Client::builder(
        ClientId::new("shop").unwrap(),
        ClientAuth::secret_basic("shop-secret-0123456789"),
    )
    .issuer(issuer)
    .delivery_mode(DeliveryMode::Ping)
    .build()
    .unwrap();
    let user = unique("cib");
    add_user(server.control_url(), "ciba", &user).await;
    let started = client
        .authenticate(
            AuthenticationRequest::login_hint(user.as_str()).binding_message("Pay 42 EUR? K9"),
        )
        .await
        .unwrap();
    let id = started.auth_req_id.as_str().to_owned();

    let web = WebDriver::start(&driver, &browser, &profile).await;
    let outcome = async {
        web.goto(&format!("{}/", server.control_url())).await;
        let card = web
            .find(&format!(".card[data-id=\"{id}\"]"), Duration::from_secs(15))
            .await
            .ok_or("the request never showed on the page")?;
        let text = web.text(&card).await.to_lowercase();
        if !text.contains(&user) || !text.contains("ciba") || !text.contains("pay 42 eur? k9") {
            return Err(format!("the card shows {text:?}"));
        }
        let approve = web
            .find(
                &format!("button[data-action=\"approve\"][data-id=\"{id}\"]"),
                Duration::from_secs(5),
            )
            .await
            .ok_or("no Approve button")?;
        web.click(&approve).await;
        // The server pings the client's endpoint; the client fetches the tokens.
        let ping = receiver.next().await;
        let bearer = ping.headers.get("authorization").map(|v| v.as_bytes());
        match client.handle_ping(bearer, &ping.body).await {
            Ok((_, TokenPoll::Done(Outcome::Approved(tokens)))) if tokens.claims.sub == user => {
                Ok(())
            }
            other => Err(format!("after the click the client got {other:?}")),
        }
    }
    .await;
    finish(&web, outcome, "phone-page-ciba").await;
    let _ = std::fs::remove_dir_all(profile);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_authsignal_challenge_is_approved_on_its_own_page_linked_from_the_phone() {
    use authsignal::{ActionCode, ChallengeToken, TrackRequest, UserId, ValidateChallengeRequest};
    let (driver, browser, profile) = tools();
    let mut options = oob_auth_emulator::Options::ephemeral();
    options.only = vec![oob_auth_emulator::Provider::Authsignal];
    let server = crate::common::start(options).await;
    let control = server.control_url().to_owned();
    let sig = &server.info()["providers"]["authsignal"];
    let client = crate::common::authsignal_client(server.info());
    let user = unique("ada");
    add_user(&control, "authsignal", &user).await;
    crate::common::challenge_withdrawals(&control).await;
    // Where the challenge page sends the browser back to: any page the browser can load.
    let back = format!("{control}/healthz");
    let (user_id, action) = (
        UserId::new(user.as_str()).unwrap(),
        ActionCode::new("withdraw").unwrap(),
    );
    let decision = client
        .track(
            &user_id,
            &action,
            TrackRequest::new().redirect_url(back.as_str()),
        )
        .await
        .unwrap();
    let key = decision.idempotency_key.as_str().to_owned();

    let web = WebDriver::start(&driver, &browser, &profile).await;
    let outcome = async {
        web.goto(&format!("{control}/")).await;
        let card = format!(".card[data-id=\"{key}\"]");
        web.find(&card, Duration::from_secs(15))
            .await
            .ok_or("the challenge never showed on the phone")?;
        let link = web
            .find(&format!("{card} a"), Duration::from_secs(2))
            .await
            .ok_or("no link to the provider's page")?;
        let page = web
            .attribute(&link, "href")
            .await
            .ok_or("the link has no href")?;
        if !page.starts_with(sig["base_url"].as_str().unwrap()) {
            return Err(format!("the link points to {page}"));
        }
        web.goto(&page).await;
        let approve = web
            .find("#approve", Duration::from_secs(10))
            .await
            .ok_or("no Approve on the challenge page")?;
        web.click(&approve).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        let landed = loop {
            let url = web.current_url().await;
            if url.starts_with(&back) {
                break url;
            }
            if Instant::now() > deadline {
                return Err(format!("the browser did not come back (at {url})"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let token = reqwest::Url::parse(&landed)
            .map_err(|e| e.to_string())?
            .query_pairs()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
            .ok_or("no token on the redirect")?;
        let valid = client
            .validate_challenge(&ValidateChallengeRequest::new(
                ChallengeToken::new(token),
                user_id,
                action,
            ))
            .await
            .map_err(|e| e.to_string())?;
        if !valid.is_valid {
            return Err("the token from the page does not validate".to_owned());
        }
        Ok(())
    }
    .await;
    finish(&web, outcome, "authsignal-page").await;
    let _ = std::fs::remove_dir_all(profile);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_logonbox_signing_page_waits_for_the_phone_then_sends_the_browser_back() {
    let (driver, browser, profile) = tools();
    let mut options = oob_auth_emulator::Options::ephemeral();
    options.only = vec![oob_auth_emulator::Provider::Logonbox];
    let server = crate::common::start(options).await;
    let control = server.control_url().to_owned();
    let user = format!("{}@example.com", unique("lee"));
    add_user(&control, "logonbox", &user).await;
    let client = logonbox::Client::builder(
        server
            .api_url(oob_auth_emulator::Provider::Logonbox)
            .unwrap(),
    )
    .build()
    .unwrap();
    let back = format!("{control}/healthz?response={{response}}");
    let pending = client
        .generate_request(logonbox::RedirectRequest::new(user.as_str(), back.as_str()))
        .await
        .unwrap();
    let sign_url = client.sign_url(&pending);

    let web = WebDriver::start(&driver, &browser, &profile).await;
    let outcome = async {
        web.goto(sign_url.as_str()).await;
        // The page asks the phone and waits; the phone lists the request.
        let deadline = Instant::now() + Duration::from_secs(15);
        let step = loop {
            let (_, listed) = crate::common::get(&format!("{control}/logonbox/pending")).await;
            if let Some(p) = listed.as_array().and_then(|a| a.first()).cloned() {
                break p;
            }
            if Instant::now() > deadline {
                return Err("the signing page never reached the phone".to_owned());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let body = web
            .find("body", Duration::from_secs(2))
            .await
            .ok_or("no page")?;
        let shown = web.text(&body).await;
        if !shown.contains(&user) {
            return Err(format!("the signing page shows {shown:?}"));
        }
        let id = step["id"].as_str().ok_or("no id")?;
        let (status, answer) =
            crate::common::post(&format!("{control}/logonbox/step-ups/{id}/approve"), None).await;
        if status != 200 {
            return Err(format!("approve answered {status} {answer}"));
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        let landed = loop {
            let url = web.current_url().await;
            if url.starts_with(&format!("{control}/healthz")) {
                break url;
            }
            if Instant::now() > deadline {
                return Err(format!("the browser did not come back (at {url})"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let response = reqwest::Url::parse(&landed)
            .map_err(|e| e.to_string())?
            .query_pairs()
            .find(|(k, _)| k == "response")
            .map(|(_, v)| v.into_owned())
            .ok_or("no response on the redirect")?;
        let approval = client
            .process_response(pending, &response)
            .await
            .map_err(|e| format!("the client refused the response: {e}"))?;
        if approval.principal() != user {
            return Err(format!("approved for {}", approval.principal()));
        }
        Ok(())
    }
    .await;
    finish(&web, outcome, "logonbox-page").await;
    let _ = std::fs::remove_dir_all(profile);
}

/// The user's browser for the Onegini client's registration: logs in at the IdP's page and
/// consents, then hands the redirect back to the app.
struct RealBrowser {
    web: Arc<WebDriver>,
    user: String,
    password: String,
    back: String,
    control: String,
    failure: std::sync::Mutex<Option<String>>,
}

impl RealBrowser {
    async fn register(&self, url: &str) -> Result<String, String> {
        self.web.goto(url).await;
        let username = self
            .web
            .find("input[name=username]", Duration::from_secs(10))
            .await
            .ok_or("no login form")?;
        // The login session waits at the IdP: the phone lists it, with the page.
        let (_, pending) =
            crate::common::get(&format!("{}/onegini-model/pending", self.control)).await;
        let page = pending[0]["page"].as_str().unwrap_or_default().to_owned();
        if !page.contains("/idp/login") {
            return Err(format!("the phone lists {pending}"));
        }
        self.web.type_text(&username, &self.user).await;
        let password = self
            .web
            .find("input[name=password]", Duration::from_secs(2))
            .await
            .ok_or("no password field")?;
        self.web.type_text(&password, &self.password).await;
        let log_in = self
            .web
            .find("form button", Duration::from_secs(2))
            .await
            .ok_or("no button")?;
        self.web.click(&log_in).await;
        let allow = self
            .web
            .find("button[value=allow]", Duration::from_secs(10))
            .await
            .ok_or("no consent page after the login")?;
        self.web.click(&allow).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let url = self.web.current_url().await;
            if url.starts_with(&self.back) {
                return Ok(url);
            }
            if Instant::now() > deadline {
                return Err(format!("the browser did not come back (at {url})"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[auth_core::async_trait]
impl onegini_model::BrowserRegistrationHandler for RealBrowser {
    async fn start_registration(
        &self,
        url: reqwest::Url,
    ) -> onegini_model::BrowserRegistrationAnswer {
        match self.register(url.as_str()).await {
            Ok(landed) => match reqwest::Url::parse(&landed) {
                Ok(u) => onegini_model::BrowserRegistrationAnswer::Callback(u),
                Err(e) => {
                    *self.failure.lock().unwrap() = Some(e.to_string());
                    onegini_model::BrowserRegistrationAnswer::Deny
                }
            },
            Err(e) => {
                *self.failure.lock().unwrap() = Some(e);
                onegini_model::BrowserRegistrationAnswer::Deny
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_onegini_user_registers_through_the_idp_login_and_consent_pages() {
    let (driver, browser, profile) = tools();
    // The app's redirect: a page the browser can load (the control API's), on a port chosen here.
    let control_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let back = format!("http://127.0.0.1:{control_port}/healthz");
    let mut options = oob_auth_emulator::Options::ephemeral();
    options.only = vec![oob_auth_emulator::Provider::OneginiModel];
    options.control_port = Some(control_port);
    options
        .provider_mut(oob_auth_emulator::Provider::OneginiModel)
        .settings = json!({ "redirect_uri": back });
    let server = crate::common::start(options).await;
    let control = server.control_url().to_owned();
    let user = unique("grace");
    let (status, _) = crate::common::post(
        &format!("{control}/onegini-model/users"),
        Some(json!({"user": user, "details": {"password": "correct horse"}})),
    )
    .await;
    assert_eq!(status, 200);

    let app = &server.info()["providers"]["onegini-model"];
    let config = onegini_model::ClientConfig::builder()
        .app_identifier(app["identifier"].as_str().unwrap())
        .app_platform(app["platform"].as_str().unwrap())
        .app_version(app["version"].as_str().unwrap())
        .signature(onegini_model::ApplicationSignature::new(
            app["application_signature"].as_str().unwrap(),
        ))
        .redirect_uri(app["redirect_uri"].as_str().unwrap())
        .build()
        .unwrap();
    let client =
        onegini_model::Client::builder(config, Arc::new(onegini_model::MemoryStorage::new()))
            .base_url(app["api_url"].as_str().unwrap())
            .build()
            .unwrap();

    let web = Arc::new(WebDriver::start(&driver, &browser, &profile).await);
    let real = RealBrowser {
        web: web.clone(),
        user: user.clone(),
        password: "correct horse".into(),
        back,
        control: control.clone(),
        failure: std::sync::Mutex::new(None),
    };
    let pin = onegini_model::testing::ScriptedUser::typing(["31415"]);
    let registered = client.register_user(&[], &real, &pin).await;
    let outcome = match (registered, real.failure.lock().unwrap().take()) {
        (_, Some(e)) => Err(e),
        (Err(e), None) => Err(format!("registration failed: {e}")),
        (Ok(profile), None) => {
            let stored = client.user_profiles().map_err(|e| e.to_string());
            match (stored, client.authenticated_user_profile()) {
                (Ok(all), Some(now)) if all.contains(&profile) && now == profile => Ok(()),
                other => Err(format!("after registration: {other:?}")),
            }
        }
    };
    finish(&web, outcome, "onegini-pages").await;
    let _ = std::fs::remove_dir_all(profile);
}
