//! Shared test helpers: fixture keys, an emulator with a registered service and users, and a
//! client wired to it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use launchkey::{ServiceId, ServicePrivateKey};

pub const SERVICE_A_PEM: &str =
    include_str!("../../../../../fixtures/launchkey/keys/service-a-pkcs1.pem");
pub const SERVICE_A_PUB: &str =
    include_str!("../../../../../fixtures/launchkey/keys/service-a-pkcs1.pub.pem");
pub const SERVICE_B_PEM: &str =
    include_str!("../../../../../fixtures/launchkey/keys/service-b-pkcs8.pem");
pub const SERVICE_B_PUB: &str =
    include_str!("../../../../../fixtures/launchkey/keys/service-b-pkcs8.pub.pem");
pub const API_PEM: &str = include_str!("../../../../../fixtures/launchkey/keys/api.pem");
pub const API_PUB: &str = include_str!("../../../../../fixtures/launchkey/keys/api.pub.pem");

pub fn key_a() -> ServicePrivateKey {
    ServicePrivateKey::from_pem(SERVICE_A_PEM).unwrap()
}

pub fn key_b() -> ServicePrivateKey {
    ServicePrivateKey::from_pem(SERVICE_B_PEM).unwrap()
}

/// A webhook request with these parts (a test changing one of them).
pub fn webhook(
    headers: &http::HeaderMap,
    body: &[u8],
    method: &str,
    path: &str,
) -> http::Request<Vec<u8>> {
    let mut request = http::Request::builder()
        .method(method)
        .uri(path)
        .body(body.to_vec())
        .unwrap();
    *request.headers_mut() = headers.clone();
    request
}

/// `original` sent with another method to another path.
pub fn at(original: &http::Request<Vec<u8>>, method: &str, path: &str) -> http::Request<Vec<u8>> {
    webhook(original.headers(), original.body(), method, path)
}

pub fn new_service_id() -> ServiceId {
    ServiceId::from_uuid(uuid::Uuid::new_v4())
}

pub mod emu {
    use super::*;
    use launchkey::Client;
    use launchkey::RsaPublicKey;
    use launchkey::emulator::{Emulator, EmulatorBuilder};

    pub struct Setup {
        pub emulator: Emulator,
        pub client: Client,
        pub service_id: ServiceId,
    }

    impl Setup {
        /// Creates an authorization request (which must succeed) and returns its id.
        pub async fn authorize(
            &self,
            request: &launchkey::AuthorizationRequest,
        ) -> launchkey::AuthRequestId {
            self.client.authorize(request).await.unwrap().id
        }
    }

    /// An emulator with one service (key A) and users alice, bob, carol; a client for it.
    pub async fn setup() -> Setup {
        setup_with(Emulator::builder()).await
    }

    /// [`setup`] with other emulator seeds.
    pub async fn setup_with(builder: EmulatorBuilder) -> Setup {
        let service_id = new_service_id();
        let emulator = builder
            .service(service_id, RsaPublicKey::from_pem(SERVICE_A_PUB).unwrap())
            .user("alice")
            .user("bob")
            .user("carol")
            .start()
            .await
            .unwrap();
        let client = Client::builder(service_id, key_a())
            .base_url(emulator.base_url())
            .build()
            .unwrap();
        Setup {
            emulator,
            client,
            service_id,
        }
    }
}

pub mod replay;
pub mod scenario;
