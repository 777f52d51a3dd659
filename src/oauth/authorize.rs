//! The authorization endpoint (RFC 6749 §4.1.1, OIDC Core §3.1.2) as a table of named
//! checks. Until the client and its redirect URI are verified, errors are shown to the user
//! and never redirected; after that they go back to the client with `state` and `iss`.
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::error::{error_redirect_url, ErrorCode, OAuthError, OAuthResult};
use super::params::{is_form, CodeChallenge, Params};
use crate::accounts::session;
use crate::error::AppError;
use crate::state::AppState;
use crate::storage::clients::Client;
use crate::storage::{codes, users};
use crate::types::AuthMethod;
use crate::types::Scopes;
use crate::views::error_page;
use std::sync::Arc;

pub const PATH: &str = "/authorize";

/// A validated authorization request, kept in the session while the user logs in or consents.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt_none: bool,
    pub prompt_login: bool,
    pub prompt_consent: bool,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub created_at: i64,
    /// Set once the user has logged in during this request (satisfies prompt=login, max_age).
    pub login_done: bool,
    /// Set once the user has consented during this request (satisfies prompt=consent).
    pub consent_done: bool,
}

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
            return Ok(bad_request(
                "The authorization request must be sent as a form.",
            ));
        }
        &body
    } else {
        query.as_deref().unwrap_or_default().as_bytes()
    };
    let params = match Params::parse(raw) {
        Ok(params) => params,
        Err(e) => return Ok(bad_request(&e.description)),
    };
    let client = match check_client(&state, &params).await? {
        Ok(client) => client,
        Err(message) => return Ok(bad_request(message)),
    };
    let redirect_uri = match check_redirect_uri(&client, &params) {
        Ok(uri) => uri,
        Err(message) => return Ok(bad_request(message)),
    };
    let now = state.clock.now();
    match validate(&client, redirect_uri.clone(), &params, now) {
        Ok(request) => decide(&state, &session, request, None).await,
        Err(error) => Ok(redirect(&error_redirect_url(
            &redirect_uri,
            &error,
            params.get("state"),
            &state.settings.issuer_str(),
        ))),
    }
}

fn bad_request(message: &str) -> Response {
    error_page(StatusCode::BAD_REQUEST, "Invalid request", message)
}

/// RFC 6749 §4.1.2.1: an unknown client is never redirected to.
async fn check_client(
    state: &AppState,
    params: &Params,
) -> Result<Result<Arc<Client>, &'static str>, AppError> {
    let Some(client_id) = params.get("client_id") else {
        return Ok(Err(
            "The request does not name a client (client_id is missing).",
        ));
    };
    Ok(state
        .clients
        .get(&state.db, client_id)
        .await?
        .ok_or("The application that sent you here is not registered."))
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
        Some(_) => Err("The redirect URI is not registered for this application, so you cannot be sent back to it."),
        None if client.redirect_uris.len() == 1 && !openid => Ok(client.redirect_uris[0].clone()),
        None => Err("The request has no redirect_uri."),
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
    let (prompt_none, prompt_login, prompt_consent) = check_prompt(params)?;
    let max_age = check_max_age(params)?;
    Ok(AuthRequest {
        client_id: client.client_id.clone(),
        redirect_uri,
        scope: scope.to_string(),
        state: params.get("state").map(str::to_string),
        nonce: params.get("nonce").map(str::to_string),
        code_challenge,
        prompt_none,
        prompt_login,
        prompt_consent,
        max_age,
        login_hint: params
            .get("login_hint")
            .map(|h| h.chars().take(256).collect()),
        created_at: now,
        login_done: false,
        consent_done: false,
    })
}

