//! The authorization endpoint (RFC 6749 §4.1.1, OIDC Core §3.1.2) as a table of named
//! checks. Until the client and its redirect URI are verified, errors are shown to the user
//! and never redirected; after that they go back to the client with `state` and `iss`.
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use tower_sessions::Session;

use super::error::{ErrorCode, OAuthError, OAuthResult};
use super::interaction::{self, AuthRequest, Prompt};
use super::params::{is_form, CodeChallenge, Params};
use crate::error::AppError;
use crate::state::AppState;
use crate::storage::clients::Client;
use crate::types::AuthMethod;
use crate::types::Scopes;
use crate::views::{error_page, ErrorPage};
use std::sync::Arc;

pub async fn handler(
    State(state): State<AppState>,
    session: Session,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, AppError> {
    let raw: &[u8] = if method == Method::POST {
        if !is_form(&headers) {
            return Ok(bad_request("error-authorize-not-form"));
        }
        &body
    } else {
        query.as_deref().unwrap_or_default().as_bytes()
    };
    let params = match Params::parse(raw) {
        Ok(params) => params,
        Err(e) => {
            return Ok(
                ErrorPage::keys("error-authorize-title", "error-authorize-malformed")
                    .detail(e.description)
                    .respond(StatusCode::BAD_REQUEST),
            )
        }
    };
    crate::views::i18n::prefer(params.get("ui_locales"));
    let client = match check_client(&state, &params).await? {
        Ok(client) => client,
        Err(message) => return Ok(bad_request(message)),
    };
    let redirect_uri = match check_redirect_uri(&client, &params) {
        Ok(uri) => uri,
        Err(message) => {
            // The app is known, only its redirect is not: its home page is a safe way back.
            let mut page = ErrorPage::keys("error-authorize-title", message);
            if let Some(home) = &client.client_uri {
                page = page.back(home.clone(), "error-back-to-app");
            }
            return Ok(page.respond(StatusCode::BAD_REQUEST));
        }
    };
    let now = state.clock.now();
    match validate(&client, redirect_uri.clone(), &params, now) {
        Ok(request) => interaction::proceed(&state, &session, request, None).await,
        Err(error) => Ok(interaction::redirect_error(
            &state,
            &redirect_uri,
            params.get("state"),
            &error,
        )),
    }
}

/// An authorization request refused with a page; `message` is a catalog key.
fn bad_request(message: &str) -> Response {
    error_page(StatusCode::BAD_REQUEST, "error-authorize-title", message)
}

/// RFC 6749 §4.1.2.1: an unknown client is never redirected to.
async fn check_client(
    state: &AppState,
    params: &Params,
) -> Result<Result<Arc<Client>, &'static str>, AppError> {
    let Some(client_id) = params.get("client_id") else {
        return Ok(Err("error-authorize-no-client"));
    };
    Ok(state
        .clients
        .get(&state.db, client_id)
        .await?
        .ok_or("error-authorize-unknown-client"))
}

/// RFC 6749 §3.1.2.3 exact matching; OIDC Core §3.1.2.1 requires the parameter, RFC 6749
/// lets it default to the only registered URI.
fn check_redirect_uri(client: &Client, params: &Params) -> Result<String, &'static str> {
    let openid = params
        .get("scope")
        .unwrap_or_default()
        .split(' ')
        .any(|s| s == "openid");
    match params.get("redirect_uri") {
        Some(uri) if client.redirect_uris.iter().any(|r| r == uri) => Ok(uri.to_string()),
        Some(_) => Err("error-authorize-redirect-unregistered"),
        None if client.redirect_uris.len() == 1 && !openid => Ok(client.redirect_uris[0].clone()),
        None => Err("error-authorize-no-redirect"),
    }
}

/// The remaining checks, each an OAuth error the client receives.
fn validate(
    client: &Client,
    redirect_uri: String,
    params: &Params,
    now: i64,
) -> OAuthResult<AuthRequest> {
    check_unsupported(params)?;
    check_response_type(client, params)?;
    let scope = check_scope(client, params)?;
    let code_challenge = check_pkce(client, params)?;
    let prompt = check_prompt(params)?;
    let max_age = check_max_age(params)?;
    Ok(AuthRequest {
        client_id: client.client_id.clone(),
        redirect_uri,
        scope: scope.to_string(),
        state: params.get("state").map(str::to_string),
        nonce: params.get("nonce").map(str::to_string),
        code_challenge,
        prompt,
        max_age,
        login_hint: params
            .get("login_hint")
            .map(|h| h.chars().take(256).collect()),
        ui_locales: params
            .get("ui_locales")
            .map(|h| h.chars().take(256).collect()),
        created_at: now,
        login_done: false,
        consent_done: false,
        for_account: false,
        organization: check_organization(params)?,
    })
}

