//! A step-up in an axum handler: track the withdrawal, send the browser to the challenge when
//! the rules ask for one, validate the `?token=` it comes back with. The browser is played
//! over real HTTP, through the emulator's challenge page.
//!
//! `cargo run -p authsignal --example stepup_axum` (runs against the
//! emulator, plays the browser, and exits).

use authsignal::emulator::{Emulator, Rule, RuleOutcome};
use authsignal::{
    ActionCode, ActionState, ChallengeToken, Client, EnrollVerifiedAuthenticatorRequest,
    TrackRequest, UserId, ValidateChallengeRequest,
};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

#[derive(Clone)]
struct App {
    authsignal: Client,
    public_url: String,
}

#[derive(Deserialize)]
struct Withdraw {
    user: String,
    amount: u64,
}

#[derive(Deserialize)]
struct Done {
    user: String,
    token: String,
}

/// The action code this route protects (a valid constant, so `None` never happens).
fn action() -> Option<ActionCode> {
    ActionCode::new("withdraw").ok()
}

/// `POST /withdraw?user=…&amount=…`: 200 when allowed, 303 to the challenge, 403 when blocked.
async fn withdraw(State(app): State<App>, Query(q): Query<Withdraw>) -> Response {
    // In a real app the user id comes from your session, not from the query.
    let Ok(user) = UserId::new(q.user.as_str()) else {
        return (StatusCode::BAD_REQUEST, "bad user").into_response();
    };
    let Some(action) = action() else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "bad action code").into_response();
    };
    let req = TrackRequest::new()
        .custom("amount", q.amount)
        .redirect_url(format!("{}/withdraw/done?user={}", app.public_url, q.user));
    match app.authsignal.track(&user, &action, req).await {
        Ok(d) => match d.state {
            ActionState::Allow => (StatusCode::OK, "withdrawal done").into_response(),
            ActionState::ChallengeRequired => match d.challenge_url() {
                Some(url) => {
                    (StatusCode::SEE_OTHER, [("location", url.to_owned())]).into_response()
                }
                None => (StatusCode::BAD_GATEWAY, "no challenge URL").into_response(),
            },
            ActionState::ReviewRequired => (StatusCode::ACCEPTED, "pending review").into_response(),
            _ => (StatusCode::FORBIDDEN, "withdrawal refused").into_response(),
        },
        // Fail closed: no decision, no withdrawal. Errors never contain the secret key.
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("try again later ({e})"),
        )
            .into_response(),
    }
}

/// `GET /withdraw/done?user=…&token=…`: where the pre-built UI sends the browser back.
async fn done(State(app): State<App>, Query(q): Query<Done>) -> Response {
    let (Ok(user), Some(action)) = (UserId::new(q.user.as_str()), action()) else {
        return (StatusCode::BAD_REQUEST, "bad request").into_response();
    };
    let req = ValidateChallengeRequest::new(ChallengeToken::new(q.token), user, action);
    match app.authsignal.validate_challenge(&req).await {
        Ok(v) if v.is_valid => (StatusCode::OK, "withdrawal done after step-up").into_response(),
        Ok(_) => (StatusCode::FORBIDDEN, "challenge not completed").into_response(),
        Err(e) => (StatusCode::FORBIDDEN, format!("refused ({e})")).into_response(),
    }
}

fn done_url(base: &str, token: &str) -> String {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("user", "ada")
        .append_pair("token", token)
        .finish();
    format!("{base}/withdraw/done?{q}")
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emu = Emulator::builder()
        .rule(
            Rule::new("big", RuleOutcome::Challenge)
                .for_action("withdraw")
                .when(authsignal::emulator::Condition::CustomGreaterThan(
                    "amount".into(),
                    1000.0,
                )),
        )
        .start()
        .await?;
    let authsignal = emu.client()?;
    let ada = UserId::new("ada")?;
    authsignal
        .enroll_verified_authenticator(
            &ada,
            &EnrollVerifiedAuthenticatorRequest::sms("+64270000001"),
        )
        .await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let public_url = format!("http://{}", listener.local_addr()?);
    let app = Router::new()
        .route("/withdraw", post(withdraw))
        .route("/withdraw/done", get(done))
        .with_state(App {
            authsignal,
            public_url: public_url.clone(),
        });
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    // Play the browser.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let r = browser
        .post(format!("{public_url}/withdraw?user=ada&amount=50"))
        .send()
        .await?;
    println!(
        "POST /withdraw amount=50   → {} {}",
        r.status(),
        r.text().await?
    );

    let r = browser
        .post(format!("{public_url}/withdraw?user=ada&amount=5000"))
        .send()
        .await?;
    let challenge = location(&r).ok_or("no redirect to the challenge")?;
    println!(
        "POST /withdraw amount=5000 → {} to the challenge UI",
        r.status()
    );

    // The pre-built UI (the emulator's page): Ada reads it and approves.
    let page = browser.get(challenge.as_str()).send().await?.text().await?;
    let token = page
        .split("name=\"token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or("no form on the challenge page")?
        .to_owned();
    println!(
        "GET  {} → the challenge page",
        challenge.split('?').next().unwrap_or("")
    );
    let r = browser
        .post(format!("{}/ui/challenge", emu.call_connect_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("token", &token)
                .append_pair("decision", "approve")
                .finish(),
        )
        .send()
        .await?;
    let back = location(&r).ok_or("the UI did not send the browser back")?;
    println!(
        "POST the page's Approve     → {} back to {}",
        r.status(),
        back.split('?').next().unwrap_or("")
    );

    let r = browser.get(back.as_str()).send().await?;
    println!(
        "GET /withdraw/done?token=… → {} {}",
        r.status(),
        r.text().await?
    );

    let r = browser.get(done_url(&public_url, "forged")).send().await?;
    println!(
        "GET /withdraw/done forged  → {} {}",
        r.status(),
        r.text().await?
    );
    server.abort();
    Ok(())
}

/// The `Location` of a redirect.
fn location(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned)
}
