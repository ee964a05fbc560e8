//! LogonBox: the crate's credential server and phone model (`logonbox::emulator::Model`) on
//! the server's clock. Users created without details answer by hand (`"behaviour":
//! "manual"`): their signing requests wait on the phone page.

use std::sync::Arc;

use logonbox::emulator::Emulator;
use serde_json::{Map, json};

use super::{Built, Ctx};
use crate::{Provider, StartError};

pub(crate) async fn build(ctx: &Ctx<'_>) -> Result<Built, StartError> {
    let model = Emulator::builder()
        .clock(ctx.clock.clone())
        .log_capacity(ctx.log_capacity)
        .build()
        .map_err(|e| StartError::provider(Provider::Logonbox, e))?;
    Ok(Built {
        model: Arc::new(model),
        api_path: "",
        info: Map::new(),
        default_user_details: json!({ "behaviour": "manual" }),
        outbox: None,
    })
}
