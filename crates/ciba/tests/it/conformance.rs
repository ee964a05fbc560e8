//! CIBA conformance suite: the client against the emulated OP — poll, ping and push modes,
//! client authentication, signed requests, the FAPI-CIBA switch, ID token validation and JWKS
//! rotation, faults, the shared control vocabulary. Every scenario runs three times: over real
//! loopback HTTP (`socket::…`), through `Emulator::in_process()`, the same model with no socket
//! (`in_process::…`), and against the `oob-auth-emulator` server binary (`binary::…`, ignored
//! unless `cargo xtask conformance --binary` runs them). `cargo xtask conformance` prints one
//! row per test. (The same client against a real, certified OP: `real_op`.)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_core::emulator::{Control, ControlError};
use auth_core::poll::{PollConfig, PollStatus};
use auth_core::{HttpClient, HttpRequest, StepUp, StepUpOutcome, StepUpRequest};
use ciba::emulator::{EmulatedClient, Emulator, Fault, RequestState};
use ciba::{
    Algorithm, AuthenticationRequest, Client, ClientAuth, ClientId, DeliveryMode, Endpoints, Error,
    ErrorCode, IdTokenError, IdTokenJwt, NotificationError, Outcome, SigningKey, TokenPoll,
    UserCode, UserHint,
};

use crate::emu::{Setup, Wire};

/// Every scenario runs over a real socket (`socket::…`), through `Emulator::in_process`
/// (`in_process::…`), and against the emulator server binary (`binary::…`).
macro_rules! on_every_wire {
    ($($name:ident),* $(,)?) => {
        /// The scenarios over real HTTP on a loopback port.
        mod socket {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Wire::Socket).await;
            })*
        }
        /// The scenarios through the in-process client: the model, no socket.
        mod in_process {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Wire::InProcess).await;
            })*
        }
        /// The scenarios against the `oob-auth-emulator` server binary at `OOB_EMULATOR_URL`
        /// (`cargo xtask conformance --binary` starts it and runs these); without it each
        /// fails, never passes. None is left out.
        mod binary {
            $(auth_core::needs_emulator_server! {
                async fn $name() {
                    super::$name(super::Wire::Binary).await;
                }
            })*
        }
    };
}

on_every_wire!(
    setup,
    discovery_reads_the_ciba_endpoints_and_modes,
    discovery_refuses_an_op_without_ciba_or_the_mode,
    poll_mode_approval_yields_verified_id_token_claims,
    client_secret_post_sends_the_secret_in_the_body,
    private_key_jwt_with_rs256_ps256_and_es256,
    denial_is_a_typed_outcome,
    expiry_ends_polling_without_asking_past_expires_in,
    slow_down_adds_five_seconds_for_the_rest_of_the_request,
    polls_never_come_faster_than_the_interval,
    default_interval_is_five_seconds_when_the_op_sends_none,
    exactly_one_hint_and_other_checks_happen_before_sending,
    unknown_user_is_a_typed_error,
    wrong_client_secret_is_invalid_client_and_never_leaks,
    binding_message_acr_values_and_user_code_are_passed_through,
    user_code_is_refused_when_the_op_does_not_support_it,
    signed_authentication_requests_carry_every_parameter_in_the_jwt,
    fapi_ciba_profile_refuses_what_it_forbids_and_runs_with_ps256,
    ping_setup,
    ping_mode_verifies_the_bearer_then_fetches_the_token_once,
    ping_with_a_wrong_bearer_token_fetches_nothing,
    push_setup,
    push_mode_validates_at_hash_rt_hash_and_auth_req_id,
    push_with_a_forged_token_hash_or_request_id_is_rejected,
    push_error_payloads_become_outcomes,
    push_clients_are_told_once_when_time_runs_out,
    id_token_faults_are_each_rejected,
    null_optional_fields_in_the_token_response_are_tolerated,
    jwks_rotation_is_picked_up_with_one_refetch,
    unknown_kids_cannot_make_the_client_hammer_the_jwks,
    unavailable_op_is_asked_again_at_the_next_interval_honouring_retry_after,
    the_backchannel_request_is_sent_once_even_on_503,
    a_token_request_for_another_clients_request_is_invalid_grant,
    id_token_hint_from_an_earlier_login_finds_the_user,
    stepup_approval_carries_the_id_token_claims_as_evidence,
    stepup_denied_and_expired,
    secrets_never_appear_in_debug_or_errors,
    a_never_answering_op_times_out,
    emulator_requests_show_state_changes,
    another_instance_can_resume_polling_a_stored_request,
    the_shared_control_vocabulary_drives_the_emulator,
    advance_clock_moves_the_default_clock,
);

/// The scenario's OP (the crate's emulator on a `FakeClock` at `T0`, or the server binary),
/// the default client and two users.
async fn setup(wire: Wire) -> Setup {
    Setup::start(wire).await
}

fn id(s: &str) -> ClientId {
    ClientId::new(s).unwrap()
}

fn approved(outcome: Outcome) -> Box<ciba::Tokens> {
    match outcome {
        Outcome::Approved(t) => t,
        other => panic!("expected an approval, got {other:?}"),
    }
}

/// A client of the emulator with its own registration, over the setup's wire.
fn client_for(s: &Setup, client_id: &str, auth: ClientAuth) -> ciba::ClientBuilder {
    s.client_for(client_id, auth)
}

/// Form parameters as sent, in order.
type Form = Vec<(String, String)>;

/// An HTTP client that records what the client sends (path and form parameters) before
/// passing it on: what the OP received, seen from the wire.
struct Recorder {
    inner: Arc<dyn HttpClient>,
    sent: Mutex<Vec<(String, Form)>>,
    user_agents: Mutex<Vec<String>>,
}

impl Recorder {
    fn new(s: &Setup) -> Arc<Recorder> {
        Arc::new(Recorder {
            inner: s.http(),
            sent: Mutex::new(Vec::new()),
            user_agents: Mutex::new(Vec::new()),
        })
    }

    /// The form parameters of the last request to a path ending in `suffix`.
    fn last_to(&self, suffix: &str) -> Form {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(path, _)| path.ends_with(suffix))
            .map(|(_, params)| params.clone())
            .unwrap()
    }
}

