//! The OP's endpoints: from `/.well-known/openid-configuration` (OIDC Discovery 1.0, CIBA §4),
//! or set by hand.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::Error;
use crate::types::DeliveryMode;

/// The path of the discovery document below the issuer (OIDC Discovery §4).
pub const WELL_KNOWN_PATH: &str = "/.well-known/openid-configuration";

/// What this crate reads from the OP's discovery document. Unknown members are ignored;
/// `null` is the same as absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProviderMetadata {
    /// The issuer identifier; must equal the one the client was configured with.
    pub issuer: String,
    /// The token endpoint.
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// The JWKS URL.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// The backchannel authentication endpoint (CIBA §4).
    #[serde(default)]
    pub backchannel_authentication_endpoint: Option<String>,
    /// Supported delivery modes (CIBA §4).
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub backchannel_token_delivery_modes_supported: Vec<DeliveryMode>,
    /// Algorithms the OP accepts for signed authentication requests (CIBA §4); empty: it does
    /// not support them.
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub backchannel_authentication_request_signing_alg_values_supported: Vec<String>,
    /// Whether the OP supports `user_code` (CIBA §4; default false).
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub backchannel_user_code_parameter_supported: bool,
    /// Grant types (should list `urn:openid:params:grant-type:ciba`).
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub grant_types_supported: Vec<String>,
    /// Client authentication methods at the token endpoint.
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// ID token signing algorithms.
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub id_token_signing_alg_values_supported: Vec<String>,
}

/// The OP's issuer and the three endpoints CIBA uses, validated: `https://`, or `http://` for
/// loopback addresses only; no credentials or fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Endpoints {
    /// The issuer identifier (ID tokens' `iss` must equal it exactly).
    pub issuer: String,
    /// The backchannel authentication endpoint.
    pub backchannel_authentication: Url,
    /// The token endpoint.
    pub token: Url,
    /// The JWKS URL.
    pub jwks: Url,
}

/// Endpoints set by hand, each by name ([`Endpoints::builder`]).
#[derive(Debug, Clone)]
pub struct EndpointsBuilder {
    issuer: String,
    backchannel_authentication: Option<String>,
    token: Option<String>,
    jwks: Option<String>,
}

impl EndpointsBuilder {
    /// The backchannel authentication endpoint (`backchannel_authentication_endpoint`).
    pub fn backchannel_authentication(mut self, url: impl Into<String>) -> Self {
        self.backchannel_authentication = Some(url.into());
        self
    }

    /// The token endpoint (`token_endpoint`).
    pub fn token(mut self, url: impl Into<String>) -> Self {
        self.token = Some(url.into());
        self
    }

    /// The JWKS URL (`jwks_uri`).
    pub fn jwks(mut self, url: impl Into<String>) -> Self {
        self.jwks = Some(url.into());
        self
    }

    /// Checks every URL; all three endpoints are required.
    pub fn build(self) -> Result<Endpoints, Error> {
        check_url("issuer", &self.issuer)?;
        let url = |name: &'static str, value: Option<String>| {
            value
                .ok_or_else(|| crate::error::config(name, "required"))
                .and_then(|v| check_url(name, &v))
        };
        Ok(Endpoints {
            backchannel_authentication: url(
                "backchannel_authentication_endpoint",
                self.backchannel_authentication,
            )?,
            token: url("token_endpoint", self.token)?,
            jwks: url("jwks_uri", self.jwks)?,
            issuer: self.issuer,
        })
    }
}

impl Endpoints {
    /// Endpoints set by hand (no discovery), for the OP `issuer`: name each endpoint, then
    /// [`EndpointsBuilder::build`].
    ///
    /// ```
    /// let endpoints = ciba::Endpoints::builder("https://op.example")
    ///     .backchannel_authentication("https://op.example/bc-authorize")
    ///     .token("https://op.example/token")
    ///     .jwks("https://op.example/jwks")
    ///     .build()?;
    /// assert_eq!(endpoints.token.as_str(), "https://op.example/token");
    /// # Ok::<(), ciba::Error>(())
    /// ```
    pub fn builder(issuer: impl Into<String>) -> EndpointsBuilder {
        EndpointsBuilder {
            issuer: issuer.into(),
            backchannel_authentication: None,
            token: None,
            jwks: None,
        }
    }