/// The `organization` parameter (Tessera's own): the id or slug of the organization the
/// tokens are to speak for. Only its form is checked here; whether it exists and the user
/// belongs to it is decided once the user is known (`interaction::decide`), so this
/// endpoint tells an anonymous caller nothing about which organizations exist.
fn check_organization(params: &Params) -> OAuthResult<Option<String>> {
    match params.get("organization") {
        None => Ok(None),
        Some(v) if !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_graphic()) => {
            Ok(Some(v.to_string()))
        }
        Some(_) => Err(OAuthError::invalid_request(
            "organization must be an organization id or slug",
        )),
    }
}

/// OIDC Core §3.1.2.6 and §6: request objects are not supported (`request_not_supported`,
/// `request_uri_not_supported`); only the query response mode is.
fn check_unsupported(params: &Params) -> OAuthResult<()> {
    if params.contains("request") {
        return Err(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if params.contains("request_uri") {
        return Err(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    match params.get("response_mode") {
        None | Some("query") => Ok(()),
        Some(_) => Err(OAuthError::invalid_request(
            "only response_mode=query is supported",
        )),
    }
}

/// RFC 6749 §4.1.1: `response_type=code`, for clients registered for the code grant.
fn check_response_type(client: &Client, params: &Params) -> OAuthResult<()> {
    match params.require("response_type")? {
        "code" => {}
        _ => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ))
        }
    }
    if !client.allows_grant("authorization_code") {
        return Err(OAuthError::unauthorized_client(
            "the client may not use the authorization code flow",
        ));
    }
    Ok(())
}

/// RFC 6749 §3.3 lets the server grant less than requested, and OIDC Core §3.1.2.1 says
/// scopes it does not understand SHOULD be ignored: the grant is what was requested and the
/// client may have. Nothing left is `invalid_scope`; the token response names the grant.
fn check_scope(client: &Client, params: &Params) -> OAuthResult<Scopes> {
    let requested = Scopes::parse(params.get("scope").unwrap_or_default())?;
    let granted = Scopes(
        requested
            .0
            .intersection(&client.scopes.0)
            .cloned()
            .collect(),
    );
    if granted.is_empty() {
        return Err(OAuthError::invalid_scope(
            "none of the requested scopes is allowed for this client",
        ));
    }
    if requested.contains("openid") != granted.contains("openid") {
        return Err(OAuthError::invalid_scope(
            "the client may not use the openid scope",
        ));
    }
    Ok(granted)
}

/// RFC 7636 §4.3: S256 only; required for public clients, honoured for confidential ones.
fn check_pkce(client: &Client, params: &Params) -> OAuthResult<Option<String>> {
    let challenge = params.get("code_challenge");
    let method = params.get("code_challenge_method");
    match (challenge, method) {
        (None, None) if client.public || client.auth_method == AuthMethod::None => {
            Err(OAuthError::invalid_request(
                "PKCE (code_challenge with S256) is required for public clients",
            ))
        }
        (None, None) => Ok(None),
        (None, Some(_)) => Err(OAuthError::invalid_request(
            "code_challenge_method without code_challenge",
        )),
        (Some(c), Some("S256")) => Ok(Some(CodeChallenge::parse(c)?.0)),
        (Some(_), _) => Err(OAuthError::invalid_request(
            "code_challenge_method must be S256 (plain is not allowed)",
        )),
    }
}

/// OIDC Core §3.1.2.1: `none` may not be combined with other values.
fn check_prompt(params: &Params) -> OAuthResult<Prompt> {
    let values: Vec<&str> = params
        .get("prompt")
        .unwrap_or_default()
        .split(' ')
        .filter(|v| !v.is_empty())
        .collect();
    let mut prompt = Prompt::default();
    for value in &values {
        match *value {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            "select_account" => {}
            _ => return Err(OAuthError::invalid_request("unsupported prompt value")),
        }
    }
    if prompt.none && values.len() > 1 {
        return Err(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(prompt)
}

fn check_max_age(params: &Params) -> OAuthResult<Option<i64>> {
    match params.get("max_age") {
        None => Ok(None),
        Some(v) => v
            .parse::<u32>()
            .map(|v| Some(v as i64))
            .map_err(|_| OAuthError::invalid_request("max_age must be a non-negative integer")),
    }
}