#[auth_core::async_trait]
impl HttpClient for Recorder {
    async fn execute(
        &self,
        request: HttpRequest,
    ) -> Result<auth_core::HttpResponse, auth_core::TransportError> {
        let params = url::form_urlencoded::parse(request.body())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        self.sent
            .lock()
            .unwrap()
            .push((request.uri().path().to_owned(), params));
        if let Some(ua) = request.headers().get("user-agent") {
            self.user_agents
                .lock()
                .unwrap()
                .push(ua.to_str().unwrap().to_owned());
        }
        self.inner.execute(request).await
    }
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Lets the other tasks run once. (Unlike `tokio::task::yield_now`, which may starve the
/// calling task while an in-process poller that never waits on a socket keeps running, this
/// goes to the back of the run queue.)
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await;
}

/// POSTs a notification of your own to a client's notification endpoint (wrong tokens,
/// forged bodies); returns the status.
async fn post_notification(url: &str, authorization: Option<&str>, body: &str) -> u16 {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(a) = authorization {
        request = request.header("authorization", a);
    }
    request.send().await.unwrap().status().as_u16()
}

async fn discovery_reads_the_ciba_endpoints_and_modes(wire: Wire) {
    let s = setup(wire).await;
    let endpoints = s.client.discover().await.unwrap();
    // The issuer is the served base URL, and discovery names the served endpoints.
    let base = s.base_url().as_str();
    assert_eq!(endpoints.issuer, base);
    assert_eq!(
        endpoints.backchannel_authentication.as_str(),
        format!("{base}/backchannel")
    );
    assert_eq!(endpoints.token.as_str(), format!("{base}/token"));
    assert_eq!(endpoints.jwks.as_str(), format!("{base}/jwks"));
    let m = s.client.metadata().await.unwrap().unwrap();
    assert_eq!(
        m.backchannel_token_delivery_modes_supported,
        [DeliveryMode::Poll, DeliveryMode::Ping, DeliveryMode::Push]
    );
    assert!(m.backchannel_user_code_parameter_supported);
    // Fetched once, however many calls.
    s.client.discover().await.unwrap();
    assert_eq!(s.calls("/.well-known/openid-configuration").await.len(), 1);
}

async fn discovery_refuses_an_op_without_ciba_or_the_mode(wire: Wire) {
    let s = setup(wire).await;
    s.set_metadata(
        "backchannel_token_delivery_modes_supported",
        serde_json::json!(["poll"]),
    )
    .await;
    let ping = client_for(
        &s,
        s.client_id.as_str(),
        ClientAuth::secret_basic(s.client_secret.as_str()),
    )
    .delivery_mode(DeliveryMode::Ping)
    .build()
    .unwrap();
    assert!(matches!(ping.discover().await, Err(Error::Discovery(m)) if m.contains("ping")));
    s.set_metadata(
        "backchannel_authentication_endpoint",
        serde_json::Value::Null,
    )
    .await;
    let err = s
        .default_builder()
        .build()
        .unwrap()
        .discover()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Discovery(_)), "{err}");
    // The same OP with the endpoints set by hand.
    let i = s.base_url().as_str();
    let manual = Client::builder(
        id(s.client_id.as_str()),
        ClientAuth::secret_basic(s.client_secret.as_str()),
    )
    .endpoints(
        Endpoints::builder(i)
            .backchannel_authentication(format!("{i}/backchannel"))
            .token(format!("{i}/token"))
            .jwks(format!("{i}/jwks"))
            .build()
            .unwrap(),
    )
    .clock(s.clock());
    let manual = s.over(manual).build().unwrap();
    let started = manual
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap();
    s.approve(&started.auth_req_id).await.unwrap();
    assert!(manual.poll(&started).await.unwrap().is_approved());
}

async fn poll_mode_approval_yields_verified_id_token_claims(wire: Wire) {
    let s = setup(wire).await;
    let started = s
        .client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()).scope("profile email"))
        .await
        .unwrap();
    assert_eq!(started.interval, Duration::from_secs(5));
    assert_eq!(started.expires_in, Duration::from_secs(120));
    assert!(started.client_notification_token.is_none());
    assert!(matches!(
        s.client.token_request(&started.auth_req_id).await.unwrap(),
        TokenPoll::Pending
    ));
    s.approve(&started.auth_req_id).await.unwrap();
    let tokens = approved(s.client.poll(&started).await.unwrap());
    assert_eq!(tokens.claims.sub, s.alice.as_str());
    assert_eq!(tokens.claims.iss, s.base_url().as_str());
    assert_eq!(tokens.claims.aud, [s.client_id.as_str()]);
    assert_eq!(tokens.claims.acr.as_deref(), Some("urn:emulator:acr:phone"));
    assert_eq!(
        tokens.claims.other["email"],
        format!("{}@example.com", s.alice).as_str()
    );
    assert!(tokens.refresh_token.is_some());
    assert_eq!(tokens.expires_in, Some(Duration::from_secs(3600)));
    // The tokens were consumed: asking again is invalid_grant.
    let again = s
        .client
        .token_request(&started.auth_req_id)
        .await
        .unwrap_err();
    assert_eq!(again.error_code(), Some(&ErrorCode::InvalidGrant));
}

async fn client_secret_post_sends_the_secret_in_the_body(wire: Wire) {
    let s = setup(wire).await;
    s.register_client(EmulatedClient::secret_post("post-client", "post-secret"))
        .await;
    let recorder = Recorder::new(&s);
    let client = client_for(&s, "post-client", ClientAuth::secret_post("post-secret"))
        .http_client(recorder.clone())
        .build()
        .unwrap();
    let started = client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap();
    let sent = recorder.last_to("/backchannel");
    assert_eq!(param(&sent, "client_id"), Some("post-client"));
    assert_eq!(param(&sent, "client_secret"), Some("post-secret"));
    // The client names itself as the crate does.
    let agents = recorder.user_agents.lock().unwrap().clone();
    let ours = format!("ciba/{}", env!("CARGO_PKG_VERSION"));
    assert!(
        !agents.is_empty() && agents.iter().all(|ua| ua.starts_with(&ours)),
        "{agents:?}"
    );
    s.approve(&started.auth_req_id).await.unwrap();
    assert!(client.poll(&started).await.unwrap().is_approved());
    // The emulator's own log keeps no parameters.
    let log = format!("{:?}", s.log().await);
    assert!(
        log.contains("/backchannel") && !log.contains("post-secret"),
        "{log}"
    );
}

async fn private_key_jwt_with_rs256_ps256_and_es256(wire: Wire) {
    let s = setup(wire).await;
    for alg in [Algorithm::RS256, Algorithm::PS256, Algorithm::ES256] {
        let key = SigningKey::generate(alg).unwrap();
        let name = format!("jwt-{alg}");
        s.register_client(EmulatedClient::private_key_jwt(&name, &key).id_token_alg(alg))
            .await;
        let client = client_for(&s, &name, ClientAuth::private_key_jwt(key))
            .build()
            .unwrap();
        let started = client
            .authenticate(AuthenticationRequest::login_hint(s.bob.as_str()))
            .await
            .unwrap();
        s.approve(&started.auth_req_id).await.unwrap();
        let tokens = approved(client.poll(&started).await.unwrap());
        assert_eq!(tokens.claims.sub, s.bob.as_str(), "{alg}");
    }
    // Each assertion had its own jti (the emulator refuses a replayed one): 3 × (request + ≥1 poll).
    assert!(s.log().await.iter().all(|c| c.status != 401));
}

async fn denial_is_a_typed_outcome(wire: Wire) {
    let s = setup(wire).await;
    let started = s
        .client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap();
    s.deny(&started.auth_req_id).await.unwrap();
    match s.client.poll(&started).await.unwrap() {
        Outcome::Denied { description } => {
            assert_eq!(description.as_deref(), Some("the user denied the request"));
        }
        other => panic!("{other:?}"),
    }
}

