//! The transport against real sockets: retries only when safe, timeouts, limits, redirects.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use auth_core::clock::FakeClock;
use auth_core::{
    BaseUrl, Config, ConfigError, Error, HttpConfig, HttpRequest, HttpResponse, Replay,
    RetryPolicy, Transport, TransportError, TransportErrorKind,
};
use http::Method;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn transport(uri: &str, clock: &FakeClock) -> Transport {
    Transport::builder(BaseUrl::parse(uri).unwrap())
        .clock(Arc::new(clock.clone()))
        .retry(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(20),
        })
        .user_agent("auth-core-test", "9.9.9")
        .build()
        .unwrap()
}

fn req(t: &Transport, m: Method, p: &str) -> HttpRequest {
    t.request(m, p).body(b"{}".to_vec()).unwrap()
}

#[tokio::test]
async fn unsafe_request_is_never_sent_twice() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "1"))
        .expect(1)
        .mount(&server)
        .await;
    let clock = FakeClock::at_unix(1_000);
    let t = transport(&server.uri(), &clock);
    let resp = t
        .send(req(&t, Method::POST, "/auths"), Replay::ByMethod)
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert!(clock.sleeps().is_empty());
    server.verify().await;
}

#[tokio::test]
async fn safe_request_retries_on_503_and_honours_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "7"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let clock = FakeClock::at_unix(1_000);
    let t = transport(&server.uri(), &clock);
    let resp = t
        .send(req(&t, Method::GET, "/x"), Replay::ByMethod)
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 2);
    assert_eq!(sleeps[0], Duration::from_secs(7));
    assert!(sleeps[1] >= Duration::from_millis(100) && sleeps[1] <= Duration::from_millis(200));
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn post_with_idempotency_key_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    let clock = FakeClock::at_unix(1_000);
    let t = transport(&server.uri(), &clock);
    let resp = t
        .send(req(&t, Method::POST, "/track"), Replay::IdempotencyKey)
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

/// A server that reads each request and drops the connection without answering.
async fn dropping_server() -> (String, Arc<AtomicU32>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicU32::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0u8; 4096];
            if let Ok(n) = sock.read(&mut buf).await
                && n > 0
            {
                c.fetch_add(1, Ordering::SeqCst);
            }
            drop(sock);
        }
    });
    (format!("http://{addr}"), count)
}

#[tokio::test]
async fn dropped_connection_retries_get_but_not_post() {
    let (uri, count) = dropping_server().await;
    let clock = FakeClock::at_unix(1_000);
    let t = transport(&uri, &clock);
    let err = t
        .send(req(&t, Method::POST, "/auths"), Replay::ByMethod)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(count.load(Ordering::SeqCst), 1, "a POST was sent twice");

    // Transport errors never carry the URL: its query may hold a token.
    let err = t
        .send(
            req(&t, Method::GET, "/users?token=tok_very_secret"),
            Replay::Never,
        )
        .await
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("tok_very_secret"), "{shown}");

    count.store(0, Ordering::SeqCst);
    let err = t
        .send(req(&t, Method::GET, "/auths/1"), Replay::ByMethod)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

/// A server that accepts connections, reads nothing back and never answers (a slowloris peer);
/// returns its address and a count of accepted connections.
async fn silent_server() -> (std::net::SocketAddr, Arc<AtomicU32>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicU32::new(0));
    let a = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            a.fetch_add(1, Ordering::SeqCst);
            held.push(sock);
        }
    });
    (addr, accepted)
}

