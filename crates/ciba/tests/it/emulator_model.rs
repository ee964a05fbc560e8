//! The emulator as a protocol model: built and driven with no socket, its issuer, its bounded
//! memory, key rotation, and the provider commands a test in any language uses (registering
//! clients, taking ping and push notifications to deliver them itself).

use std::sync::Arc;
use std::time::Duration;

use auth_core::emulator::{Control, ControlError, InProcess, Model as _};
use auth_core::{FakeClock, HttpClient};
use ciba::emulator::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Emulator, KEY_GENERATIONS, Model};
use ciba::{
    AuthenticationRequest, Client, ClientAuth, ClientId, DeliveryMode, ErrorCode, Outcome,
    TokenPoll,
};
use serde_json::json;

const T0: u64 = 1_800_000_000;

/// The default client of `model` at `issuer`, calling the model in process.
fn client_of(model: &Arc<Model>, issuer: &str) -> ciba::ClientBuilder {
    let http: Arc<dyn HttpClient> = Arc::new(InProcess::new(model.clone()));
    Client::builder(
        ClientId::new(DEFAULT_CLIENT_ID).unwrap(),
        ClientAuth::secret_basic(DEFAULT_CLIENT_SECRET),
    )
    .issuer(issuer)
    .http_client(http)
    .clock(model.clock())
}

fn model_on_fake_clock() -> Arc<Model> {
    Arc::new(
        Emulator::builder()
            .user("alice")
            .clock(Arc::new(FakeClock::at_unix(T0)))
            .model()
            .unwrap(),
    )
}

/// A raw backchannel request of the default client for `alice`.
fn backchannel_request(base: &str) -> auth_core::HttpRequest {
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}"));
    http::Request::post(format!("{base}/backchannel"))
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"scope=openid&login_hint=alice".to_vec())
        .unwrap()
}

#[tokio::test]
async fn the_model_runs_with_no_socket_and_takes_its_issuer_from_the_request() {
    let model = model_on_fake_clock();
    // Usable as any provider's model.
    let shared: Arc<dyn auth_core::emulator::Model> = model.clone();
    assert_eq!(shared.provider(), "ciba");
    // Nobody listens on port 9: every request goes to the model in process.
    let client = client_of(&model, "http://127.0.0.1:9").build().unwrap();
    let started = client
        .authenticate(AuthenticationRequest::login_hint("alice").binding_message("In process?"))
        .await
        .unwrap();
    let pending = shared.pending();
    assert_eq!(pending[0].message, "In process?");
    shared
        .control(Control::Approve {
            id: pending[0].id.clone(),
        })
        .unwrap();
    let Outcome::Approved(tokens) = client.poll(&started).await.unwrap() else {
        panic!("not approved")
    };
    assert_eq!(tokens.claims.iss, "http://127.0.0.1:9");
    assert!(model.issuer().is_none(), "no issuer was set");
}

#[tokio::test]
async fn a_model_with_an_issuer_answers_under_its_path() {
    let model = Arc::new(
        Emulator::builder()
            .user("alice")
            .issuer("https://op.example/ciba/")
            .clock(Arc::new(FakeClock::at_unix(T0)))
            .model()
            .unwrap(),
    );
    let client = client_of(&model, "https://op.example/ciba")
        .build()
        .unwrap();
    let endpoints = client.discover().await.unwrap();
    assert_eq!(endpoints.issuer, "https://op.example/ciba");
    assert_eq!(
        endpoints.token.as_str(),
        "https://op.example/ciba/token",
        "the endpoints live under the issuer's path"
    );
    let started = client
        .authenticate(AuthenticationRequest::login_hint("alice"))
        .await
        .unwrap();
    model.approve(&started.auth_req_id).unwrap();
    let Outcome::Approved(tokens) = client.poll(&started).await.unwrap() else {
        panic!("not approved")
    };
    assert_eq!(tokens.claims.iss, "https://op.example/ciba");
    // Mounted with the prefix stripped, the same paths answer.
    let stripped = model
        .handle(
            http::Request::get("/.well-known/openid-configuration")
                .body(Vec::new())
                .unwrap(),
        )
        .await;
    assert_eq!(stripped.status(), 200);
    let doc: serde_json::Value = serde_json::from_slice(stripped.body()).unwrap();
    assert_eq!(doc["jwks_uri"], "https://op.example/ciba/jwks");
}