async fn expiry_ends_polling_without_asking_past_expires_in(wire: Wire) {
    let s = setup(wire).await;
    let started = s
        .client
        .authenticate(
            AuthenticationRequest::login_hint(s.alice.as_str())
                .requested_expiry(Duration::from_secs(12)),
        )
        .await
        .unwrap();
    assert_eq!(started.expires_in, Duration::from_secs(12));
    let outcome = s.client.poll(&started).await.unwrap();
    assert!(matches!(outcome, Outcome::Expired), "{outcome:?}");
    // Polls at +5 and +10; at +12 the client stops on its own.
    let times = s.times("/token").await;
    assert_eq!(times, [5, 10]);
    // An OP's own expired_token (asked regardless of the deadline) is the same outcome.
    s.set_expiry(30).await;
    let started = s
        .client
        .authenticate(AuthenticationRequest::login_hint(s.bob.as_str()))
        .await
        .unwrap();
    s.expire(&started.auth_req_id).await.unwrap();
    assert!(matches!(
        s.client.token_request(&started.auth_req_id).await.unwrap(),
        TokenPoll::Done(Outcome::Expired)
    ));
}

async fn slow_down_adds_five_seconds_for_the_rest_of_the_request(wire: Wire) {
    let s = setup(wire).await;
    let started = s
        .client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap();
    s.inject(Fault::SlowDown).await;
    // Polls at +5 (slow_down: interval 10), +15, +25; approve before the fourth at +35.
    let poll = s.client.poll(&started);
    let approve = async {
        while s.calls("/token").await.len() < 3 {
            yield_once().await;
        }
        s.approve(&started.auth_req_id).await.unwrap();
    };
    let (outcome, ()) = tokio::join!(poll, approve);
    assert!(outcome.unwrap().is_approved());
    let times = s.times("/token").await;
    assert_eq!(times[0], 5);
    assert!(times.len() >= 4, "{times:?}");
    assert!(
        times.windows(2).all(|w| w[1] - w[0] == 10),
        "10 s apart after slow_down: {times:?}"
    );
    let statuses: Vec<u16> = s.calls("/token").await.iter().map(|c| c.status).collect();
    assert_eq!(statuses.last(), Some(&200));
}

async fn polls_never_come_faster_than_the_interval(wire: Wire) {
    let s = setup(wire).await;
    s.set_interval(Some(7)).await;
    let started = s
        .client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap();
    // poll_once right away, and again and again: nothing is sent before +7.
    for _ in 0..5 {
        match s.client.poll_once(&started).await.unwrap() {
            PollStatus::Pending { retry_after } => {
                // The rest of the 7 s (all of it on the crate's stopped clock; against the
                // server, whose time runs, a few milliseconds less).
                let rest = retry_after.unwrap();
                assert!(
                    rest <= Duration::from_secs(7) && rest > Duration::from_secs(6),
                    "{rest:?}"
                );
                if !s.is_remote() {
                    assert_eq!(rest, Duration::from_secs(7));
                }
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(s.calls("/token").await.is_empty());
    s.advance(Duration::from_secs(7)).await;
    assert!(matches!(
        s.client.poll_once(&started).await.unwrap(),
        PollStatus::Pending { .. }
    ));
    assert!(matches!(
        s.client.poll_once(&started).await.unwrap(),
        PollStatus::Pending { .. }
    ));
    assert_eq!(s.calls("/token").await.len(), 1);
    // StepUp::wait with a 1 s PollConfig keeps to the 7 s interval as well; the OP (which
    // answers slow_down to early polls) never had to.
    let handle = s
        .client
        .start(StepUpRequest::new(s.bob.as_str(), "t", "Sign in?"))
        .await
        .unwrap()
        .into_handle();
    let req = ciba::AuthReqId::new(handle.id.clone()).unwrap();
    let every_second = PollConfig::every(Duration::from_secs(1), Duration::from_secs(60));
    let wait = s.client.wait(&handle, &every_second);
    let approve = async {
        while s.request(&req).await.unwrap().polls < 3 {
            yield_once().await;
        }
        s.approve(&req).await.unwrap();
    };
    let (outcome, ()) = tokio::join!(wait, approve);
    assert!(outcome.unwrap().is_approved());
    let slow_downs = s
        .requests()
        .await
        .iter()
        .filter(|r| r.interval != 7)
        .count();
    assert_eq!(slow_downs, 0, "the OP never had to say slow_down");
}

async fn default_interval_is_five_seconds_when_the_op_sends_none(wire: Wire) {
    let s = setup(wire).await;
    s.set_interval(None).await;
    let started = s
        .client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap();
    assert_eq!(started.interval, Duration::from_secs(5));
}

async fn exactly_one_hint_and_other_checks_happen_before_sending(wire: Wire) {
    let s = setup(wire).await;
    let refused = [
        AuthenticationRequest::login_hint(s.alice.as_str()).param("id_token_hint", "x"),
        AuthenticationRequest::login_hint(s.alice.as_str()).param("login_hint_token", "x"),
        AuthenticationRequest::login_hint(""),
        AuthenticationRequest::login_hint(s.alice.as_str()).binding_message("line\nbreak"),
        AuthenticationRequest::login_hint(s.alice.as_str()).requested_expiry(Duration::ZERO),
    ];
    for r in refused {
        let err = s.client.authenticate(r).await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    }
    assert!(s.calls("/backchannel").await.is_empty());
}

async fn unknown_user_is_a_typed_error(wire: Wire) {
    let s = setup(wire).await;
    let err = s
        .client
        .authenticate(AuthenticationRequest::login_hint("mallory"))
        .await
        .unwrap_err();
    assert!(err.is_unknown_user(), "{err}");
}

async fn wrong_client_secret_is_invalid_client_and_never_leaks(wire: Wire) {
    let s = setup(wire).await;
    let client = client_for(
        &s,
        s.client_id.as_str(),
        ClientAuth::secret_basic("wrong-secret-123"),
    )
    .build()
    .unwrap();
    let err = client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap_err();
    assert!(err.is_invalid_client(), "{err}");
    let shown = format!("{err} {err:?} {client:?}");
    assert!(!shown.contains("wrong-secret-123"), "{shown}");
}

async fn binding_message_acr_values_and_user_code_are_passed_through(wire: Wire) {
    let s = setup(wire).await;
    let carol = s.add_user_with_code("carol", "2468").await;
    let started = s
        .client
        .authenticate(
            AuthenticationRequest::login_hint(carol.as_str())
                .binding_message("Pay 120 EUR to ACME? 7B")
                .acr_values(["urn:emulator:acr:phone"])
                .user_code(UserCode::new("2468")),
        )
        .await
        .unwrap();
    let seen = s.request(&started.auth_req_id).await.unwrap();
    assert_eq!(
        seen.binding_message.as_deref(),
        Some("Pay 120 EUR to ACME? 7B")
    );
    assert_eq!(seen.acr_values.as_deref(), Some("urn:emulator:acr:phone"));
    assert!(seen.user_code_checked);
    let wrong = s
        .client
        .authenticate(
            AuthenticationRequest::login_hint(carol.as_str()).user_code(UserCode::new("1111")),
        )
        .await
        .unwrap_err();
    assert_eq!(wrong.error_code(), Some(&ErrorCode::InvalidUserCode));
    assert!(!format!("{wrong:?}").contains("1111"));
    let missing = s
        .client
        .authenticate(AuthenticationRequest::login_hint(carol.as_str()))
        .await
        .unwrap_err();
    assert_eq!(missing.error_code(), Some(&ErrorCode::MissingUserCode));
    let long = s
        .client
        .authenticate(
            AuthenticationRequest::login_hint(s.alice.as_str()).binding_message("x".repeat(101)),
        )
        .await
        .unwrap_err();
    assert_eq!(long.error_code(), Some(&ErrorCode::InvalidBindingMessage));
}

async fn user_code_is_refused_when_the_op_does_not_support_it(wire: Wire) {
    let s = setup(wire).await;
    s.set_metadata(
        "backchannel_user_code_parameter_supported",
        serde_json::json!(false),
    )
    .await;
    let err = s
        .client
        .authenticate(
            AuthenticationRequest::login_hint(s.alice.as_str()).user_code(UserCode::new("2468")),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput {
                field: "user_code",
                ..
            }
        ),
        "{err}"
    );
    assert!(s.calls("/backchannel").await.is_empty());
}

async fn signed_authentication_requests_carry_every_parameter_in_the_jwt(wire: Wire) {
    let s = setup(wire).await;
    for alg in [Algorithm::RS256, Algorithm::PS256, Algorithm::ES256] {
        let key = SigningKey::generate(alg).unwrap();
        let name = format!("signed-{alg}");
        s.register_client(EmulatedClient::private_key_jwt(&name, &key).require_signed_requests())
            .await;
        let recorder = Recorder::new(&s);
        let client = client_for(&s, &name, ClientAuth::private_key_jwt(key))
            .signed_requests()
            .http_client(recorder.clone())
            .build()
            .unwrap();
        let started = client
            .authenticate(
                AuthenticationRequest::login_hint(s.alice.as_str())
                    .binding_message("Sign in? 42")
                    .requested_expiry(Duration::from_secs(60)),
            )
            .await
            .unwrap();
        let seen = s.request(&started.auth_req_id).await.unwrap();
        assert!(seen.signed);
        assert_eq!(seen.binding_message.as_deref(), Some("Sign in? 42"));
        assert_eq!(seen.requested_expiry, Some(60));
        let sent = recorder.last_to("/backchannel");
        let outside: Vec<&String> = sent
            .iter()
            .map(|(k, _)| k)
            .filter(|k| !k.starts_with("client_") && *k != "request")
            .collect();
        assert!(outside.is_empty(), "{outside:?}");
    }
    // An unsigned request from such a client is refused by the OP.
    let key = SigningKey::generate(Algorithm::PS256).unwrap();
    s.register_client(EmulatedClient::private_key_jwt("must-sign", &key).require_signed_requests())
        .await;
    let unsigned = client_for(&s, "must-sign", ClientAuth::private_key_jwt(key))
        .build()
        .unwrap();
    let err = unsigned
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), Some(&ErrorCode::InvalidRequest));
}