#[tokio::test]
async fn never_answering_server_times_out() {
    let (addr, _) = silent_server().await;
    let t = Transport::builder(BaseUrl::parse(&format!("http://{addr}")).unwrap())
        .config(HttpConfig {
            timeout: Duration::from_millis(300),
            ..HttpConfig::default()
        })
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = t
        .send(req(&t, Method::GET, "/"), Replay::ByMethod)
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");

    // A per-request timeout overrides the configured one (here: shorter than 10 s default).
    let t = Transport::builder(BaseUrl::parse(&format!("http://{addr}")).unwrap())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = t
        .send_with_timeout(
            req(&t, Method::GET, "/"),
            Replay::ByMethod,
            Duration::from_millis(200),
        )
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn body_limit_and_redirects_and_user_agent() {
    let server = MockServer::start().await;
    Mock::given(path("/big"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'a'; 10_000]))
        .mount(&server)
        .await;
    Mock::given(path("/moved"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", "/elsewhere"))
        .mount(&server)
        .await;
    Mock::given(path("/elsewhere"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(path("/ua"))
        .and(wiremock::matchers::header(
            "user-agent",
            "auth-core-test/9.9.9 (oob-auth)",
        ))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let t = Transport::builder(BaseUrl::parse(&server.uri()).unwrap())
        .config(HttpConfig {
            max_response_bytes: 1024,
            ..HttpConfig::default()
        })
        .user_agent("auth-core-test", "9.9.9")
        .build()
        .unwrap();
    let err = t
        .send(req(&t, Method::GET, "/big"), Replay::ByMethod)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Transport(e) if e.kind() == TransportErrorKind::BodyTooLarge),
        "{err:?}"
    );
    let err = t
        .send(req(&t, Method::GET, "/moved"), Replay::ByMethod)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Transport(e) if e.kind() == TransportErrorKind::Redirect),
        "{err:?}"
    );
    let resp = t
        .send_reading_redirect(req(&t, Method::GET, "/moved"), Replay::ByMethod)
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    assert_eq!(resp.headers()["location"], "/elsewhere");
    let resp = t
        .send(req(&t, Method::GET, "/ua"), Replay::ByMethod)
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    server.verify().await;
}

#[tokio::test]
async fn user_supplied_reqwest_client_and_custom_http_client() {
    let server = MockServer::start().await;
    Mock::given(path("/hello"))
        .respond_with(ResponseTemplate::new(200).set_body_string("hi"))
        .mount(&server)
        .await;
    let own = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let t = Transport::builder(BaseUrl::parse(&server.uri()).unwrap())
        .reqwest_client(own)
        .build()
        .unwrap();
    let resp = t
        .send(req(&t, Method::GET, "/hello"), Replay::ByMethod)
        .await
        .unwrap();
    assert_eq!(resp.body(), b"hi");

    // Any closure is an HttpClient: it sees the outgoing request.
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let client = move |r: HttpRequest| {
        let s3 = s2.clone();
        async move {
            s3.lock().unwrap().push(r.uri().to_string());
            Ok::<HttpResponse, TransportError>(http::Response::new(b"fake".to_vec()))
        }
    };
    let t = Transport::builder(BaseUrl::parse("https://api.example.com/v1").unwrap())
        .http_client(Arc::new(client))
        .build()
        .unwrap();
    let resp = t
        .send(req(&t, Method::GET, "/users/u1"), Replay::ByMethod)
        .await
        .unwrap();
    assert_eq!(resp.body(), b"fake");
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        ["https://api.example.com/v1/users/u1"]
    );
}

#[tokio::test]
async fn error_bodies_are_bounded() {
    let big = "x".repeat(10_000);
    let err = Error::status(500, big.as_bytes(), &[]);
    let Error::Status { body, .. } = &err else {
        unreachable!()
    };
    assert!(body.is_truncated());
    assert_eq!(body.as_str().len(), auth_core::error::ERROR_BODY_LIMIT);
    assert!(err.to_string().len() < 2200);
}

#[tokio::test]
async fn send_built_makes_a_fresh_request_per_attempt() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let clock = FakeClock::at_unix(1_000);
    let t = transport(&server.uri(), &clock);
    let resp = t
        .send_built::<_, Error>(&Method::GET, Replay::ByMethod, |n| {
            Ok(t.request(Method::GET, "/signed")
                .header("x-token", format!("token-{n}"))
                .body(Vec::new())
                .unwrap())
        })
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let tokens: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.headers["x-token"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(tokens, ["token-1", "token-2", "token-3"]);

    // A POST built afresh is still sent once.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let t = transport(&server.uri(), &clock);
    let resp = t
        .send_built::<_, Error>(&Method::POST, Replay::ByMethod, |_| {
            Ok(t.request(Method::POST, "/auths").body(Vec::new()).unwrap())
        })
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    server.verify().await;
}

#[tokio::test]
async fn send_built_returns_the_builders_own_error_and_sends_nothing() {
    #[derive(Debug, PartialEq)]
    enum MyError {
        Signing,
        Core,
    }
    impl From<Error> for MyError {
        fn from(_: Error) -> Self {
            MyError::Core
        }
    }
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let clock = FakeClock::at_unix(1_000);
    let t = transport(&server.uri(), &clock);
    let r = t
        .send_built(&Method::GET, Replay::ByMethod, |_| Err(MyError::Signing))
        .await;
    assert_eq!(r.unwrap_err(), MyError::Signing);
    server.verify().await;
}

