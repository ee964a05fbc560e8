//! A replay server for recorded-style transcripts (fixtures/launchkey/transcripts/): serves the
//! recorded plaintexts in order, encrypted and signed as the platform does, with the fixture API
//! key; any request that does not match the next exchange gets a readable 500.

use std::sync::{Arc, Mutex};

use launchkey::JweAlgorithm;
use launchkey::hazmat::jwe::{self, ParsedJwe};
use launchkey::hazmat::jws::UnverifiedJws;
use launchkey::{JwsAlgorithm, RsaPublicKey, ServicePrivateKey};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub struct Replay {
    pub server: MockServer,
    pub transcript: Value,
    remaining: Arc<Mutex<Vec<Value>>>,
}

impl Replay {
    pub fn remaining(&self) -> usize {
        self.remaining.lock().unwrap().len()
    }
}

struct Responder {
    api: Arc<ServicePrivateKey>,
    service_pub: RsaPublicKey,
    remaining: Arc<Mutex<Vec<Value>>>,
}

fn hex_sha256(b: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b)
        .as_ref()
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

fn fail(msg: String) -> ResponseTemplate {
    ResponseTemplate::new(500).set_body_string(format!("replay mismatch: {msg}"))
}

impl Respond for Responder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let path = req.url.path();
        let api_kid = self.api.kid().as_str().to_owned();
        if path == "/public/v3/ping" {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            // Format as ISO-8601 via the civil algorithm in a tiny helper.
            return ResponseTemplate::new(200)
                .set_body_string(json!({"api_time": iso(now as i64)}).to_string());
        }
        if path == "/public/v3/public-key" || path == format!("/public/v3/public-key/{api_kid}") {
            return ResponseTemplate::new(200)
                .insert_header("X-IOV-KEY-ID", api_kid.as_str())
                .set_body_string(self.api.public_key_pem());
        }
        let Some(exchange) = ({
            let mut r = self.remaining.lock().unwrap();
            if r.is_empty() {
                None
            } else {
                Some(r.remove(0))
            }
        }) else {
            return fail(format!("unexpected {} {path}", req.method));
        };
        let want = &exchange["request"];
        if want["method"] != req.method.as_str() || want["path"] != path {
            return fail(format!(
                "expected {} {}, got {} {path}",
                want["method"], want["path"], req.method
            ));
        }
        // The request token must verify under the service key and bind method, path and body.
        let auth = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let Some(token) = auth.strip_prefix("IOV-JWT ") else {
            return fail("no IOV-JWT".into());
        };
        let Ok(jws) = UnverifiedJws::parse(token) else {
            return fail("bad JWS".into());
        };
        let Ok(payload) = jws.verify(self.service_pub.der()) else {
            return fail("bad signature".into());
        };
        let claims: Value = serde_json::from_slice(payload).unwrap();
        if claims["request"]["meth"] != req.method.as_str() || claims["request"]["path"] != path {
            return fail("request claim does not bind method/path".into());
        }
        if let Some(body) = want.get("body") {
            if claims["request"]["hash"] != hex_sha256(&req.body) {
                return fail("body hash".into());
            }
            let plain = ParsedJwe::parse(std::str::from_utf8(&req.body).unwrap())
                .unwrap()
                .decrypt_with_key(&self.api)
                .unwrap();
            let got: Value = serde_json::from_slice(&plain).unwrap();
            if &got != body {
                return fail(format!("body {got} != {body}"));
            }
        }
        let resp = &exchange["response"];
        let status = resp["status"].as_u64().unwrap() as u16;
        let service_kid = self.service_pub.fingerprint().as_str().to_owned();
        let plaintext = if let Some(core) = resp.get("core") {
            let device = serde_json::to_vec(&resp["device_package"]).unwrap();
            let device_jwe = jwe::encrypt_to(
                JweAlgorithm::RsaOaep,
                &self.service_pub,
                Some(&service_kid),
                Some("application/json"),
                &device,
            )
            .unwrap();
            let text = core
                .to_string()
                .replace("DEVICE_PACKAGE", &device_jwe)
                .replace("SERVICE_KID", &service_kid);
            Some(text)
        } else {
            resp.get("body").map(Value::to_string)
        };
        let body = plaintext
            .map(|p| {
                jwe::encrypt_to(
                    JweAlgorithm::RsaOaep,
                    &self.service_pub,
                    Some(&service_kid),
                    Some("application/json"),
                    p.as_bytes(),
                )
                .unwrap()
            })
            .unwrap_or_default();
        let now = claims["iat"].as_i64().unwrap();
        let mut response_claim = json!({"status": status});
        if !body.is_empty() {
            response_claim["func"] = json!("S256");
            response_claim["hash"] = json!(hex_sha256(body.as_bytes()));
        }
        let rclaims = json!({
            "iss": "lka", "aud": claims["iss"], "sub": claims["iss"],
            "iat": now, "nbf": now, "exp": now + 5, "jti": claims["jti"], "response": response_claim,
        });
        let jwt = self
            .api
            .sign_jws(JwsAlgorithm::RS256, rclaims.to_string().as_bytes())
            .unwrap();
        let t = ResponseTemplate::new(status).insert_header("X-IOV-JWT", jwt.as_str());
        if body.is_empty() {
            t
        } else {
            t.set_body_raw(body, "application/jose")
        }
    }
}

fn iso(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// Starts a replay server for `fixtures/launchkey/transcripts/<name>`.
pub async fn start(name: &str) -> Replay {
    let path = format!(
        "{}/../../fixtures/launchkey/transcripts/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let transcript: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let remaining = Arc::new(Mutex::new(
        transcript["exchanges"].as_array().unwrap().clone(),
    ));
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(Responder {
            api: Arc::new(ServicePrivateKey::from_pem(super::API_PEM).unwrap()),
            service_pub: RsaPublicKey::from_pem(super::SERVICE_A_PUB).unwrap(),
            remaining: remaining.clone(),
        })
        .mount(&server)
        .await;
    Replay {
        server,
        transcript,
        remaining,
    }
}