/// OIDC Core §6: request objects are not supported; only the query response mode is.
fn check_unsupported(params: &Params) -> OAuthResult<()> {
    if params.contains("request") {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "request objects are not supported",
        ));
    }
    if params.contains("request_uri") {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
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
fn check_prompt(params: &Params) -> OAuthResult<(bool, bool, bool)> {
    let values: Vec<&str> = params
        .get("prompt")
        .unwrap_or_default()
        .split(' ')
        .filter(|v| !v.is_empty())
        .collect();
    let mut flags = (false, false, false);
    for value in &values {
        match *value {
            "none" => flags.0 = true,
            "login" => flags.1 = true,
            "consent" => flags.2 = true,
            "select_account" => {}
            _ => return Err(OAuthError::invalid_request("unsupported prompt value")),
        }
    }
    if flags.0 && values.len() > 1 {
        return Err(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(flags)
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

/// Decides what happens next: log in, consent, or send the code. Shared by the endpoint and
/// by the login and consent pages, which resume the request by `request_id`.
pub async fn decide(
    state: &AppState,
    session: &Session,
    request: AuthRequest,
    request_id: Option<String>,
) -> Result<Response, AppError> {
    let now = state.clock.now();
    let issuer = state.settings.issuer_str();
    let fail = |request: &AuthRequest, code: ErrorCode, message: &'static str| {
        redirect(&error_redirect_url(
            &request.redirect_uri,
            &OAuthError::new(code, message),
            request.state.as_deref(),
            &issuer,
        ))
    };
    let Some(client) = state.clients.get(&state.db, &request.client_id).await? else {
        return Ok(bad_request(
            "The application that sent you here is no longer registered.",
        ));
    };
    let login = match session::login(session).await? {
        Some(login) => users::find_with_consent(&state.db, &login.user_id, &client.client_id)
            .await?
            .filter(|(u, _)| !u.disabled)
            .map(|(u, granted)| (login, u, granted)),
        None => None,
    };
    // OIDC Core §3.1.2.1: max_age=0 is like prompt=login.
    let too_old = |auth_time: i64| {
        request
            .max_age
            .is_some_and(|max| max == 0 || now - auth_time > max)
    };
    let needs_login = match &login {
        None => true,
        Some((login, _, _)) => {
            !request.login_done && (request.prompt_login || too_old(login.auth_time))
        }
    };
    if needs_login {
        if request.prompt_none {
            return Ok(fail(
                &request,
                ErrorCode::LoginRequired,
                "the user is not logged in",
            ));
        }
        let id = park(session, &request, request_id, now).await?;
        return Ok(redirect(&format!("/login?request_id={id}")));
    }
    let Some((login, user, granted)) = login else {
        return Ok(fail(
            &request,
            ErrorCode::LoginRequired,
            "the user is not logged in",
        ));
    };
    let scope = Scopes::from_stored(&request.scope);
    let needs_consent =
        !scope.is_subset(&granted) || (request.prompt_consent && !request.consent_done);
    if needs_consent {
        if request.prompt_none {
            return Ok(fail(
                &request,
                ErrorCode::ConsentRequired,
                "the user has not consented",
            ));
        }
        let id = park(session, &request, request_id, now).await?;
        return Ok(redirect(&format!("/consent?request_id={id}")));
    }
    if let Some(id) = &request_id {
        session::remove_pending(session, id).await?;
    }
    let code = crate::secrets::random_token(32);
    codes::insert(
        &state.db,
        codes::Code {
            code_hash: crate::secrets::token_hash(&code),
            client_id: client.client_id.clone(),
            user_id: user.id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            scope: request.scope.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            auth_time: login.auth_time,
            amr: login.amr.clone(),
            idp: login.idp.clone(),
            expires_at: now + state.settings.code_ttl,
            used_at: None,
            family_id: None,
        },
    )
    .await?;
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = &request.state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", &issuer));
    Ok(redirect(&super::error::append_query(
        &request.redirect_uri,
        &pairs,
    )))
}

async fn park(
    session: &Session,
    request: &AuthRequest,
    id: Option<String>,
    now: i64,
) -> Result<String, AppError> {
    match id {
        Some(id) => {
            session::update_pending(session, &id, request).await?;
            Ok(id)
        }
        None => session::save_pending(session, request, now).await,
    }
}

/// An authorization redirect (303 See Other: the next request is a GET, whatever this one was).
pub fn redirect(url: &str) -> Response {
    super::token::no_store(axum::response::Redirect::to(url))
}

/// An error for a pending request, sent back to the client.
pub fn error_to_client(state: &AppState, request: &AuthRequest, error: &OAuthError) -> Response {
    redirect(&error_redirect_url(
        &request.redirect_uri,
        error,
        request.state.as_deref(),
        &state.settings.issuer_str(),
    ))
}