#[test]
fn status_classification() {
    assert!(Error::status(401, b"", &[]).is_unauthorized());
    assert!(Error::status(429, b"", &[]).is_rate_limited());
    assert!(Error::status(502, b"", &[]).is_server_error());
    assert!(!Error::status(404, b"", &[]).is_server_error());
    assert_eq!(Error::Cancelled.http_status(), None);
}

#[tokio::test]
async fn the_timeout_holds_for_custom_clients_too() {
    // A client that never answers and ignores every timeout hint.
    let hanging = |_r: HttpRequest| std::future::pending::<Result<HttpResponse, TransportError>>();
    let t = Transport::builder(BaseUrl::parse("https://api.example.com").unwrap())
        .http_client(Arc::new(hanging))
        .config(HttpConfig {
            timeout: Duration::from_millis(100),
            ..HttpConfig::default()
        })
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = t
        .send(req(&t, Method::GET, "/"), Replay::ByMethod)
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    let err = t
        .send_with_timeout(
            req(&t, Method::GET, "/"),
            Replay::ByMethod,
            Duration::from_millis(50),
        )
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

/// A server that answers every request with `status` and the given `Retry-After`, counting them.
async fn hinting_server(status: u16, retry_after: &str) -> (MockServer, Arc<AtomicU32>) {
    let server = MockServer::start().await;
    let count = Arc::new(AtomicU32::new(0));
    let c = count.clone();
    let retry_after = retry_after.to_owned();
    Mock::given(method("GET"))
        .respond_with(move |_: &wiremock::Request| {
            c.fetch_add(1, Ordering::SeqCst);
            ResponseTemplate::new(status).insert_header("Retry-After", retry_after.as_str())
        })
        .mount(&server)
        .await;
    (server, count)
}

#[tokio::test]
async fn retry_after_zero_does_not_retry_without_a_pause() {
    let (server, count) = hinting_server(429, "0").await;
    let clock = FakeClock::at_unix(1_000);
    let t = transport(&server.uri(), &clock);
    let resp = t
        .send(req(&t, Method::GET, "/x"), Replay::ByMethod)
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(count.load(Ordering::SeqCst), 3);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 2);
    // The back-off (100 ms base, doubling, at least half of it) still applies.
    assert!(sleeps[0] >= Duration::from_millis(50), "{sleeps:?}");
    assert!(sleeps[1] >= Duration::from_millis(100), "{sleeps:?}");
}

#[tokio::test]
async fn a_long_retry_after_is_honoured_in_full_within_the_deadline() {
    // max_delay is 20 s in `transport`; take a policy whose max_delay is far shorter.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "25"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let clock = FakeClock::at_unix(1_000);
    let t = Transport::builder(BaseUrl::parse(&server.uri()).unwrap())
        .clock(Arc::new(clock.clone()))
        .retry(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        })
        .build()
        .unwrap();
    let resp = t
        .send(req(&t, Method::GET, "/x"), Replay::ByMethod)
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(25)]);
}

#[tokio::test]
async fn a_retry_after_past_the_deadline_ends_the_retries_at_once() {
    let (server, count) = hinting_server(503, "120").await;
    let clock = FakeClock::at_unix(1_000);
    let t = transport(&server.uri(), &clock); // total timeout: 30 s (default)
    let resp = t
        .send(req(&t, Method::GET, "/x"), Replay::ByMethod)
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert!(clock.sleeps().is_empty(), "{:?}", clock.sleeps());
}

#[tokio::test]
async fn one_deadline_covers_every_attempt_of_a_call() {
    // A slowloris server: accepts, reads, never answers. Three attempts are allowed, yet the
    // call as a whole ends after one total timeout (before: one timeout per attempt).
    let (addr, accepted) = silent_server().await;
    let timeout = Duration::from_millis(400);
    let t = Transport::builder(BaseUrl::parse(&format!("http://{addr}")).unwrap())
        .config(HttpConfig {
            timeout,
            ..HttpConfig::default()
        })
        .retry(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
        })
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = t
        .send(req(&t, Method::GET, "/"), Replay::ByMethod)
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(err.is_timeout(), "{err:?}");
    // Three full attempts would take three timeouts; one deadline takes one (plus slack).
    assert!(took < timeout * 2, "took {took:?}");
    assert!(accepted.load(Ordering::SeqCst) >= 1);
}