    /// The endpoints of a discovery document fetched for `issuer`.
    pub fn from_metadata(issuer: &str, m: &ProviderMetadata) -> Result<Self, Error> {
        // OIDC Discovery §4.3: the issuer in the document must be the one asked for.
        if m.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
            return Err(Error::Discovery(format!(
                "the document's issuer {:?} is not {issuer:?}",
                m.issuer.chars().take(256).collect::<String>()
            )));
        }
        let need = |name: &'static str, v: &Option<String>| {
            v.clone()
                .ok_or_else(|| Error::Discovery(format!("no `{name}`: the OP does not offer CIBA")))
        };
        let backchannel = need(
            "backchannel_authentication_endpoint",
            &m.backchannel_authentication_endpoint,
        )?;
        let token = need("token_endpoint", &m.token_endpoint)?;
        let jwks = need("jwks_uri", &m.jwks_uri)?;
        Endpoints::builder(m.issuer.clone())
            .backchannel_authentication(backchannel)
            .token(token)
            .jwks(jwks)
            .build()
            .map_err(|e| Error::Discovery(e.to_string()))
    }

    /// The discovery document's URL for `issuer`.
    pub fn discovery_url(issuer: &str) -> Result<Url, Error> {
        check_url("issuer", issuer)?;
        check_url(
            "issuer",
            &format!("{}{WELL_KNOWN_PATH}", issuer.trim_end_matches('/')),
        )
    }
}

fn check_url(name: &'static str, value: &str) -> Result<Url, Error> {
    let bad = |reason: String| crate::error::config(name, reason);
    let url = Url::parse(value).map_err(|e| bad(format!("{e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("may not carry credentials".into()));
    }
    if url.fragment().is_some() {
        return Err(bad("may not have a fragment".into()));
    }
    if url.host().is_none() {
        return Err(bad("has no host".into()));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if auth_core::base_url::is_loopback_url(&url) => Ok(url),
        "http" => Err(bad(format!(
            "plain http is only allowed for loopback addresses: {value}"
        ))),
        other => Err(bad(format!("unsupported scheme `{other}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(json: &str) -> ProviderMetadata {
        auth_core::json::from_slice("discovery document", json.as_bytes()).unwrap()
    }

    #[test]
    fn reads_a_ciba_document_and_checks_the_issuer() {
        let m = metadata(
            r#"{"issuer":"https://op.example","token_endpoint":"https://op.example/token",
            "jwks_uri":"https://keys.example/jwks","backchannel_authentication_endpoint":"https://op.example/bc",
            "backchannel_token_delivery_modes_supported":["poll","ping","push","carrier-pigeon"],
            "backchannel_user_code_parameter_supported":true,
            "backchannel_authentication_request_signing_alg_values_supported":null}"#,
        );
        assert!(m.backchannel_user_code_parameter_supported);
        assert_eq!(
            m.backchannel_token_delivery_modes_supported[3],
            DeliveryMode::Other("carrier-pigeon".into())
        );
        let e = Endpoints::from_metadata("https://op.example/", &m).unwrap();
        assert_eq!(e.jwks.as_str(), "https://keys.example/jwks");
        assert!(Endpoints::from_metadata("https://other.example", &m).is_err());
        let no_ciba = metadata(
            r#"{"issuer":"https://op.example","token_endpoint":"https://op.example/token","jwks_uri":"https://op.example/jwks"}"#,
        );
        assert!(matches!(
            Endpoints::from_metadata("https://op.example", &no_ciba),
            Err(Error::Discovery(_))
        ));
    }

    #[test]
    fn endpoint_urls_are_https_or_loopback() {
        let endpoints = |issuer: &str, bc: &str, token: &str, jwks: &str| {
            Endpoints::builder(issuer)
                .backchannel_authentication(bc)
                .token(token)
                .jwks(jwks)
                .build()
        };
        assert!(
            endpoints(
                "http://127.0.0.1:9",
                "http://127.0.0.1:9/bc",
                "http://localhost/t",
                "http://[::1]/j"
            )
            .is_ok()
        );
        assert!(
            endpoints(
                "https://op.example",
                "http://op.example/bc",
                "https://op.example/t",
                "https://op.example/j"
            )
            .is_err()
        );
        assert!(
            endpoints(
                "https://op.example",
                "https://u:p@op.example/bc",
                "https://op.example/t",
                "https://op.example/j"
            )
            .is_err()
        );
        let missing = Endpoints::builder("https://op.example")
            .token("https://op.example/t")
            .jwks("https://op.example/j")
            .build()
            .unwrap_err();
        assert!(
            missing
                .to_string()
                .contains("backchannel_authentication_endpoint"),
            "{missing}"
        );
        assert_eq!(
            Endpoints::discovery_url("https://op.example/tenant/")
                .unwrap()
                .as_str(),
            "https://op.example/tenant/.well-known/openid-configuration"
        );
    }
}