#[tokio::test]
async fn a_model_served_elsewhere_names_the_url_it_is_reached_at() {
    // Served by auth-core's server with no issuer set: discovery names the served URLs.
    let model = Arc::new(Emulator::builder().user("alice").model().unwrap());
    let server = auth_core::emulator::serve(model.clone(), "127.0.0.1:0")
        .await
        .unwrap();
    let base = server.base_url().as_str().to_owned();
    let client = Client::builder(
        ClientId::new(DEFAULT_CLIENT_ID).unwrap(),
        ClientAuth::secret_basic(DEFAULT_CLIENT_SECRET),
    )
    .issuer(&base)
    .build()
    .unwrap();
    let endpoints = client.discover().await.unwrap();
    assert_eq!(endpoints.issuer, base);
    assert_eq!(
        endpoints.backchannel_authentication.as_str(),
        format!("{base}/backchannel")
    );
    // The emulator's own server: the issuer is its base URL, fixed.
    let emulator = Emulator::start().await.unwrap();
    assert_eq!(
        emulator.issuer().as_deref(),
        Some(emulator.base_url().as_str())
    );
}

#[tokio::test]
async fn memory_stays_bounded_whatever_clients_send() {
    let model = Arc::new(
        Emulator::builder()
            .user("alice")
            .clock(Arc::new(FakeClock::at_unix(T0)))
            .settled_capacity(3)
            .log_capacity(5)
            .model()
            .unwrap(),
    );
    let client = client_of(&model, "http://127.0.0.1:9").build().unwrap();
    let mut first = None;
    for _ in 0..10 {
        let started = client
            .authenticate(AuthenticationRequest::login_hint("alice"))
            .await
            .unwrap();
        model.approve(&started.auth_req_id).unwrap();
        assert!(client.poll(&started).await.unwrap().is_approved());
        first.get_or_insert(started);
    }
    assert_eq!(
        model.requests().len(),
        3,
        "settled requests beyond 3 dropped"
    );
    assert_eq!(model.log().len(), 5);
    let log = model.control(Control::ReadLog { limit: None }).unwrap();
    assert_eq!(log.as_array().unwrap().len(), 5);
    // The tokens of a dropped request: invalid_grant, as for any unknown auth_req_id.
    let first = first.unwrap();
    let err = client.token_request(&first.auth_req_id).await.unwrap_err();
    assert_eq!(err.error_code(), Some(&ErrorCode::InvalidGrant));
    assert!(matches!(
        model.control(Control::Approve {
            id: first.auth_req_id.as_str().to_owned()
        }),
        Err(ControlError::NotFound { .. })
    ));
}

#[tokio::test]
async fn waiting_requests_are_capped_and_expired_ones_make_room() {
    let clock = FakeClock::at_unix(T0);
    let model = Arc::new(
        Emulator::builder()
            .user("alice")
            .clock(Arc::new(clock.clone()))
            .model()
            .unwrap(),
    );
    let base = "http://127.0.0.1:9";
    for _ in 0..ciba::emulator::MAX_OPEN_REQUESTS {
        assert_eq!(model.handle(backchannel_request(base)).await.status(), 200);
    }
    let full = model.handle(backchannel_request(base)).await;
    assert_eq!(full.status(), 503);
    assert!(String::from_utf8_lossy(full.body()).contains("temporarily_unavailable"));
    // Once they expire, they are settled (and all but the newest settled ones dropped).
    clock.advance(Duration::from_secs(ciba::emulator::DEFAULT_EXPIRY));
    assert_eq!(model.handle(backchannel_request(base)).await.status(), 200);
    assert_eq!(
        model.requests().len(),
        ciba::emulator::DEFAULT_SETTLED_CAPACITY + 1
    );
}

#[tokio::test]
async fn key_rotation_publishes_a_bounded_number_of_generations() {
    let model = model_on_fake_clock();
    let first = model.published_kids();
    assert_eq!(first.len(), 3, "RS256, PS256, ES256");
    let mut newest = Vec::new();
    for _ in 0..KEY_GENERATIONS + 1 {
        let answer = model.control(Control::RotateKeys).unwrap();
        newest = serde_json::from_value::<Vec<String>>(answer["kids"].clone()).unwrap();
    }
    let published = model.published_kids();
    assert_eq!(published.len(), 3 * KEY_GENERATIONS);
    assert_eq!(published[..3], newest[..], "the newest keys sign");
    assert!(first.iter().all(|k| !published.contains(k)), "retired");
    // The JWKS as a client fetches it.
    let jwks = model
        .handle(
            http::Request::get("http://127.0.0.1:9/jwks")
                .body(Vec::new())
                .unwrap(),
        )
        .await;
    let keys: serde_json::Value = serde_json::from_slice(jwks.body()).unwrap();
    assert_eq!(keys["keys"].as_array().unwrap().len(), 3 * KEY_GENERATIONS);
}

