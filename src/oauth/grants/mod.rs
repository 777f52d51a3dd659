//! One module per grant type; each takes the authenticated client and the request's
//! parameters and returns the token response. No HTTP here.
pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

use super::error::{ErrorCode, OAuthError, OAuthResult};
use super::params::Params;
use crate::config::Settings;

/// The access token's `aud`: a registered RFC 8707 `resource`, or the configured default.
pub fn audience(settings: &Settings, params: &Params) -> OAuthResult<String> {
    match params.get("resource") {
        None => Ok(settings.default_audience()),
        Some(resource) if settings.resources.iter().any(|r| r == resource) => {
            Ok(resource.to_string())
        }
        Some(_) => Err(OAuthError::new(
            ErrorCode::InvalidTarget,
            "resource is not a registered resource",
        )),
    }
}