#[tokio::test]
async fn a_refused_redirect_does_not_quote_the_location_query() {
    let server = MockServer::start().await;
    Mock::given(path("/moved"))
        .respond_with(ResponseTemplate::new(301).insert_header(
            "Location",
            "https://u:pw@evil.example/v1/users?token=tok_SECRET#at=x",
        ))
        .mount(&server)
        .await;
    let t = Transport::builder(BaseUrl::parse(&server.uri()).unwrap())
        .build()
        .unwrap();
    let err = t
        .send(req(&t, Method::GET, "/moved"), Replay::ByMethod)
        .await
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("tok_SECRET"), "{shown}");
    assert!(!shown.contains(":pw@"), "{shown}");
    assert!(
        shown.contains("evil.example/v1/users?token=[redacted]"),
        "{shown}"
    );
}

/// A server that holds each request 50 ms and records the most requests it saw at once.
async fn holding_server() -> (std::net::SocketAddr, Arc<AtomicU32>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let now = Arc::new(AtomicU32::new(0));
    let peak = Arc::new(AtomicU32::new(0));
    let (n, p) = (now.clone(), peak.clone());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (n, p) = (n.clone(), p.clone());
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                let mut buf = vec![0u8; 4096];
                loop {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let cur = n.fetch_add(1, Ordering::SeqCst) + 1;
                    p.fetch_max(cur, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    n.fetch_sub(1, Ordering::SeqCst);
                    let _ = sock
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                        .await;
                }
            });
        }
    });
    (addr, peak)
}

#[tokio::test]
async fn requests_in_flight_are_bounded_per_client() {
    let (addr, peak) = holding_server().await;
    let t = Transport::builder(BaseUrl::parse(&format!("http://{addr}")).unwrap())
        .max_in_flight(3)
        .build()
        .unwrap();
    assert_eq!(t.max_in_flight(), 3);
    let calls = (0..24).map(|_| {
        let t = t.clone();
        async move { t.send(req(&t, Method::GET, "/"), Replay::ByMethod).await }
    });
    let results = futures_join_all(calls).await;
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().is_ok_and(|r| r.status() == 200))
    );
    let seen = peak.load(Ordering::SeqCst);
    assert!((1..=3).contains(&seen), "peak in flight {seen}");
}

#[tokio::test]
async fn waiting_for_a_slot_counts_against_the_deadline() {
    let (addr, _) = silent_server().await;
    let t = Transport::builder(BaseUrl::parse(&format!("http://{addr}")).unwrap())
        .max_in_flight(1)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    // The first call holds the only slot for 2 s; the second may wait 200 ms in all.
    let hog = hold_the_slot(&t, Duration::from_secs(2)).await;
    let started = std::time::Instant::now();
    let err = t
        .send_with_timeout(
            req(&t, Method::GET, "/"),
            Replay::ByMethod,
            Duration::from_millis(200),
        )
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    hog.abort();
}

#[test]
fn a_zero_in_flight_limit_is_a_configuration_error() {
    let err = Transport::builder(BaseUrl::parse("https://api.example.com").unwrap())
        .max_in_flight(0)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}

#[test]
fn a_zero_timeout_is_a_configuration_error_for_every_provider() {
    // Built from the shared configuration, as every provider's client builds its transport.
    for (name, config) in [
        ("timeout", Config::new().timeout(Duration::ZERO)),
        (
            "connect_timeout",
            Config::new().connect_timeout(Duration::ZERO),
        ),
    ] {
        let err = config
            .build(
                BaseUrl::parse("https://api.example.com").unwrap(),
                "test",
                "0",
            )
            .unwrap_err();
        assert!(
            matches!(&err, Error::Config(ConfigError::Invalid { name: n, .. }) if *n == name),
            "{err:?}"
        );
    }
}

/// Calls admitted by `Transport::admitted` run at most `max_in_flight` at once, each made only
/// once it has its slot; a call's requests (and calls nested in it) go out in its slot, so a
/// limit of one slot cannot deadlock.
#[tokio::test]
async fn admitted_calls_are_made_only_once_they_have_a_slot() {
    let (addr, peak) = holding_server().await;
    let t = Transport::builder(BaseUrl::parse(&format!("http://{addr}")).unwrap())
        .max_in_flight(2)
        .build()
        .unwrap();
    let running = Arc::new(AtomicU32::new(0));
    let most = Arc::new(AtomicU32::new(0));
    let calls = (0..8).map(|_| {
        let (t, running, most) = (t.clone(), running.clone(), most.clone());
        async move {
            t.admitted(|| async {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                for _ in 0..2 {
                    t.send(req(&t, Method::GET, "/"), Replay::ByMethod).await?;
                }
                let nested = t
                    .admitted(|| async {
                        t.send(req(&t, Method::GET, "/"), Replay::ByMethod).await
                    })
                    .await?;
                running.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, Error>(nested.status())
            })
            .await
        }
    });
    let results = futures_join_all(calls).await;
    assert!(
        results.iter().all(|r| r.as_ref().is_ok_and(|s| *s == 200)),
        "{results:?}"
    );
    assert_eq!(most.load(Ordering::SeqCst), 2, "calls running at once");
    assert!(peak.load(Ordering::SeqCst) <= 2, "requests in flight");
}