#[tokio::test]
async fn provider_commands_register_clients_and_hand_out_notifications() {
    let model = model_on_fake_clock();
    let base = "http://127.0.0.1:9";
    // A ping client and a push client, registered as JSON (OpenID registration metadata).
    for (id, mode) in [("ping-client", "ping"), ("push-client", "push")] {
        model
            .control(Control::Provider {
                body: json!({"register_client": {
                    "client_id": id,
                    "token_endpoint_auth_method": "client_secret_post",
                    "client_secret": "s3cret-0123456789",
                    "backchannel_token_delivery_mode": mode,
                    "backchannel_client_notification_endpoint": format!("https://app.example/cb/{mode}"),
                    "id_token_signed_response_alg": "ES256",
                }}),
            })
            .unwrap();
    }
    let http: Arc<dyn HttpClient> = Arc::new(InProcess::new(model.clone()));
    let client = |id: &str, mode: DeliveryMode| {
        Client::builder(
            ClientId::new(id).unwrap(),
            ClientAuth::secret_post("s3cret-0123456789"),
        )
        .issuer(base)
        .http_client(http.clone())
        .clock(model.clock())
        .delivery_mode(mode)
        .build()
        .unwrap()
    };
    let (ping, push) = (
        client("ping-client", DeliveryMode::Ping),
        client("push-client", DeliveryMode::Push),
    );
    let pinged = ping
        .authenticate(AuthenticationRequest::login_hint("alice"))
        .await
        .unwrap();
    let pushed = push
        .authenticate(AuthenticationRequest::login_hint("alice"))
        .await
        .unwrap();
    for waiting in model.pending() {
        model.control(Control::Approve { id: waiting.id }).unwrap();
    }
    assert_eq!(model.pending_notifications(), 2);

    // As JSON, for a test in any language (taken: they are not delivered twice).
    let taken = model
        .control(Control::Provider {
            body: json!({"take_notifications": true}),
        })
        .unwrap();
    assert_eq!(model.pending_notifications(), 0);
    let taken = taken.as_array().unwrap();
    assert_eq!(taken.len(), 2);
    let to = |path: &str| taken.iter().find(|n| n["path"] == path).unwrap();
    let ping_note = to("/cb/ping");
    assert_eq!(ping_note["method"], "POST");
    let bearer = format!(
        "Bearer {}",
        pinged
            .client_notification_token
            .as_ref()
            .unwrap()
            .expose_secret()
    );
    assert_eq!(ping_note["headers"]["authorization"], bearer.as_str());
    let body = ping_note["body"].as_str().unwrap();
    // The test delivers it: the client verifies the bearer, then fetches the tokens.
    let (id, poll) = ping
        .handle_ping(Some(bearer.as_bytes()), body.as_bytes())
        .await
        .unwrap();
    assert_eq!(id, pinged.auth_req_id);
    assert!(matches!(poll, TokenPoll::Done(Outcome::Approved(_))));

    // The push payload carries the tokens; the client validates them as pushed.
    let push_note = to("/cb/push");
    let (_, outcome) = push
        .handle_push(
            push_note["headers"]["authorization"]
                .as_str()
                .map(str::as_bytes),
            push_note["body"].as_str().unwrap().as_bytes(),
        )
        .await
        .unwrap();
    let Outcome::Approved(tokens) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        tokens.claims.auth_req_id.as_deref(),
        Some(pushed.auth_req_id.as_str())
    );

    // As Rust: http::Requests to hand to any HTTP client.
    let again = push
        .authenticate(AuthenticationRequest::login_hint("alice"))
        .await
        .unwrap();
    model.deny(&again.auth_req_id).unwrap();
    let notes = model.take_notifications();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].uri().to_string(), "https://app.example/cb/push");
    let (_, outcome) = push
        .handle_push(
            notes[0]
                .headers()
                .get("authorization")
                .map(|v| v.as_bytes()),
            notes[0].body(),
        )
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Denied { .. }), "{outcome:?}");

    // The other provider commands, and what is refused.
    model
        .control(Control::Provider {
            body: json!({"metadata": {"backchannel_user_code_parameter_supported": false}}),
        })
        .unwrap();
    model
        .control(Control::Provider {
            body: json!({"interval": null}),
        })
        .unwrap();
    let started = ping
        .authenticate(AuthenticationRequest::login_hint("alice"))
        .await
        .unwrap();
    assert_eq!(started.interval, Duration::from_secs(5), "no interval sent");
    for bad in [
        json!({"fault": "no_such_fault"}),
        json!({"register_client": {"client_id": "x", "token_endpoint_auth_method": "tls_client_auth"}}),
        json!({"something": "else"}),
    ] {
        assert!(matches!(
            model.control(Control::Provider { body: bad }),
            Err(ControlError::Invalid(_))
        ));
    }
}