async fn fapi_ciba_profile_refuses_what_it_forbids_and_runs_with_ps256(wire: Wire) {
    let s = setup(wire).await;
    let refused = [
        (
            client_for(&s, "f", ClientAuth::secret_basic("s")).fapi_ciba(),
            "client_secret_basic",
        ),
        (
            client_for(&s, "f", ClientAuth::secret_post("s")).fapi_ciba(),
            "client_secret_post",
        ),
        (
            client_for(
                &s,
                "f",
                ClientAuth::private_key_jwt(SigningKey::generate(Algorithm::RS256).unwrap()),
            )
            .fapi_ciba(),
            "RS256",
        ),
        (
            client_for(
                &s,
                "f",
                ClientAuth::private_key_jwt(SigningKey::generate(Algorithm::PS256).unwrap()),
            )
            .fapi_ciba()
            .unsigned_requests(),
            "unsigned",
        ),
        (
            client_for(
                &s,
                "f",
                ClientAuth::private_key_jwt(SigningKey::generate(Algorithm::ES256).unwrap()),
            )
            .fapi_ciba()
            .id_token_algorithms(&[Algorithm::RS256, Algorithm::PS256]),
            "ID token",
        ),
        (
            client_for(
                &s,
                "f",
                ClientAuth::private_key_jwt(SigningKey::generate(Algorithm::ES256).unwrap()),
            )
            .fapi_ciba()
            .delivery_mode(DeliveryMode::Push),
            "push",
        ),
    ];
    for (builder, what) in refused {
        match builder.build() {
            Err(Error::Profile(m)) => assert!(m.contains(what), "{m} vs {what}"),
            other => panic!("{what}: {other:?}"),
        }
    }
    let key = SigningKey::generate(Algorithm::PS256).unwrap();
    let key_copy = key.clone();
    s.register_client(
        EmulatedClient::private_key_jwt("fapi", &key)
            .id_token_alg(Algorithm::PS256)
            .require_signed_requests(),
    )
    .await;
    let client = client_for(&s, "fapi", ClientAuth::private_key_jwt(key))
        .fapi_ciba()
        .build()
        .unwrap();
    let started = client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()).binding_message("FAPI 1"))
        .await
        .unwrap();
    assert!(s.request(&started.auth_req_id).await.unwrap().signed);
    s.approve(&started.auth_req_id).await.unwrap();
    assert!(client.poll(&started).await.unwrap().is_approved());
    // An OP that signs ID tokens with RS256 is refused under the profile.
    s.register_client(
        EmulatedClient::private_key_jwt("fapi", &key_copy)
            .id_token_alg(Algorithm::RS256)
            .require_signed_requests(),
    )
    .await;
    let started = client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap();
    s.approve(&started.auth_req_id).await.unwrap();
    assert!(matches!(
        client.poll(&started).await,
        Err(Error::IdToken(IdTokenError::AlgorithmNotAllowed(a))) if a == "RS256"
    ));
}

