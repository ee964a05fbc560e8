//! `--tls`: HTTPS on every port with a self-signed certificate written to disk.

use oob_auth_emulator::{Options, Provider};

#[tokio::test(flavor = "multi_thread")]
async fn tls_serves_https_with_the_certificate_it_wrote() {
    let dir = std::env::temp_dir().join(crate::common::unique("oob-emu-tls"));
    let mut options = Options::ephemeral();
    options.tls = true;
    options.dir = Some(dir.clone());
    options.only = vec![Provider::Launchkey];
    let server = crate::common::start(options).await;
    let info = server.info();
    let cert_path = info["tls"]["certificate"].as_str().unwrap();
    assert!(std::path::Path::new(cert_path).starts_with(&dir));
    let pem = std::fs::read(cert_path).unwrap();
    let key = std::fs::metadata(info["tls"]["private_key"].as_str().unwrap()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(key.permissions().mode() & 0o777, 0o600);
    }
    let _ = key;

    let base = server.api_url(Provider::Launchkey).unwrap().to_owned();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    assert!(server.control_url().starts_with("https://"));
    let trusting = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .build()
        .unwrap();
    let ping = trusting
        .get(format!("{base}/public/v3/ping"))
        .send()
        .await
        .unwrap();
    assert_eq!(ping.status(), 200);
    let localhost = base.replace("127.0.0.1", "localhost");
    assert_eq!(
        trusting
            .get(format!("{localhost}/public/v3/ping"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let control = trusting
        .get(format!("{}/pending", server.control_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(control.status(), 200);

    // A client that does not trust the certificate gets no answer.
    let default = reqwest::Client::new();
    assert!(
        default
            .get(format!("{base}/public/v3/ping"))
            .send()
            .await
            .is_err()
    );
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_the_ciba_issuer_is_https_and_our_client_completes_a_step_up_over_it() {
    use ciba::{AuthenticationRequest, Outcome};
    let dir = std::env::temp_dir().join(crate::common::unique("oob-emu-tls-ciba"));
    let mut options = Options::ephemeral();
    options.tls = true;
    options.dir = Some(dir.clone());
    options.only = vec![Provider::Ciba];
    options.users = vec!["tess".into()];
    options.provider_mut(Provider::Ciba).settings = serde_json::json!({"interval": 1});
    let server = crate::common::start(options).await;
    let c = &server.info()["providers"]["ciba"];
    let issuer = c["issuer"].as_str().unwrap();
    assert!(issuer.starts_with("https://127.0.0.1:"), "{issuer}");
    let pem = std::fs::read(server.info()["tls"]["certificate"].as_str().unwrap()).unwrap();
    let trusting = || {
        reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    };
    let client = crate::common::ciba_client(server.info())
        .reqwest_client(trusting())
        .build()
        .unwrap();
    let started = client
        .authenticate(AuthenticationRequest::login_hint("tess").binding_message("TLS? T1"))
        .await
        .unwrap();
    let approved = trusting()
        .post(format!(
            "{}/ciba/step-ups/{}/approve",
            server.control_url(),
            started.auth_req_id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 200);
    let Outcome::Approved(tokens) = client.poll(&started).await.unwrap() else {
        panic!("approved");
    };
    assert_eq!(tokens.claims.iss, issuer);
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}