/// What a test of the emulator server reads and sets instead of the Rust methods: a request as
/// the OP saw it, every request, the JWKS fetches, the faults with parameters, a client given
/// as its registration, and a reset of what tests change.
#[tokio::test]
async fn provider_commands_read_requests_and_reset_what_tests_change() {
    let model = model_on_fake_clock();
    let provider = |body: serde_json::Value| model.control(Control::Provider { body });
    let client = client_of(&model, "http://127.0.0.1:9").build().unwrap();
    let started = client
        .authenticate(AuthenticationRequest::login_hint("alice").binding_message("Pay? 7"))
        .await
        .unwrap();
    let seen = provider(json!({"request": started.auth_req_id.as_str()})).unwrap();
    assert_eq!(seen["user"], "alice");
    assert_eq!(seen["client_id"], DEFAULT_CLIENT_ID);
    assert_eq!(seen["binding_message"], "Pay? 7");
    assert_eq!(seen["state"], "pending");
    assert_eq!(seen["polls"], 0);
    assert_eq!(seen["interval"], 5);
    assert!(seen["expires_at"].as_f64().unwrap() > T0 as f64);
    let all = provider(json!({"requests": true})).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 1);
    assert!(matches!(
        provider(json!({"request": "no-such-request"})),
        Err(ControlError::NotFound { .. })
    ));
    assert_eq!(
        provider(json!({"jwks_fetches": true})).unwrap(),
        json!({"jwks_fetches": 0})
    );

    // Faults with parameters: an OAuth error, then 503 with Retry-After.
    provider(json!({"fault": "oauth_error", "status": 400, "error": "invalid_scope"})).unwrap();
    let err = client
        .authenticate(AuthenticationRequest::login_hint("alice"))
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), Some(&ErrorCode::InvalidScope));
    provider(json!({"fault": "unavailable", "retry_after": 3})).unwrap();
    let err = client
        .authenticate(AuthenticationRequest::login_hint("alice"))
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), Some(&ErrorCode::TemporarilyUnavailable));
    for bad in [
        json!({"fault": "delay"}),
        json!({"fault": "oauth_error", "status": 200, "error": "x"}),
        json!({"fault": "oauth_error", "status": 400}),
    ] {
        assert!(
            matches!(provider(bad.clone()), Err(ControlError::Invalid(_))),
            "{bad}"
        );
    }

    // A client given as its registration: the same client (no refresh tokens here).
    let registered = ciba::emulator::EmulatedClient::secret_post("post-client", "post-secret-01")
        .without_refresh_tokens()
        .registration();
    assert_eq!(
        registered["token_endpoint_auth_method"],
        "client_secret_post"
    );
    provider(json!({"register_client": registered})).unwrap();
    let post = Client::builder(
        ClientId::new("post-client").unwrap(),
        ClientAuth::secret_post("post-secret-01"),
    )
    .issuer("http://127.0.0.1:9")
    .http_client(Arc::new(InProcess::new(model.clone())))
    .clock(model.clock())
    .build()
    .unwrap();
    let started = post
        .authenticate(AuthenticationRequest::login_hint("alice"))
        .await
        .unwrap();
    model.approve(&started.auth_req_id).unwrap();
    let TokenPoll::Done(Outcome::Approved(tokens)) =
        post.token_request(&started.auth_req_id).await.unwrap()
    else {
        panic!("not approved")
    };
    assert!(tokens.refresh_token.is_none());

    // A reset forgets the discovery overrides, the waiting faults, the interval and expiry.
    provider(json!({"metadata": {"backchannel_user_code_parameter_supported": false}})).unwrap();
    provider(json!({"interval": 9})).unwrap();
    provider(json!({"expiry": 30})).unwrap();
    provider(json!({"fault": "slow_down"})).unwrap();
    assert_eq!(
        provider(json!({"reset": true})).unwrap(),
        json!({"reset": true})
    );
    let fresh = client_of(&model, "http://127.0.0.1:9").build().unwrap();
    let metadata = fresh.metadata().await.unwrap().unwrap();
    assert!(metadata.backchannel_user_code_parameter_supported);
    let started = fresh
        .authenticate(AuthenticationRequest::login_hint("alice"))
        .await
        .unwrap();
    assert_eq!(started.interval, Duration::from_secs(5));
    assert_eq!(started.expires_in, Duration::from_secs(120));
    model.approve(&started.auth_req_id).unwrap();
    model.clock().sleep(Duration::from_secs(5)).await;
    assert!(
        matches!(
            fresh.token_request(&started.auth_req_id).await.unwrap(),
            TokenPoll::Done(Outcome::Approved(_))
        ),
        "no slow_down waiting any more"
    );
}