/// A loopback notification endpoint running `handle` for each POST; collects the results.
async fn notification_endpoint<F, Fut, T>(handle: F) -> (String, Arc<Mutex<Vec<T>>>)
where
    F: Fn(Option<Vec<u8>>, Vec<u8>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = (u16, Option<T>)> + Send,
    T: Send + 'static,
{
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let app = axum::Router::new().route(
        "/cb",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let handle = handle.clone();
            let seen = seen2.clone();
            async move {
                let auth = headers.get("authorization").map(|v| v.as_bytes().to_vec());
                let (status, result) = handle(auth, body.to_vec()).await;
                if let Some(r) = result {
                    seen.lock().unwrap().push(r);
                }
                StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cb", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

async fn ping_setup(wire: Wire) -> (Setup, Client, String, Arc<Mutex<Vec<TokenPoll>>>) {
    let s = setup(wire).await;
    let slot: Arc<Mutex<Option<Client>>> = Arc::new(Mutex::new(None));
    let slot2 = slot.clone();
    let (url, seen) = notification_endpoint(move |auth, body| {
        let client = slot2.lock().unwrap().clone().unwrap();
        async move {
            match client.handle_ping(auth.as_deref(), &body).await {
                Ok((_, poll)) => (204, Some(poll)),
                Err(Error::Notification(e)) => (e.http_status(), None),
                Err(_) => (500, None),
            }
        }
    })
    .await;
    s.register_client(
        EmulatedClient::secret_basic("ping-client", "ping-secret").notify(DeliveryMode::Ping, &url),
    )
    .await;
    let client = client_for(&s, "ping-client", ClientAuth::secret_basic("ping-secret"))
        .delivery_mode(DeliveryMode::Ping)
        .build()
        .unwrap();
    *slot.lock().unwrap() = Some(client.clone());
    (s, client, url, seen)
}

async fn ping_mode_verifies_the_bearer_then_fetches_the_token_once(wire: Wire) {
    let (s, client, _url, seen) = ping_setup(wire).await;
    let started = client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap();
    let token = started.client_notification_token.clone().unwrap();
    assert_eq!(token.expose_secret().len(), 43, "256 random bits");
    s.approve(&started.auth_req_id).await.unwrap();
    assert_eq!(s.deliver_notifications().await, [204]);
    let results = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(results.len(), 1);
    match &results[0] {
        TokenPoll::Done(Outcome::Approved(t)) => assert_eq!(t.claims.sub, s.alice.as_str()),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s.calls("/token").await.len(),
        1,
        "exactly one token request"
    );
    // A ping client may also deny, and the ping carries that too.
    let started = client
        .authenticate(AuthenticationRequest::login_hint(s.bob.as_str()))
        .await
        .unwrap();
    s.deny(&started.auth_req_id).await.unwrap();
    assert_eq!(s.deliver_notifications().await, [204]);
    assert!(matches!(
        seen.lock().unwrap()[0],
        TokenPoll::Done(Outcome::Denied { .. })
    ));
}

async fn ping_with_a_wrong_bearer_token_fetches_nothing(wire: Wire) {
    let (s, client, url, seen) = ping_setup(wire).await;
    let started = client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap();
    let body = format!(r#"{{"auth_req_id":"{}"}}"#, started.auth_req_id);
    assert_eq!(
        post_notification(&url, Some("Bearer guessed-token"), &body).await,
        401
    );
    assert_eq!(post_notification(&url, None, &body).await, 401);
    let real = format!(
        "Bearer {}",
        started
            .client_notification_token
            .as_ref()
            .unwrap()
            .expose_secret()
    );
    assert_eq!(
        post_notification(&url, Some(&real), r#"{"auth_req_id":"someone-elses"}"#).await,
        404
    );
    assert_eq!(post_notification(&url, Some(&real), "not json").await, 400);
    assert!(s.calls("/token").await.is_empty());
    assert!(seen.lock().unwrap().is_empty());
    // The ping types on their own.
    let ping =
        ciba::PingNotification::parse(Some(b"Bearer guessed-token"), body.as_bytes()).unwrap();
    assert_eq!(
        ping.verify(started.client_notification_token.as_ref().unwrap())
            .unwrap_err(),
        NotificationError::WrongToken
    );
}

async fn push_setup(wire: Wire) -> (Setup, Client, Arc<Mutex<Vec<Result<Outcome, String>>>>) {
    let s = setup(wire).await;
    let slot: Arc<Mutex<Option<Client>>> = Arc::new(Mutex::new(None));
    let slot2 = slot.clone();
    let (url, seen) = notification_endpoint(move |auth, body| {
        let client = slot2.lock().unwrap().clone().unwrap();
        async move {
            match client.handle_push(auth.as_deref(), &body).await {
                Ok((_, outcome)) => (204, Some(Ok(outcome))),
                Err(Error::Notification(e)) => (e.http_status(), None),
                Err(e) => (400, Some(Err(e.to_string()))),
            }
        }
    })
    .await;
    s.register_client(
        EmulatedClient::secret_basic("push-client", "push-secret")
            .notify(DeliveryMode::Push, &url)
            .id_token_alg(Algorithm::ES256),
    )
    .await;
    let client = client_for(&s, "push-client", ClientAuth::secret_basic("push-secret"))
        .delivery_mode(DeliveryMode::Push)
        .build()
        .unwrap();
    *slot.lock().unwrap() = Some(client.clone());
    (s, client, seen)
}

async fn push_mode_validates_at_hash_rt_hash_and_auth_req_id(wire: Wire) {
    let (s, client, seen) = push_setup(wire).await;
    let started = client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap();
    s.approve(&started.auth_req_id).await.unwrap();
    assert_eq!(s.deliver_notifications().await, [204]);
    let outcome = seen.lock().unwrap().pop().unwrap().unwrap();
    let tokens = approved(outcome);
    assert_eq!(
        tokens.claims.auth_req_id.as_deref(),
        Some(started.auth_req_id.as_str())
    );
    assert!(tokens.claims.at_hash.is_some() && tokens.claims.rt_hash.is_some());
    assert!(s.calls("/token").await.is_empty(), "push mode never polls");
    // StepUp in push mode: check looks at what the notification endpoint received.
    let stepup = client
        .start(StepUpRequest::new(s.bob.as_str(), "t", "Push?"))
        .await
        .unwrap()
        .into_handle();
    let bob = ciba::AuthReqId::new(stepup.id.clone()).unwrap();
    assert!(matches!(
        client.check(&stepup).await.unwrap(),
        PollStatus::Pending { .. }
    ));
    s.approve(&bob).await.unwrap();
    s.deliver_notifications().await;
    match client.check(&stepup).await.unwrap() {
        PollStatus::Ready(StepUpOutcome::Approved { evidence }) => {
            assert_eq!(evidence.details["sub"], s.bob.as_str())
        }
        other => panic!("{other:?}"),
    }
}

async fn push_with_a_forged_token_hash_or_request_id_is_rejected(wire: Wire) {
    let (s, client, seen) = push_setup(wire).await;
    for (fault, expect) in [
        (Fault::WrongAtHash, "at_hash"),
        (Fault::MissingAtHash, "at_hash"),
        (Fault::WrongRtHash, "rt_hash"),
        (Fault::MissingRtHash, "rt_hash"),
        (Fault::WrongAuthReqId, "auth_req_id"),
        (Fault::MissingAuthReqId, "auth_req_id"),
    ] {
        let started = client
            .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
            .await
            .unwrap();
        s.inject(fault.clone()).await;
        s.approve(&started.auth_req_id).await.unwrap();
        assert_eq!(s.deliver_notifications().await, [400], "{fault:?}");
        let err = seen.lock().unwrap().pop().unwrap().unwrap_err();
        assert!(err.contains(expect), "{fault:?}: {err}");
    }
}

async fn push_error_payloads_become_outcomes(wire: Wire) {
    let (s, client, seen) = push_setup(wire).await;
    let a = client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap();
    let b = client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap();
    let c = client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap();
    s.deny(&a.auth_req_id).await.unwrap();
    s.fail(&b.auth_req_id).await.unwrap();
    s.expire(&c.auth_req_id).await.unwrap();
    assert_eq!(s.deliver_notifications().await, [204, 204, 204]);
    let got: Vec<Outcome> = seen.lock().unwrap().drain(..).map(Result::unwrap).collect();
    assert!(matches!(got[0], Outcome::Denied { .. }), "{got:?}");
    assert!(
        matches!(&got[1], Outcome::Failed { description: Some(d) } if d.contains("device failed")),
        "{got:?}"
    );
    assert!(matches!(got[2], Outcome::Expired), "{got:?}");
}

async fn push_clients_are_told_once_when_time_runs_out(wire: Wire) {
    let (s, client, seen) = push_setup(wire).await;
    let waiting = client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap();
    let answered = client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap();
    s.deny(&answered.auth_req_id).await.unwrap();
    assert_eq!(s.deliver_notifications().await, [204]);
    assert!(matches!(
        seen.lock().unwrap().pop().unwrap().unwrap(),
        Outcome::Denied { .. }
    ));
    // Nobody expires it: time runs out, and the next look finds the push client's payload,
    // which the client takes although the request has just ended on its clock too.
    assert_eq!(s.deliver_notifications().await, Vec::<u16>::new());
    s.advance(waiting.expires_in + Duration::from_secs(1)).await;
    assert_eq!(s.deliver_notifications().await, [204]);
    let got: Vec<Outcome> = seen.lock().unwrap().drain(..).map(Result::unwrap).collect();
    assert!(matches!(got[..], [Outcome::Expired]), "{got:?}");
    // Told once; the denied request, answered already, is not told of its expiry.
    assert_eq!(s.deliver_notifications().await, Vec::<u16>::new());

    // The client takes a notification until LATE_NOTIFICATION_GRACE after the request's end,
    // no longer: one that comes later is for a request it has let go of.
    let late = client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap();
    let grace = ciba::limits::LATE_NOTIFICATION_GRACE;
    s.advance(late.expires_in + grace + Duration::from_secs(1))
        .await;
    assert_eq!(s.deliver_notifications().await, [404]);
    assert!(seen.lock().unwrap().is_empty());
}

async fn id_token_faults_are_each_rejected(wire: Wire) {
    let s = setup(wire).await;
    type Check = fn(&IdTokenError) -> bool;
    let cases: Vec<(Fault, Check)> = vec![
        (Fault::WrongIssuer, |e| {
            matches!(e, IdTokenError::Issuer { .. })
        }),
        (Fault::WrongAudience, |e| {
            matches!(e, IdTokenError::Audience { .. })
        }),
        (Fault::ExtraAudienceWithoutAzp, |e| {
            matches!(e, IdTokenError::AuthorizedParty { .. })
        }),
        (Fault::WrongAzp, |e| {
            matches!(e, IdTokenError::AuthorizedParty { .. })
        }),
        (Fault::ExpiredIdToken, |e| {
            matches!(e, IdTokenError::Expired { .. })
        }),
        (Fault::FutureIdToken, |e| {
            matches!(e, IdTokenError::NotYetValid { .. })
        }),
        (Fault::BadSignature, |e| {
            matches!(e, IdTokenError::BadSignature)
        }),
        (Fault::UnknownKid, |e| {
            matches!(e, IdTokenError::UnknownKey { .. })
        }),
        (Fault::AlgNone, |e| {
            matches!(e, IdTokenError::AlgorithmNotAllowed(_))
        }),
        (Fault::Hs256, |e| {
            matches!(e, IdTokenError::AlgorithmNotAllowed(_))
        }),
        (Fault::WrongAtHash, |e| {
            matches!(e, IdTokenError::AccessTokenHash)
        }),
        (Fault::WrongRtHash, |e| {
            matches!(e, IdTokenError::RefreshTokenHash)
        }),
        (Fault::WrongAuthReqId, |e| {
            matches!(e, IdTokenError::AuthReqId { .. })
        }),
    ];
    for (fault, check) in cases {
        let started = s
            .client
            .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
            .await
            .unwrap();
        s.inject(fault.clone()).await;
        s.approve(&started.auth_req_id).await.unwrap();
        match s.client.poll(&started).await {
            Err(Error::IdToken(e)) => assert!(check(&e), "{fault:?}: {e:?}"),
            other => panic!("{fault:?}: {other:?}"),
        }
    }
    let started = s
        .client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap();
    s.inject(Fault::NoIdToken).await;
    s.approve(&started.auth_req_id).await.unwrap();
    assert!(matches!(
        s.client.poll(&started).await,
        Err(Error::Protocol { .. })
    ));
}

async fn null_optional_fields_in_the_token_response_are_tolerated(wire: Wire) {
    let s = setup(wire).await;
    let started = s
        .client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap();
    s.register_client(
        EmulatedClient::secret_basic(s.client_id.as_str(), s.client_secret.as_str())
            .without_refresh_tokens(),
    )
    .await;
    s.inject(Fault::NullOptionalFields).await;
    s.approve(&started.auth_req_id).await.unwrap();
    let tokens = approved(s.client.poll(&started).await.unwrap());
    assert!(
        tokens.refresh_token.is_none() && tokens.scope.is_none() && tokens.expires_in.is_none()
    );
}

async fn jwks_rotation_is_picked_up_with_one_refetch(wire: Wire) {
    let s = setup(wire).await;
    let alice = s.alice.clone();
    let login = move |c: Client| {
        let alice = alice.clone();
        async move {
            c.authenticate(AuthenticationRequest::login_hint(alice))
                .await
                .unwrap()
        }
    };
    let started = login(s.client.clone()).await;
    s.approve(&started.auth_req_id).await.unwrap();
    s.client.poll(&started).await.unwrap();
    assert_eq!(s.jwks_fetches().await, 1);
    let kids = s.rotate_keys().await;
    // Several logins finishing at once with the new key: one JWKS fetch between them.
    let mut started_all = Vec::new();
    for _ in 0..4 {
        let st = login(s.client.clone()).await;
        s.approve(&st.auth_req_id).await.unwrap();
        started_all.push(st);
    }
    let polls = started_all.iter().map(|st| {
        let c = s.client.clone();
        let st = st.clone();
        async move { c.poll(&st).await }
    });
    for outcome in futures_join_all(polls).await {
        assert!(outcome.unwrap().is_approved());
    }
    assert_eq!(s.jwks_fetches().await, 2, "new kids {kids:?}");
}

async fn futures_join_all<F>(futs: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

async fn unknown_kids_cannot_make_the_client_hammer_the_jwks(wire: Wire) {
    let s = setup(wire).await;
    for _ in 0..8 {
        let started = s
            .client
            .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
            .await
            .unwrap();
        s.inject(Fault::UnknownKid).await;
        s.approve(&started.auth_req_id).await.unwrap();
        assert!(matches!(
            s.client.poll(&started).await,
            Err(Error::IdToken(IdTokenError::UnknownKey { .. }))
        ));
    }
    // 1 initial fetch + at most 5 refetches for unknown kids per minute.
    assert_eq!(
        s.jwks_fetches().await,
        1 + ciba::limits::MAX_UNKNOWN_KID_FETCHES
    );
}

async fn unavailable_op_is_asked_again_at_the_next_interval_honouring_retry_after(wire: Wire) {
    let s = setup(wire).await;
    let started = s
        .client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap();
    s.inject(Fault::Unavailable(12)).await;
    s.approve(&started.auth_req_id).await.unwrap();
    assert!(s.client.poll(&started).await.unwrap().is_approved());
    let times = s.times("/token").await;
    assert_eq!(times, [5, 17], "503 at +5, Retry-After 12 s");
}

async fn the_backchannel_request_is_sent_once_even_on_503(wire: Wire) {
    let s = setup(wire).await;
    s.inject(Fault::Unavailable(1)).await;
    let err = s
        .client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), Some(&ErrorCode::TemporarilyUnavailable));
    assert!(err.is_unprocessed());
    assert_eq!(s.calls("/backchannel").await.len(), 1);
    s.control(Control::InjectFault {
        fault: auth_core::emulator::Fault::status(502).on_path("/backchannel"),
    })
    .await
    .unwrap();
    assert!(
        s.client
            .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
            .await
            .is_err()
    );
    assert_eq!(s.calls("/backchannel").await.len(), 2);
}

async fn a_token_request_for_another_clients_request_is_invalid_grant(wire: Wire) {
    let s = setup(wire).await;
    let started = s
        .client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap();
    s.register_client(EmulatedClient::secret_basic("other", "other-secret"))
        .await;
    let other = client_for(&s, "other", ClientAuth::secret_basic("other-secret"))
        .build()
        .unwrap();
    let err = other.token_request(&started.auth_req_id).await.unwrap_err();
    assert_eq!(err.error_code(), Some(&ErrorCode::InvalidGrant));
}

async fn id_token_hint_from_an_earlier_login_finds_the_user(wire: Wire) {
    let s = setup(wire).await;
    let first = s
        .client
        .authenticate(AuthenticationRequest::login_hint(s.bob.as_str()))
        .await
        .unwrap();
    s.approve(&first.auth_req_id).await.unwrap();
    let tokens = approved(s.client.poll(&first).await.unwrap());
    let again = s
        .client
        .authenticate(AuthenticationRequest::new(UserHint::IdTokenHint(
            tokens.id_token.clone(),
        )))
        .await
        .unwrap();
    assert_eq!(
        s.request(&again.auth_req_id).await.unwrap().user,
        s.bob.as_str()
    );
    let forged = AuthenticationRequest::new(UserHint::IdTokenHint(IdTokenJwt::new(
        "eyJhbGciOiJub25lIn0.e30.",
    )));
    assert!(
        s.client
            .authenticate(forged)
            .await
            .unwrap_err()
            .is_unknown_user()
    );
    let lht = s.name("lht-123");
    s.add_login_hint_token(&lht, s.alice.as_str()).await;
    let by_token = s
        .client
        .authenticate(AuthenticationRequest::new(UserHint::LoginHintToken(
            ciba::LoginHintToken::new(lht.as_str()),
        )))
        .await
        .unwrap();
    assert_eq!(
        s.request(&by_token.auth_req_id).await.unwrap().user,
        s.alice.as_str()
    );
}

async fn stepup_approval_carries_the_id_token_claims_as_evidence(wire: Wire) {
    let s = setup(wire).await;
    let handle = s
        .client
        .start(
            StepUpRequest::new(s.alice.as_str(), "Confirm", "Pay 120 EUR?")
                .with_ttl(Duration::from_secs(60)),
        )
        .await
        .unwrap()
        .into_handle();
    assert_eq!(handle.provider, ciba::PROVIDER);
    let seen = s.requests().await.pop().unwrap();
    assert_eq!(seen.binding_message.as_deref(), Some("Pay 120 EUR?"));
    assert_eq!(seen.requested_expiry, Some(60));
    // Sixty seconds from the shared clock's now (the scenario's start: exactly on the
    // crate's emulator; within a second of it against the server, whose time runs).
    let ahead = handle
        .expires_at
        .unwrap()
        .duration_since(s.t0() + Duration::from_secs(60))
        .unwrap();
    assert!(ahead < Duration::from_secs(1), "{ahead:?}");
    if !s.is_remote() {
        assert_eq!(ahead, Duration::ZERO);
    }
    // The handle survives a round trip through the application's session.
    let handle: auth_core::StepUpHandle =
        serde_json::from_str(&serde_json::to_string(&handle).unwrap()).unwrap();
    s.approve(&ciba::AuthReqId::new(handle.id.clone()).unwrap())
        .await
        .unwrap();
    let outcome = s
        .client
        .wait(&handle, &PollConfig::default())
        .await
        .unwrap();
    let StepUpOutcome::Approved { evidence } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(evidence.provider, "ciba");
    assert_eq!(evidence.details["sub"], s.alice.as_str());
    assert_eq!(evidence.details["acr"], "urn:emulator:acr:phone");
    let shown = serde_json::to_string(&evidence).unwrap();
    assert!(!shown.contains("eyJ"), "no tokens in evidence: {shown}");
}

async fn stepup_denied_and_expired(wire: Wire) {
    let s = setup(wire).await;
    let denied = s
        .client
        .start(StepUpRequest::new(s.alice.as_str(), "t", "Sign in?"))
        .await
        .unwrap()
        .into_handle();
    s.deny(&ciba::AuthReqId::new(denied.id.clone()).unwrap())
        .await
        .unwrap();
    let out = s
        .client
        .wait(&denied, &PollConfig::default())
        .await
        .unwrap();
    assert!(
        matches!(out, StepUpOutcome::Denied { fraud: false, .. }),
        "{out:?}"
    );
    let expired = s
        .client
        .start(StepUpRequest::new(s.bob.as_str(), "t", "Sign in?").with_ttl(Duration::from_secs(8)))
        .await
        .unwrap()
        .into_handle();
    let before = s.calls("/token").await.len();
    let out = s
        .client
        .wait(&expired, &PollConfig::default())
        .await
        .unwrap();
    assert_eq!(out, StepUpOutcome::Expired);
    assert_eq!(
        s.calls("/token").await.len() - before,
        1,
        "one poll at +5, none after +8"
    );
    let foreign = auth_core::StepUpHandle::new("launchkey", expired.id.clone(), s.bob.as_str());
    let err = s.client.check(&foreign).await.unwrap_err();
    assert!(
        matches!(err, Error::Core(auth_core::Error::ForeignHandle { .. })),
        "{err}"
    );
    assert_eq!(
        StepUp::capabilities(&s.client),
        auth_core::stepup::Capabilities::new()
            .pollable()
            .portable_handle()
    );
}

async fn secrets_never_appear_in_debug_or_errors(wire: Wire) {
    let s = setup(wire).await;
    let carol = s.add_user_with_code("carol", "97531").await;
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let started = s
        .client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap();
    s.approve(&started.auth_req_id).await.unwrap();
    let tokens = approved(s.client.poll(&started).await.unwrap());
    let err = s
        .client
        .authenticate(
            AuthenticationRequest::login_hint(carol.as_str()).user_code(UserCode::new("13579")),
        )
        .await
        .unwrap_err();
    let shown = format!(
        "{tokens:?} {:?} {:?} {key:?} {started:?} {err} {err:?} {:?}",
        s.client,
        ClientAuth::secret_post(s.client_secret.as_str()),
        s.log().await
    );
    for secret in [
        tokens.access_token.expose_secret(),
        tokens.refresh_token.as_ref().unwrap().expose_secret(),
        tokens.id_token.expose_secret(),
        s.client_secret.as_str(),
        "13579",
    ] {
        assert!(!shown.contains(secret), "leaked {secret}");
    }
}

async fn a_never_answering_op_times_out(wire: Wire) {
    let s = setup(wire).await;
    let client = s
        .default_builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    client.discover().await.unwrap();
    s.inject(Fault::Delay(Duration::from_secs(5))).await;
    let err = client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::Core(e) if e.is_timeout()), "{err}");
    assert!(!err.is_unprocessed(), "a timeout may have reached the OP");
}

async fn emulator_requests_show_state_changes(wire: Wire) {
    let s = setup(wire).await;
    let started = s
        .client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap();
    assert_eq!(
        s.request(&started.auth_req_id).await.unwrap().state,
        RequestState::Pending
    );
    s.approve(&started.auth_req_id).await.unwrap();
    assert!(s.approve(&started.auth_req_id).await.is_err());
    s.client.poll(&started).await.unwrap();
    assert_eq!(
        s.request(&started.auth_req_id).await.unwrap().state,
        RequestState::Done
    );
}

async fn another_instance_can_resume_polling_a_stored_request(wire: Wire) {
    let s = setup(wire).await;
    let started = s
        .client
        .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
        .await
        .unwrap();
    // What an application stores with the user's session…
    let (id, expires_in, expires_at, interval) = (
        started.auth_req_id.as_str().to_owned(),
        started.expires_in,
        started.expires_at,
        started.interval,
    );
    // …and another instance picks up.
    let other = s.default_builder().build().unwrap();
    let resumed = ciba::AuthRequest::resume(ciba::AuthReqId::new(id).unwrap(), expires_at)
        .with_issued_at(expires_at - expires_in)
        .with_interval(interval)
        .with_delivery_mode(DeliveryMode::Poll);
    assert_eq!(resumed.expires_in, started.expires_in);
    s.approve(&started.auth_req_id).await.unwrap();
    assert!(other.poll(&resumed).await.unwrap().is_approved());
}

async fn the_shared_control_vocabulary_drives_the_emulator(wire: Wire) {
    let s = setup(wire).await;
    let json = |v: serde_json::Value| serde_json::from_value::<Control>(v).unwrap();
    let dave = s.name("dave");
    s.control(json(
        serde_json::json!({"command": "add_user", "user": dave, "details": {"user_code": "1357"}}),
    ))
    .await
    .unwrap();
    s.track(&dave);
    let started = s
        .client
        .authenticate(
            AuthenticationRequest::login_hint(dave.as_str())
                .user_code(UserCode::new("1357"))
                .binding_message("Transfer 50 EUR?"),
        )
        .await
        .unwrap();
    let pending = s.pending().await;
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].user.as_str(), pending[0].message.as_str()),
        (dave.as_str(), "Transfer 50 EUR?")
    );
    let listed = s.control(Control::ListPending).await.unwrap();
    let of_dave: Vec<&serde_json::Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["user"] == dave.as_str())
        .collect();
    assert_eq!(of_dave.len(), 1, "{listed}");
    assert_eq!(of_dave[0]["id"], started.auth_req_id.as_str());
    // A 503 for the next token request, by path, with Retry-After.
    s.control(json(serde_json::json!({"command": "inject_fault", "fault": {"status": 503, "retry_after": 9, "path_contains": "/token"}})))
        .await
        .unwrap();
    s.control(json(
        serde_json::json!({"command": "approve", "id": started.auth_req_id.as_str()}),
    ))
    .await
    .unwrap();
    assert!(matches!(
        s.control(json(
            serde_json::json!({"command": "approve", "id": started.auth_req_id.as_str()})
        ))
        .await,
        Err(ControlError::Conflict(_))
    ));
    assert!(matches!(
        s.control(json(
            serde_json::json!({"command": "deny", "id": "no-such-request"})
        ))
        .await,
        Err(ControlError::NotFound { .. })
    ));
    assert!(s.client.poll(&started).await.unwrap().is_approved());
    let statuses: Vec<u16> = s.calls("/token").await.iter().map(|c| c.status).collect();
    assert_eq!(statuses, [503, 200]);
    assert_eq!(s.times("/token").await, [5, 14], "Retry-After 9 s");
    assert_eq!(
        s.request(&started.auth_req_id).await.unwrap().polls,
        1,
        "the injected 503 was answered before the token endpoint"
    );
    let log = s
        .control(Control::ReadLog { limit: Some(2) })
        .await
        .unwrap();
    assert_eq!(log.as_array().unwrap().len(), 2);
    assert!(
        !log.to_string().contains("1357"),
        "no parameters in the log"
    );
    // Provider commands: a CIBA fault by name; the clock.
    s.control(json(
        serde_json::json!({"command": "provider", "body": {"fault": "wrong_issuer"}}),
    ))
    .await
    .unwrap();
    let again = s
        .client
        .authenticate(
            AuthenticationRequest::login_hint(dave.as_str()).user_code(UserCode::new("1357")),
        )
        .await
        .unwrap();
    s.approve(&again.auth_req_id).await.unwrap();
    assert!(matches!(
        s.client.poll(&again).await,
        Err(Error::IdToken(IdTokenError::Issuer { .. }))
    ));
    if s.is_remote() {
        // The server's one clock: advance_clock moves it (answering Unix seconds).
        let moved = s
            .control(Control::AdvanceClock { seconds: 3600 })
            .await
            .unwrap();
        assert!(moved["now"].is_f64(), "{moved}");
    } else {
        // On a clock of the test's own, the test moves time: advance_clock is refused.
        assert!(matches!(
            s.control(Control::AdvanceClock { seconds: 3600 }).await,
            Err(ControlError::Conflict(_))
        ));
    }
    assert!(matches!(
        s.control(Control::SetRules {
            rules: serde_json::Value::Null
        })
        .await,
        Err(ControlError::Unsupported { .. })
    ));
}

