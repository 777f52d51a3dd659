//! What an RP-initiated logout request asks (OpenID Connect RP-Initiated Logout 1.0 §2-§3),
//! checked: which app, whether its ID-token hint speaks for the browser's login, and where
//! (if anywhere) the browser may be sent afterwards.
use std::sync::Arc;

use serde_json::Value;

use crate::error::AppError;
use crate::jose::jwt;
use crate::oauth::error::append_query;
use crate::oauth::interaction::session::Login;
use crate::oauth::params::Params;
use crate::state::AppState;
use crate::storage::clients::Client;

/// A checked logout request.
pub struct LogoutRequest {
    /// The app that asks, from `id_token_hint` or `client_id`.
    pub client: Option<Arc<Client>>,
    /// Where to send the browser afterwards: a `post_logout_redirect_uri` registered for
    /// that app, exactly, with `state`.
    pub redirect_to: Option<String>,
    /// The raw `post_logout_redirect_uri` and `state`, carried through the confirmation form
    /// (checked again when it comes back).
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    /// A valid `id_token_hint` names the browser's current login: no confirmation needed.
    pub hint_names_this_login: bool,
}

/// Checks the request. `Err` is a message for the error page: a hint we did not issue, an
/// unknown app, or a hint and `client_id` that disagree.
pub async fn check(
    state: &AppState,
    params: &Params,
    login: Option<&Login>,
) -> Result<Result<LogoutRequest, &'static str>, AppError> {
    let hint = match params.get("id_token_hint") {
        None => None,
        Some(token) => match verify_hint(state, token) {
            Some(hint) => Some(hint),
            None => {
                return Ok(Err(
                    "The sign-out request carries an ID token that was not issued here.",
                ))
            }
        },
    };
    let client_id = match (params.get("client_id"), hint.as_ref()) {
        (Some(id), Some(hint)) if id != hint.client_id => {
            return Ok(Err(
                "The sign-out request names two different applications.",
            ))
        }
        (Some(id), _) => Some(id.to_string()),
        (None, Some(hint)) => Some(hint.client_id.clone()),
        (None, None) => None,
    };
    let client = match &client_id {
        Some(id) => match state.clients.get(&state.db, id).await? {
            Some(client) => Some(client),
            None => return Ok(Err("The application that sent you here is not registered.")),
        },
        None => None,
    };
    // §2: a hint for another user (or another sign-in of this one) is ignored.
    let hint_names_this_login = match (&hint, login) {
        (Some(hint), Some(login)) => {
            hint.subject == login.user_id
                && hint
                    .sid
                    .as_deref()
                    .is_none_or(|sid| login.sid.as_deref() == Some(sid))
        }
        _ => false,
    };
    let post_logout_redirect_uri = params.get("post_logout_redirect_uri").map(str::to_string);
    let client_state = params.get("state").map(str::to_string);
    let redirect_to = match (&post_logout_redirect_uri, &client) {
        (Some(uri), Some(client)) if client.post_logout_redirect_uris.iter().any(|r| r == uri) => {
            let mut pairs = Vec::new();
            if let Some(s) = &client_state {
                pairs.push(("state", s.as_str()));
            }
            Some(if pairs.is_empty() {
                uri.clone()
            } else {
                append_query(uri, &pairs)
            })
        }
        (Some(_), _) => {
            tracing::info!(
                client_id = client_id.as_deref().unwrap_or("-"),
                "post_logout_redirect_uri not registered for the app (or no app named): not redirecting"
            );
            None
        }
        (None, _) => None,
    };
    Ok(Ok(LogoutRequest {
        client,
        redirect_to,
        post_logout_redirect_uri,
        state: client_state,
        hint_names_this_login,
    }))
}

struct Hint {
    client_id: String,
    subject: String,
    sid: Option<String>,
}

/// §2 `id_token_hint`: an ID token we signed (with any of our keys), for our issuer. An
/// expired one is still a valid hint: logging out is what people do after it expired.
fn verify_hint(state: &AppState, token: &str) -> Option<Hint> {
    let claims = jwt::verify(&state.keys, token, "jwt").ok()?;
    if claims.get("iss").and_then(Value::as_str) != Some(state.settings.issuer_str()) {
        return None;
    }
    let client_id = match claims.get("aud")? {
        Value::String(aud) => aud.clone(),
        Value::Array(list) => match claims.get("azp").and_then(Value::as_str) {
            Some(azp) => azp.to_string(),
            None if list.len() == 1 => list[0].as_str()?.to_string(),
            None => return None,
        },
        _ => return None,
    };
    Some(Hint {
        client_id,
        subject: claims.get("sub")?.as_str()?.to_string(),
        sid: claims
            .get("sid")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}
