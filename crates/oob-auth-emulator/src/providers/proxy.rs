//! A bridge for a provider whose emulator still runs its own server: its requests are passed on
//! to that server over loopback, answers passed back unchanged.

use std::time::Duration;

use auth_core::emulator::json_response;
use auth_core::http::HttpConfig;
use auth_core::{HttpClient as _, HttpRequest, HttpResponse, ReqwestClient};
use serde_json::json;

use crate::{Provider, StartError};

/// The provider's own server.
pub(crate) struct Upstream {
    origin: String,
    client: ReqwestClient,
}

impl Upstream {
    /// Passes requests on to `origin` (`http://127.0.0.1:<port>`).
    pub(crate) fn new(provider: Provider, origin: &str) -> Result<Upstream, StartError> {
        let config = HttpConfig {
            // Some providers answer only when the user has (LogonBox's signing request).
            timeout: Duration::from_secs(600),
            max_response_bytes: auth_core::emulator::MAX_REQUEST_BYTES * 4,
            ..HttpConfig::default()
        };
        let client = ReqwestClient::new(&config).map_err(|e| StartError::provider(provider, e))?;
        Ok(Upstream {
            origin: origin.trim_end_matches('/').to_owned(),
            client,
        })
    }

    /// Sends `request` to the provider's server; a failure to reach it is a 502.
    pub(crate) async fn forward(&self, request: HttpRequest) -> HttpResponse {
        let (mut parts, body) = request.into_parts();
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let Ok(uri) = format!("{}{path}", self.origin).parse() else {
            return json_response(400, &json!({"error": "bad_request", "message": "bad path"}));
        };
        parts.uri = uri;
        parts.headers.remove(http::header::HOST);
        match self
            .client
            .execute(http::Request::from_parts(parts, body))
            .await
        {
            Ok(response) => response,
            Err(e) => json_response(
                502,
                &json!({"error": "bad_gateway", "message": format!("the emulator did not answer: {e}")}),
            ),
        }
    }
}