/// A call that gets no slot within the transport's timeout fails with a timeout and is never
/// made.
#[tokio::test]
async fn an_admitted_call_that_gets_no_slot_in_time_is_never_made() {
    let t = Transport::builder(BaseUrl::parse("http://127.0.0.1:9").unwrap())
        .max_in_flight(1)
        .config(auth_core::HttpConfig {
            timeout: Duration::from_millis(200),
            ..auth_core::HttpConfig::default()
        })
        .build()
        .unwrap();
    let hog = hold_the_slot(&t, Duration::from_secs(2)).await;
    let made = Arc::new(AtomicU32::new(0));
    let m = made.clone();
    let err = t
        .admitted(|| async move {
            m.fetch_add(1, Ordering::SeqCst);
            Ok::<_, Error>(())
        })
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(made.load(Ordering::SeqCst), 0);
    hog.abort();
}

/// A fetch other calls wait on (a single-flight key fetch) led by a call that holds no slot:
/// with every slot held by calls waiting for it, it would queue until its deadline; through
/// `unslotted` it goes out at once.
#[tokio::test]
async fn a_shared_fetch_never_queues_behind_the_calls_waiting_for_it() {
    let (addr, _) = holding_server().await;
    let t = Transport::builder(BaseUrl::parse(&format!("http://{addr}")).unwrap())
        .max_in_flight(1)
        .config(auth_core::HttpConfig {
            timeout: Duration::from_millis(400),
            ..auth_core::HttpConfig::default()
        })
        .build()
        .unwrap();
    // The one slot: held by an admitted call waiting for the fetch's result.
    let (done, result) = tokio::sync::oneshot::channel::<u16>();
    let waiter = {
        let t = t.clone();
        tokio::spawn(async move {
            t.admitted(|| async move { result.await.map_err(|_| Error::Cancelled) })
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Queued for a slot, the fetch times out...
    let queued = t.send(req(&t, Method::GET, "/"), Replay::Never).await;
    assert!(queued.as_ref().is_err_and(Error::is_timeout), "{queued:?}");
    // ...unslotted, it goes out and the waiter gets its answer.
    let fetched = t
        .unslotted(t.send(req(&t, Method::GET, "/"), Replay::Never))
        .await
        .unwrap();
    done.send(fetched.status().as_u16()).unwrap();
    assert_eq!(waiter.await.unwrap().unwrap(), 200);
}

/// An admitted call gives its slot back while a request of it pauses before a retry: another
/// call runs in the meantime, even with one slot.
#[tokio::test]
async fn an_admitted_call_pausing_before_a_retry_lets_others_run() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/busy"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "2"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let t = Transport::builder(BaseUrl::parse(&server.uri()).unwrap())
        .max_in_flight(1)
        .build()
        .unwrap();
    let retrying = {
        let t = t.clone();
        tokio::spawn(async move {
            t.admitted(|| async {
                t.send(req(&t, Method::GET, "/busy"), Replay::ByMethod)
                    .await
            })
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The retrying call is pausing (Retry-After: 2 s): its slot is free for this one, which
    // ends while the other still pauses (held, the slot would make it wait for the retry).
    let other = t
        .admitted(|| async {
            t.send(req(&t, Method::GET, "/other"), Replay::ByMethod)
                .await
        })
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    assert!(!retrying.is_finished(), "the retrying call ended first");
    assert_eq!(retrying.await.unwrap().unwrap().status(), 200);
}

/// The time an admitted call waited for its slot is charged to its first request's deadline:
/// the call ends within one timeout in all, not one timeout after it got its slot.
#[tokio::test]
async fn an_admitted_calls_wait_for_a_slot_counts_against_its_first_request() {
    let (addr, _) = silent_server().await;
    let t = Transport::builder(BaseUrl::parse(&format!("http://{addr}")).unwrap())
        .max_in_flight(1)
        .retry(RetryPolicy::none())
        .config(auth_core::HttpConfig {
            timeout: Duration::from_millis(800),
            ..auth_core::HttpConfig::default()
        })
        .build()
        .unwrap();
    let hog = hold_the_slot(&t, Duration::from_millis(500)).await;
    let started = std::time::Instant::now();
    let err = t
        .admitted(|| async { t.send(req(&t, Method::GET, "/"), Replay::ByMethod).await })
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    // About 800 ms (500 waiting, 300 left for the request), not 1,300.
    assert!(
        started.elapsed() < Duration::from_millis(1_150),
        "{:?}",
        started.elapsed()
    );
    hog.await.unwrap().unwrap();
}

/// An admitted call holding `t`'s slot for `time`, already holding it when this returns.
async fn hold_the_slot(
    t: &Transport,
    time: Duration,
) -> tokio::task::JoinHandle<Result<(), Error>> {
    let t = t.clone();
    let hog = tokio::spawn(async move {
        t.admitted(|| async {
            tokio::time::sleep(time).await;
            Ok::<_, Error>(())
        })
        .await
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    hog
}

async fn futures_join_all<F>(futs: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// The emulator server (feature `emulator`): a body shorter than its Content-Length gets a
/// prompt 400 instead of a hung connection, and a model answers through it and in-process.
#[cfg(feature = "emulator")]
mod emulator_server {
    use super::*;
    use auth_core::emulator::{
        BODY_READ_TIMEOUT, Control, ControlError, InProcess, Model, PendingStepUp, serve,
    };
    use auth_core::{HttpClient, HttpRequest, HttpResponse};
    use tokio::io::AsyncWriteExt;

    struct Echo;

    #[auth_core::async_trait]
    impl Model for Echo {
        fn provider(&self) -> &'static str {
            "echo"
        }
        async fn handle(&self, request: HttpRequest) -> HttpResponse {
            http::Response::builder()
                .status(200)
                .body(request.into_body())
                .unwrap()
        }
        fn control(&self, command: Control) -> Result<serde_json::Value, ControlError> {
            Err(ControlError::Unsupported {
                provider: "echo",
                command: command.name(),
            })
        }
        fn pending(&self) -> Vec<PendingStepUp> {
            Vec::new()
        }
    }

    #[tokio::test]
    async fn a_short_body_gets_a_prompt_400() {
        let server = serve(Arc::new(Echo), "127.0.0.1:0").await.unwrap();
        let mut sock = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        sock.write_all(b"POST /v1/users HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"a\":1}")
            .await
            .unwrap();
        let mut buf = vec![0u8; 1024];
        let n = tokio::time::timeout(BODY_READ_TIMEOUT * 3, sock.read(&mut buf))
            .await
            .expect("the server hung on a short body")
            .unwrap();
        let head = String::from_utf8_lossy(&buf[..n]);
        assert!(head.starts_with("HTTP/1.1 400"), "{head}");
        assert!(head.contains("\"message\""), "{head}");

        // A whole request is answered by the model, over the socket and in-process alike.
        let t = Transport::builder(server.base_url().clone())
            .build()
            .unwrap();
        let resp = t
            .send(req(&t, Method::POST, "/x"), Replay::Never)
            .await
            .unwrap();
        assert_eq!(resp.body(), b"{}");
        let direct = InProcess::new(Arc::new(Echo));
        let resp = direct
            .execute(
                http::Request::post("http://e.invalid/")
                    .body(b"hi".to_vec())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(resp.body(), b"hi");
    }
}

#[tokio::test]
async fn a_call_waiting_for_a_slot_has_built_nothing_yet() {
    let (addr, _) = silent_server().await;
    let t = Transport::builder(BaseUrl::parse(&format!("http://{addr}")).unwrap())
        .max_in_flight(1)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let hog = hold_the_slot(&t, Duration::from_millis(600)).await;
    let built = Arc::new(AtomicU32::new(0));
    let b = built.clone();
    let waiting = {
        let (t, t2) = (t.clone(), t.clone());
        tokio::spawn(async move {
            t.send_built::<_, Error>(&Method::GET, Replay::ByMethod, move |_| {
                b.fetch_add(1, Ordering::SeqCst);
                Ok(t2.request(Method::GET, "/").body(Vec::new()).unwrap())
            })
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        built.load(Ordering::SeqCst),
        0,
        "built while waiting for a slot"
    );
    let _ = hog.await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        built.load(Ordering::SeqCst),
        1,
        "not built once the slot freed"
    );
    waiting.abort();
}
