//! Airlock IAM: the crate's Loginapp model (`airlock_iam::emulator::Model`) with its default
//! users, on the server's clock.

use std::sync::Arc;

use airlock_iam::emulator::{DEFAULT_PASSWORD, Emulator, LOGINAPP_PATH};
use serde_json::{Map, Value, json};

use super::{Built, Ctx};
use crate::StartError;

const DEFAULT_USERS: [&str; 9] = [
    "jdoe", "alice", "bob", "carol", "dave", "erin", "frank", "grace", "locked",
];

pub(crate) async fn build(ctx: &Ctx<'_>) -> Result<Built, StartError> {
    let model = Emulator::builder()
        .clock(ctx.clock.clone())
        .log_capacity(ctx.log_capacity)
        .model();
    let mut info = Map::new();
    info.insert("default_password".into(), json!(DEFAULT_PASSWORD));
    info.insert("default_users".into(), json!(DEFAULT_USERS));
    Ok(Built {
        model: Arc::new(model),
        api_path: LOGINAPP_PATH,
        info,
        default_user_details: Value::Null,
        outbox: None,
    })
}
