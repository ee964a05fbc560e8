//! CIBA on the server: our `ciba::Client` built from what `/providers` prints, the user played
//! through the control API, and ping and push notifications delivered by the server itself to
//! a notification endpoint (a small listener in the test).

use auth_core::{PollStatus, StepUp, StepUpRequest};
use ciba::{
    AuthenticationRequest, ClientAuth, ClientId, DeliveryMode, Outcome, TokenPoll, UserCode,
};
use oob_auth_emulator::{Options, Provider, Server};
use serde_json::{Value, json};

use crate::common::{Receiver, add_user, answer, ciba_client, get, poll, post, start, unique};

/// The server serving CIBA alone, with these settings.
fn options(settings: Value) -> Options {
    let mut options = Options::ephemeral();
    options.only = vec![Provider::Ciba];
    options.provider_mut(Provider::Ciba).settings = settings;
    options
}

/// The server serving CIBA (interval 1 s), a ping or push client of it whose notification
/// endpoint is `endpoint` (registered through the control API), and a new user.
async fn notified(
    mode: DeliveryMode,
    endpoint: &str,
    user: &str,
) -> (Server, ciba::Client, String) {
    let server = start(options(json!({"interval": 1}))).await;
    let control = server.control_url();
    let issuer = issuer_of(&server);
    let id = unique("app");
    let secret = format!("secret-{}", uuid::Uuid::new_v4().simple());
    let (status, body) = post(
        &format!("{control}/ciba/control"),
        Some(json!({"command": "provider", "body": {"register_client": {
            "client_id": id,
            "client_secret": secret,
            "backchannel_token_delivery_mode": mode.as_str(),
            "backchannel_client_notification_endpoint": endpoint,
        }}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let client =
        ciba::Client::builder(ClientId::new(id).unwrap(), ClientAuth::secret_basic(secret))
            .issuer(&issuer)
            .delivery_mode(mode)
            .build()
            .unwrap();
    let user = unique(user);
    add_user(control, "ciba", &user).await;
    (server, client, user)
}

/// The issuer the server prints for CIBA.
fn issuer_of(server: &Server) -> String {
    server.info()["providers"]["ciba"]["issuer"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The provider's delivery record, once it has `n` entries (fails after 10 s).
async fn deliveries(control: &str, n: usize) -> Vec<Value> {
    for _ in 0..100 {
        let (status, body) = get(&format!("{control}/ciba/deliveries")).await;
        assert_eq!(status, 200, "{body}");
        let recent = body["recent"].as_array().unwrap().clone();
        if recent.len() >= n {
            return recent;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("fewer than {n} deliveries recorded");
}

#[tokio::test(flavor = "multi_thread")]
async fn ciba_a_step_up_through_our_client_is_approved_on_the_phone() {
    let server = start(options(json!({"interval": 1}))).await;
    let control = server.control_url();
    let info = server.info();
    let c = &info["providers"]["ciba"];
    let issuer = c["issuer"].as_str().unwrap();
    assert_eq!(
        c["base_url"].as_str(),
        Some(issuer),
        "the issuer is where it is served"
    );
    assert_eq!(c["api_url"].as_str(), Some(issuer));
    assert!(issuer.starts_with("http://127.0.0.1:"), "{issuer}");
    assert_eq!(c["interval"], 1);

    // Discovery names the endpoints the JSON printed.
    let (status, discovery) = get(c["discovery_url"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{discovery}");
    assert_eq!(discovery["issuer"].as_str(), Some(issuer));
    for (printed, member) in [
        (
            "backchannel_authentication_endpoint",
            "backchannel_authentication_endpoint",
        ),
        ("token_endpoint", "token_endpoint"),
        ("jwks_uri", "jwks_uri"),
    ] {
        assert_eq!(discovery[member], c[printed], "{member}");
    }
    let (status, jwks) = get(c["jwks_uri"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert!(!jwks["keys"].as_array().unwrap().is_empty());

    let user = unique("ada");
    let added = add_user(control, "ciba", &user).await;
    assert_eq!(added["user"].as_str(), Some(user.as_str()));
    let client = ciba_client(info).build().unwrap();
    let auth_core::Started::Pending(handle) = client
        .start(StepUpRequest::new(
            user.as_str(),
            "Confirm payment",
            "Pay 120 EUR to ACME? 7B",
        ))
        .await
        .unwrap()
    else {
        panic!("a CIBA step-up is pending");
    };

    // The phone shows the binding message.
    let (status, pending) = get(&format!("{control}/pending?provider=ciba")).await;
    assert_eq!(status, 200);
    let mine = pending
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"].as_str() == Some(handle.id.as_str()))
        .unwrap_or_else(|| panic!("{pending}"));
    assert_eq!(mine["provider"], "ciba");
    assert_eq!(mine["user"].as_str(), Some(user.as_str()));
    assert_eq!(mine["message"], "Pay 120 EUR to ACME? 7B");
    let (_, own) = get(&format!("{control}/ciba/pending")).await;
    assert!(
        own.as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == mine["id"])
    );
    assert!(matches!(
        client.check(&handle).await.unwrap(),
        PollStatus::Pending { .. }
    ));

    let approve = format!("{control}/ciba/step-ups/{}/approve", handle.id);
    let (status, body) = post(&approve, None).await;
    assert_eq!(status, 200, "{body}");
    let outcome = client.wait(&handle, &poll()).await.unwrap();
    assert!(outcome.is_approved(), "{outcome:?}");

    let (status, body) = post(&approve, None).await;
    assert_eq!(status, 409, "approving twice: {body}");
    let (status, body) = post(&format!("{control}/ciba/step-ups/nope/deny"), None).await;
    assert_eq!(status, 404, "{body}");

    // A user added with a user code: requests for them must carry it.
    let coded = unique("cody");
    let (status, body) = post(
        &format!("{control}/ciba/users"),
        Some(json!({"user": coded, "details": {"user_code": "4321"}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let without = AuthenticationRequest::login_hint(coded.as_str());
    assert!(client.authenticate(without).await.is_err());
    let with = AuthenticationRequest::login_hint(coded.as_str()).user_code(UserCode::new("4321"));
    client.authenticate(with).await.unwrap();

    let (_, log) = get(&format!("{control}/ciba/log")).await;
    let paths: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["path"].as_str())
        .collect();
    assert!(
        paths.contains(&"/backchannel") && paths.contains(&"/token"),
        "{paths:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ciba_the_server_pings_the_clients_endpoint_when_the_user_approves() {
    let receiver = Receiver::start(204).await;
    let endpoint = format!("{}/ciba/ping", receiver.base);
    let (server, client, user) = notified(DeliveryMode::Ping, &endpoint, "pia").await;
    let control = server.control_url();
    let started = client
        .authenticate(
            AuthenticationRequest::login_hint(user.as_str()).binding_message("Log in? P1"),
        )
        .await
        .unwrap();

    answer(control, "ciba", started.auth_req_id.as_str(), "approve").await;

    let ping = receiver.next().await;
    assert_eq!(ping.path, "/ciba/ping");
    let bearer = ping.headers.get("authorization").map(|v| v.as_bytes());
    let (id, result) = client.handle_ping(bearer, &ping.body).await.unwrap();
    assert_eq!(id, started.auth_req_id);
    let TokenPoll::Done(Outcome::Approved(tokens)) = result else {
        panic!("{result:?}");
    };
    assert_eq!(tokens.claims.sub, user);
    assert_eq!(tokens.claims.iss, issuer_of(&server));

    // A ping with another token is refused by the client (the server sent the right one).
    assert!(
        client
            .handle_ping(Some(b"Bearer forged"), &ping.body)
            .await
            .is_err()
    );

    let recent = deliveries(control, 1).await;
    let last = recent.last().unwrap();
    assert_eq!(last["url"].as_str(), Some(endpoint.as_str()));
    assert_eq!(last["status"], 204, "{last}");
    assert!(last.get("headers").is_none() && last.get("body").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn ciba_push_results_wait_while_delivery_is_off_and_go_on_a_flush() {
    let receiver = Receiver::start(204).await;
    let endpoint = format!("{}/push", receiver.base);
    let (server, client, user) = notified(DeliveryMode::Push, &endpoint, "pat").await;
    let control = server.control_url();
    let command = |body: Value| {
        let url = format!("{control}/ciba/control");
        async move { post(&url, Some(json!({"command": "provider", "body": body}))).await }
    };

    let (status, body) = command(json!({"auto_deliver": false})).await;
    assert_eq!((status, &body), (200, &json!({"auto_deliver": false})));
    let denied = client
        .authenticate(AuthenticationRequest::login_hint(user.as_str()).binding_message("No? D1"))
        .await
        .unwrap();
    answer(control, "ciba", denied.auth_req_id.as_str(), "deny").await;
    // Nothing went out: with delivery off nothing is even queued.
    let (_, record) = get(&format!("{control}/ciba/deliveries")).await;
    assert_eq!(record["auto"], false);
    assert_eq!(record["recent"], json!([]), "{record}");

    let (status, flushed) = command(json!({"deliver_notifications": true})).await;
    assert_eq!(status, 200, "{flushed}");
    assert_eq!(flushed["delivered"], json!([204]), "{flushed}");
    let push = receiver.next().await;
    let bearer = push.headers.get("authorization").map(|v| v.as_bytes());
    let (id, outcome) = client.handle_push(bearer, &push.body).await.unwrap();
    assert_eq!(id, denied.auth_req_id);
    assert!(matches!(outcome, Outcome::Denied { .. }), "{outcome:?}");

    // On again: an approval's tokens are pushed without being asked.
    command(json!({"auto_deliver": true})).await;
    let approved = client
        .authenticate(AuthenticationRequest::login_hint(user.as_str()).binding_message("Yes? A1"))
        .await
        .unwrap();
    post(
        &format!("{control}/ciba/step-ups/{}/approve", approved.auth_req_id),
        None,
    )
    .await;
    let push = receiver.next().await;
    let bearer = push.headers.get("authorization").map(|v| v.as_bytes());
    let (id, outcome) = client.handle_push(bearer, &push.body).await.unwrap();
    assert_eq!(id, approved.auth_req_id);
    let Outcome::Approved(tokens) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(tokens.claims.sub, user);
}

#[tokio::test(flavor = "multi_thread")]
async fn ciba_a_push_client_is_told_of_an_expiry_with_nothing_else_happening() {
    let receiver = Receiver::start(204).await;
    let endpoint = format!("{}/push", receiver.base);
    let (server, client, user) = notified(DeliveryMode::Push, &endpoint, "eve").await;
    let control = server.control_url();
    let (status, body) = post(
        &format!("{control}/ciba/control"),
        Some(json!({"command": "provider", "body": {"expiry": 1}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let started = client
        .authenticate(AuthenticationRequest::login_hint(user.as_str()))
        .await
        .unwrap();
    assert_eq!(started.expires_in.as_secs(), 1);

    // No request, no command: the server's own tick finds the expiry and pushes it.
    let push = receiver.next().await;
    let bearer = push.headers.get("authorization").map(|v| v.as_bytes());
    let (id, outcome) = client.handle_push(bearer, &push.body).await.unwrap();
    assert_eq!(id, started.auth_req_id);
    assert!(matches!(outcome, Outcome::Expired), "{outcome:?}");
    // Told once: two looks later, nothing more went out.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert!(receiver.drain().await.is_empty());
    let recent = deliveries(control, 1).await;
    assert_eq!(recent.len(), 1, "told once: {recent:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn ciba_an_endpoint_that_is_down_is_recorded_and_nothing_else_breaks() {
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/gone", l.local_addr().unwrap())
    };
    let (server, client, user) = notified(DeliveryMode::Ping, &dead, "dee").await;
    let control = server.control_url();
    let started = client
        .authenticate(AuthenticationRequest::login_hint(user.as_str()))
        .await
        .unwrap();
    answer(control, "ciba", started.auth_req_id.as_str(), "approve").await;

    let recent = deliveries(control, 1).await;
    let last = recent.last().unwrap();
    assert_eq!(last["url"].as_str(), Some(dead.as_str()));
    assert!(
        last["error"].is_string() && last.get("status").is_none(),
        "{last}"
    );

    // The server serves on; the client that missed its ping asks the token endpoint.
    let TokenPoll::Done(Outcome::Approved(tokens)) =
        client.token_request(&started.auth_req_id).await.unwrap()
    else {
        panic!("the tokens wait at the token endpoint");
    };
    assert_eq!(tokens.claims.sub, user);
    let (status, _) = get(&format!("{control}/healthz")).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn ciba_settings_make_the_printed_client_and_bad_ones_stop_the_start() {
    let receiver = Receiver::start(204).await;
    let endpoint = format!("{}/cb", receiver.base);
    let server = start(options(json!({
        "client_id": "bank-backend",
        "client_secret": "bank-secret-1234",
        "delivery_mode": "ping",
        "notification_endpoint": endpoint,
        "interval": "1",
        "expiry": 60,
    })))
    .await;
    let c = &server.info()["providers"]["ciba"];
    assert_eq!(c["client_id"], "bank-backend");
    assert_eq!(c["delivery_mode"], "ping");
    assert_eq!(c["notification_endpoint"].as_str(), Some(endpoint.as_str()));
    let issuer = c["issuer"].as_str().unwrap();
    let client = ciba::Client::builder(
        ClientId::new("bank-backend").unwrap(),
        ClientAuth::secret_basic("bank-secret-1234"),
    )
    .issuer(issuer)
    .delivery_mode(DeliveryMode::Ping)
    .build()
    .unwrap();
    let control = server.control_url();
    let user = unique("set");
    add_user(control, "ciba", &user).await;
    let started = client
        .authenticate(AuthenticationRequest::login_hint(user.as_str()))
        .await
        .unwrap();
    assert_eq!(started.interval.as_secs(), 1);
    assert!(
        started.expires_in.as_secs() <= 60,
        "{:?}",
        started.expires_in
    );
    post(
        &format!("{control}/ciba/step-ups/{}/approve", started.auth_req_id),
        None,
    )
    .await;
    let ping = receiver.next().await;
    let bearer = ping.headers.get("authorization").map(|v| v.as_bytes());
    let (_, result) = client.handle_ping(bearer, &ping.body).await.unwrap();
    assert!(matches!(result, TokenPoll::Done(Outcome::Approved(_))));

    for bad in [
        json!({"interval": "soon"}),
        json!({"delivery_mode": "carrier-pigeon", "notification_endpoint": endpoint}),
        json!({"delivery_mode": "ping"}),
        json!({"notification_endpoint": "not a url"}),
        json!({"clients": {"client_id": "x"}}),
    ] {
        let err = oob_auth_emulator::Server::start(options(bad.clone()))
            .await
            .expect_err("bad settings are refused");
        assert!(err.to_string().starts_with("ciba: "), "{bad}: {err}");
    }
}
