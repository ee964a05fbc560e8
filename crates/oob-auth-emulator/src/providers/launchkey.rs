//! LaunchKey: the crate's platform model (`launchkey::emulator::Model`) with one service, made
//! at start (id and RSA key generated, or from the settings `service_id` and
//! `private_key_file`), on the server's clock.

use std::sync::Arc;

use launchkey::emulator::Emulator;
use launchkey::{ServiceId, ServicePrivateKey};
use serde_json::{Map, Value, json};

use super::{Built, Ctx};
use crate::{Provider, StartError};

const P: Provider = Provider::Launchkey;

pub(crate) async fn build(ctx: &Ctx<'_>) -> Result<Built, StartError> {
    let err = |e: &dyn std::fmt::Display| StartError::provider(P, e);
    let service_id = match ctx.setting("service_id") {
        Some(s) => ServiceId::parse(s).map_err(|e| err(&e))?,
        None => ServiceId::from_uuid(uuid::Uuid::new_v4()),
    };
    let (pem, key_file) = match ctx.setting("private_key_file") {
        Some(path) => {
            let path = std::path::PathBuf::from(path);
            let pem = std::fs::read_to_string(&path).map_err(|e| StartError::io(&path, e))?;
            (pem, path)
        }
        None => {
            // The official SDK needs the private key itself: made here, written to --dir.
            let pair =
                rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).map_err(|e| err(&e))?;
            let pem = crate::tls::pem("PRIVATE KEY", &pair.serialize_der());
            let path = ctx.dir.join("launchkey-service.pem");
            super::write_private(&path, &pem)?;
            (pem, path)
        }
    };
    let key = ServicePrivateKey::from_pem(&pem).map_err(|e| err(&e))?;
    let model = Emulator::builder()
        .clock(ctx.shared_clock())
        .service(service_id, key.public_key())
        .log_capacity(ctx.log_capacity)
        .model()
        .map_err(|e| err(&e))?;

    let mut info = Map::new();
    info.insert("service_id".into(), json!(service_id.to_string()));
    info.insert("service_private_key_pem".into(), json!(pem));
    info.insert("service_private_key_file".into(), json!(key_file));
    info.insert("service_key_id".into(), json!(key.kid().as_str()));
    Ok(Built {
        model: Arc::new(model),
        api_path: "",
        info,
        default_user_details: Value::Null,
        outbox: None,
    })
}
