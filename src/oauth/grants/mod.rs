//! One module per grant type; each takes the authenticated client and the request's
//! parameters and returns the token response. No HTTP here.
pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;
pub mod token_exchange;

use super::error::{ErrorCode, OAuthError, OAuthResult};
use crate::resources::{self, Resource};
use crate::state::AppState;
use crate::types::Scopes;

/// Where an access token is meant to go: its `aud`, and the resources that decide which of
/// the granted scopes it may carry (see `crate::resources`).
pub struct Target {
    pub audience: String,
    resource: Option<String>,
    resources: Vec<Resource>,
}

impl Target {
    /// The scopes of `granted` a token for this target carries: those of another resource
    /// are dropped (README "Resources").
    pub fn scope(&self, granted: &Scopes) -> Scopes {
        if self.resources.is_empty() {
            return granted.clone();
        }
        resources::scopes_for(&self.resources, self.resource.as_deref(), granted)
    }
}

/// The target of a token request: a registered RFC 8707 `resource` (RFC 8707 §2: an unknown
/// one is `invalid_target`), or the configured default audience. Checked before anything is
/// consumed, so a refused request leaves a code or refresh token usable.
pub async fn target(state: &AppState, resource: Option<&str>) -> OAuthResult<Target> {
    let all = resources::all(state).await?;
    let audience = match resource {
        None => state.settings.default_audience(),
        Some(uri) if all.iter().any(|r| r.uri == uri) => uri.to_string(),
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                "resource is not a registered resource",
            ))
        }
    };
    Ok(Target {
        audience,
        resource: resource.map(str::to_string),
        resources: all,
    })
}