async fn advance_clock_moves_the_default_clock(wire: Wire) {
    if wire == Wire::Binary {
        // The server's one clock: real time plus what advance_clock adds.
        let s = setup(wire).await;
        let started = s
            .client
            .authenticate(AuthenticationRequest::login_hint(s.alice.as_str()))
            .await
            .unwrap();
        assert_eq!(s.pending().await.len(), 1);
        let moved = s
            .control(Control::AdvanceClock { seconds: 3600 })
            .await
            .unwrap();
        assert!(moved["now"].is_f64(), "{moved}");
        assert!(
            s.pending().await.is_empty(),
            "expired on the server's clock"
        );
        assert!(matches!(
            s.control(Control::Approve {
                id: started.auth_req_id.as_str().to_owned()
            })
            .await,
            Err(ControlError::Conflict(_))
        ));
        // The client shows the server's time: it sees the request expired without asking.
        s.resync().await;
        assert!(matches!(
            s.client.poll(&started).await.unwrap(),
            Outcome::Expired
        ));
        return;
    }
    // The default clock: real time plus what advance_clock adds.
    let emulator = Emulator::builder().user("alice").start().await.unwrap();
    let mut builder = emulator.client_builder().unwrap();
    if wire == Wire::InProcess {
        builder = builder.http_client(emulator.in_process());
    }
    let client = builder.build().unwrap();
    let started = client
        .authenticate(AuthenticationRequest::login_hint("alice"))
        .await
        .unwrap();
    assert_eq!(emulator.pending().len(), 1);
    let moved = emulator
        .control(Control::AdvanceClock { seconds: 3600 })
        .unwrap();
    assert!(moved["now"].is_f64(), "{moved}");
    assert!(
        emulator.pending().is_empty(),
        "expired on the emulator's clock"
    );
    assert!(matches!(
        emulator.control(Control::Approve {
            id: started.auth_req_id.as_str().to_owned()
        }),
        Err(ControlError::Conflict(_))
    ));
    // The client shares the emulator's clock: it sees the request expired without asking.
    assert!(matches!(
        client.poll(&started).await.unwrap(),
        Outcome::Expired
    ));
}