/// A push client is told of an expiry once, whether time ran out or `expire` came (or both);
/// a reset ends what is still open without telling anyone, and drops what waits for delivery.
#[tokio::test]
async fn a_push_client_is_told_of_an_expiry_once_and_a_reset_tells_nobody() {
    let clock = Arc::new(FakeClock::at_unix(T0));
    let model = Arc::new(
        Emulator::builder()
            .user("alice")
            .clock(clock.clone())
            .model()
            .unwrap(),
    );
    model
        .control(Control::Provider {
            body: json!({"register_client": {
                "client_id": "push-client",
                "token_endpoint_auth_method": "client_secret_post",
                "client_secret": "s3cret-0123456789",
                "backchannel_token_delivery_mode": "push",
                "backchannel_client_notification_endpoint": "https://app.example/cb/push",
            }}),
        })
        .unwrap();
    let push = Client::builder(
        ClientId::new("push-client").unwrap(),
        ClientAuth::secret_post("s3cret-0123456789"),
    )
    .issuer("http://127.0.0.1:9")
    .http_client(Arc::new(InProcess::new(model.clone())))
    .clock(model.clock())
    .delivery_mode(DeliveryMode::Push)
    .build()
    .unwrap();
    let start = || push.authenticate(AuthenticationRequest::login_hint("alice"));
    let (first, second) = (start().await.unwrap(), start().await.unwrap());

    // Time runs out for both: one expiry payload each, the older request first.
    clock.advance(first.expires_in + Duration::from_secs(1));
    let told = model.take_notifications();
    let named: Vec<String> = told
        .iter()
        .map(|r| {
            let body: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
            assert_eq!(body["error"], "expired_token");
            body["auth_req_id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        named,
        [first.auth_req_id.as_str(), second.auth_req_id.as_str()]
    );
    // `expire` after that tells nobody again, and neither does the next look.
    model.expire(&first.auth_req_id).unwrap();
    assert!(model.take_notifications().is_empty());

    // An answer that comes after the end, before anyone looked, is refused and leaves the
    // expiry to be told.
    let late = start().await.unwrap();
    clock.advance(late.expires_in + Duration::from_secs(1));
    assert!(model.approve(&late.auth_req_id).is_err());
    let told = model.take_notifications();
    assert_eq!(told.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(told[0].body()).unwrap();
    assert_eq!(body["auth_req_id"], late.auth_req_id.as_str());
    assert_eq!(body["error"], "expired_token");

    // A reset ends the open requests silently and drops the undelivered notifications.
    let (open, answered) = (start().await.unwrap(), start().await.unwrap());
    model.deny(&answered.auth_req_id).unwrap();
    assert_eq!(model.pending_notifications(), 1);
    model.reset();
    assert_eq!(model.pending_notifications(), 0);
    clock.advance(open.expires_in + Duration::from_secs(1));
    assert!(model.take_notifications().is_empty());
    assert!(model.pending().is_empty());
}
