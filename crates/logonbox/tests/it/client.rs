//! The client's transport behaviour: the exact requests it sends (closure fake), timeouts
//! against a server that never answers, retries of the listing only (faults injected into the
//! emulator), bring-your-own reqwest client, and no secrets or payloads in Debug output.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_core::emulator::Control;
use auth_core::{
    Classify, ErrorKind, FakeClock, HttpRequest, HttpResponse, RetryPolicy, TransportError,
};
use logonbox::emulator::Emulator;
use logonbox::{AuthRequest, Client, Error, KeyType, PendingRequest};
use tokio::net::TcpListener;

const ED_LINE: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL0ISnrIwtSbFr9oRTZNHJfaWcHH7xYKeCRJx8O3N+7+ LogonBox Key";
const ED_ZERO_SIG: &str =
    "ZCqTWvzwzOimDwBGpsxgYzhVcJfWMCbF0D00lxFOfg4Z3777zWqq3iTvQgqiPKIaRVYOQ6vN9DvbxZiJOyyTAg==";

fn respond(status: u16, content_type: &str, body: &str) -> HttpResponse {
    http::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(body.as_bytes().to_vec())
        .unwrap()
}

#[tokio::test]
async fn sends_exactly_the_official_requests() {
    let seen: Arc<Mutex<Vec<HttpRequest>>> = Arc::default();
    let log = seen.clone();
    let fake = move |req: HttpRequest| {
        let log = log.clone();
        async move {
            let path = req.uri().path().to_owned();
            log.lock().unwrap().push(req);
            Ok::<_, TransportError>(match path.as_str() {
                "/app/api/authenticator/keys/lee@logonbox.com" => respond(
                    200,
                    "text/plain",
                    &format!("# Authorized keys for lee@logonbox.com\n{ED_LINE}\n"),
                ),
                "/app/api/authenticator/signPayload" => respond(
                    200,
                    "text/json",
                    &format!(
                        r#"{{"success":true,"message":"","signature":"{}","response":"ignored"}}"#,
                        ED_ZERO_SIG.replace('+', "-").replace('/', "_")
                    ),
                ),
                _ => respond(404, "text/plain", "no"),
            })
        }
    };
    let client = Client::builder("https://corp.logonbox.directory")
        .http_client(Arc::new(fake))
        .build()
        .unwrap();
    let approval = client
        .authenticate(AuthRequest::new("lee@logonbox.com").payload(vec![0u8; 128]))
        .await
        .unwrap();
    assert_eq!(approval.flags(), 0);

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].method(), "GET");
    assert_eq!(
        seen[0].uri().to_string(),
        "https://corp.logonbox.directory/app/api/authenticator/keys/lee@logonbox.com"
    );
    assert!(seen[0].body().is_empty());
    let sign = &seen[1];
    assert_eq!(sign.method(), "POST");
    assert_eq!(
        sign.uri().to_string(),
        "https://corp.logonbox.directory/app/api/authenticator/signPayload"
    );
    assert_eq!(
        sign.headers()["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert!(sign.headers().get("authorization").is_none());
    assert!(
        sign.headers()["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("logonbox/")
    );
    let body = std::str::from_utf8(sign.body()).unwrap();
    let zero_payload = "A".repeat(170) + "A";
    assert_eq!(
        body,
        format!(
            "username=lee%40logonbox.com\
             &fingerprint=SHA256%3AHJmwFN7kuX0rZzPGi%2B4kqO2ftzQ1DAN5BwqW6B3d2AE\
             &remoteName=LogonBox+Authenticator+API\
             &text=lee%40logonbox.com+wants+to+authenticate+from+LogonBox+Authenticator+API+using+your+corp.logonbox.directory+credentials.\
             &authorizeText=Authorize&flags=0&payload={zero_payload}"
        )
    );
}

#[tokio::test]
async fn sign_timeout_against_a_server_that_never_answers() {
    // Answers the listing, then accepts the sign connection and never responds.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut held = Vec::new();
        for _ in 0..2 {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = socket.read(&mut buf).await.unwrap();
            if std::str::from_utf8(&buf[..n]).unwrap().starts_with("GET ") {
                let body = format!("# Authorized keys\n{ED_LINE}\n");
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                socket.write_all(head.as_bytes()).await.unwrap();
                socket.write_all(body.as_bytes()).await.unwrap();
            } else {
                held.push(socket);
            }
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
        drop(held);
    });
    let client = Client::builder(format!("http://127.0.0.1:{port}"))
        .sign_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = client.authenticate("lee").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    server.abort();
}

/// Injects `times` answers of `status` (with `Retry-After: 1`) for paths containing `path`.
fn inject(emulator: &Emulator, path: &str, status: u16, times: u32) {
    let fault = serde_json::json!({
        "path_contains": path, "status": status, "retry_after": 1, "times": times
    });
    let fault = serde_json::from_value(fault).unwrap();
    emulator.control(Control::InjectFault { fault }).unwrap();
}

#[tokio::test]
async fn listing_is_retried_but_not_the_sign_call() {
    let emulator = Emulator::builder()
        .user("lee", &[KeyType::Ed25519])
        .start()
        .await
        .unwrap();
    inject(&emulator, "/keys/", 503, 1);
    inject(&emulator, "/signPayload", 503, 5);
    let clock = FakeClock::at_unix(1000);
    let client = Client::builder(emulator.base_url())
        .clock(Arc::new(clock.clone()))
        .retry(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(5),
        })
        .build()
        .unwrap();
    let err = client.authenticate("lee").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Core(auth_core::Error::Status { status: 503, .. })
        ),
        "{err:?}"
    );
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(1)]);
    // The listing twice (503, then 200), the sign call once.
    let log = emulator.control(Control::ReadLog { limit: None }).unwrap();
    let calls: Vec<(String, u64)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["method"].as_str().unwrap().to_owned(),
                e["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("GET".into(), 503),
            ("GET".into(), 200),
            ("POST".into(), 503)
        ]
    );

    // Other listing statuses are plain status errors.
    inject(&emulator, "/keys/", 500, 1);
    assert!(matches!(
        client.authorized_keys("lee").await,
        Err(Error::Core(auth_core::Error::Status { status: 500, .. }))
    ));
}

#[tokio::test]
async fn bring_your_own_reqwest_client() {
    let emulator = Emulator::builder()
        .user("lee", &[KeyType::Ed25519])
        .start()
        .await
        .unwrap();
    let mine = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let client = Client::builder(emulator.base_url())
        .reqwest_client(mine)
        .build()
        .unwrap();
    let listing = client.authorized_keys("lee").await.unwrap();
    assert_eq!(listing.keys().len(), 1);
    assert_eq!(emulator.listing_requests(), 1);
}

#[test]
fn configuration_errors_name_the_problem() {
    let err = Client::builder("").build().unwrap_err();
    assert!(err.to_string().contains("invalid base URL"), "{err}");
    let err = Client::builder("https://corp.example/?tenant=1")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("query"), "{err}");
    let err = Client::builder("https://corp.example")
        .sign_timeout(Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("timeout"), "{err}");
    let err = Client::builder("http://corp.example").build().unwrap_err();
    assert!(err.to_string().contains("https"), "{err}");
}

#[tokio::test]
async fn debug_output_has_no_payloads_or_signatures() {
    let fake = |req: HttpRequest| async move {
        Ok::<_, TransportError>(if req.method() == "GET" {
            respond(200, "text/plain", &format!("# Authorized\n{ED_LINE}\n"))
        } else {
            respond(
                200,
                "application/json",
                &format!(r#"{{"success":true,"signature":"{ED_ZERO_SIG}"}}"#),
            )
        })
    };
    let client = Client::builder("https://corp.logonbox.directory")
        .http_client(Arc::new(fake))
        .build()
        .unwrap();
    let approval = client
        .authenticate(AuthRequest::new("lee").payload(vec![0u8; 128]))
        .await
        .unwrap();
    let pending = PendingRequest::from_encoded(
        "AAAABHRlc3QAAAAyU0hBMjU2OkJ6ZnRKVHV6WlRZUmw5eHhBcVJWSkt2V2M0elBNbjBpQVM0SVY4UFZVTW8AAAAaTG9nb25Cb3ggQXV0aGVudGljYXRvciBBUEkAAABVe3VzZXJuYW1lfSB3YW50cyB0byBhdXRoZW50aWNhdGUgZnJvbSB7cmVtb3RlTmFtZX0gdXNpbmcgeW91ciB7aG9zdG5hbWV9IGNyZWRlbnRpYWxzLgAAAAlBdXRob3JpemUAAAAEAAAAAAAAAEFodHRwczovL2xvY2FsaG9zdC9hcHAvdWkvYXV0aGVudGljYXRvci1maW5pc2g_cmVzcG9uc2U9e3Jlc3BvbnNlfQAAAAAAAAAAAAAAAAAAAAA=",
        0,
    )
    .unwrap();
    let shown_pending = format!("{pending:?}");
    assert!(!shown_pending.contains("AAAABHRlc3Q"), "{shown_pending}");
    assert!(shown_pending.contains("blob_len: 287"), "{shown_pending}");
    let shown = format!("{approval:?} {client:?}");
    assert!(!shown.contains("ZCqTWvzw"), "{shown}");
    assert!(!shown.contains("[0, 0, 0"), "{shown}");
    assert!(shown.contains("signature_len: 64"), "{shown}");
}

#[tokio::test]
async fn an_unreachable_listing_is_an_error_not_an_expired_step_up() {
    use auth_core::stepup::{StepUp, StepUpRequest};
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let client = Client::builder(format!("http://127.0.0.1:{port}"))
        .timeout(Duration::from_millis(200))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client
        .start(StepUpRequest::new("lee", "t", "m"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:?}");
    server.abort();
}
