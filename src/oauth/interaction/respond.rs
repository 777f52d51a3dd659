//! Carrying out a decision: the one place that reads the login state for [`decide`], parks
//! a request for the login, organization or consent page, issues the code, or sends an
//! error back.
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tower_sessions::Session;

use super::session;
use super::{
    consent_url, decide, login_url, organization_url, AuthRequest, LoginState, Next, OrgState,
};
use crate::error::AppError;
use crate::oauth::error::{append_query, error_redirect_url, OAuthError};
use crate::oauth::params::{is_form, Params};
use crate::state::AppState;
use crate::storage::{codes, organizations};
use crate::types::Scopes;
use crate::views::{error_page, ErrorPage};

/// Decides what happens next with `request` and renders it. `request_id` names the request
/// if it is already parked in the session (it resumes from the login or consent page).
pub async fn proceed(
    state: &AppState,
    session: &Session,
    request: AuthRequest,
    request_id: Option<String>,
) -> Result<Response, AppError> {
    let now = state.clock.now();
    // An account sign-in has no client; an app's request needs its client still registered.
    if !request.for_account
        && state
            .clients
            .get(&state.db, &request.client_id)
            .await?
            .is_none()
    {
        return Ok(error_page(
            StatusCode::BAD_REQUEST,
            "error-authorize-title",
            "error-app-gone",
        ));
    }
    let signed_in = session::active_login_with_consent(state, session, &request.client_id).await?;
    // A login whose session ended or whose user was deleted counts as no login.
    let (login_state, granted) = match &signed_in {
        Some((login, user, granted)) => (
            Some(LoginState {
                auth_time: login.auth_time,
                disabled: user.disabled,
            }),
            granted.clone(),
        ),
        None => (None, Scopes::default()),
    };
    let user_id = signed_in
        .as_ref()
        .map(|(login, _, _)| login.user_id.as_str());
    let orgs = org_state(state, &request, user_id).await?;
    match decide(&request, login_state, &granted, &orgs, now) {
        Next::Login => {
            let id = park(session, &request, request_id, now).await?;
            Ok(redirect(&login_url(&id)))
        }
        Next::SelectOrganization => {
            let id = park(session, &request, request_id, now).await?;
            Ok(redirect(&organization_url(&id)))
        }
        Next::Consent => {
            let id = park(session, &request, request_id, now).await?;
            Ok(redirect(&consent_url(&id)))
        }
        Next::Account => {
            if let Some(id) = &request_id {
                session::remove_pending(session, id).await?;
            }
            Ok(redirect(super::paths::ACCOUNT))
        }
        Next::Fail(error) => {
            if let Some(id) = &request_id {
                session::remove_pending(session, id).await?;
            }
            Ok(fail(state, &request, &error))
        }
        Next::Issue { organization } => {
            let Some((login, user, _)) = signed_in else {
                return Err(AppError::Internal("issue without a login".into()));
            };
            if let Some(id) = &request_id {
                session::remove_pending(session, id).await?;
            }
            issue_code(state, &request, &login, &user.id, organization, now).await
        }
    }
}

/// The organization facts [`decide`] needs: read fresh (no cache), and the user's
/// memberships only when organizations are involved at all.
async fn org_state(
    state: &AppState,
    request: &AuthRequest,
    user_id: Option<&str>,
) -> Result<OrgState, AppError> {
    // The restriction comes with the cached client (dropped on every change of it).
    let client_org = state
        .clients
        .get(&state.db, &request.client_id)
        .await?
        .and_then(|c| c.organization_id.clone());
    let requested = match &request.organization {
        None => None,
        Some(named) => Some(
            organizations::find_by_id_or_slug(&state.db, named)
                .await?
                .map(|o| o.id),
        ),
    };
    let involved = client_org.is_some()
        || requested.is_some()
        || Scopes::from_stored(&request.scope).contains(crate::authz::ORGANIZATION_SCOPE);
    let memberships = match user_id {
        Some(user_id) if involved => organizations::of_user(&state.db, user_id)
            .await?
            .into_iter()
            .map(|o| o.id)
            .collect(),
        _ => vec![],
    };
    Ok(OrgState {
        client_org,
        requested,
        memberships,
    })
}

/// RFC 6749 §4.1.2: stores a single-use code and sends it to the client with `state` and
/// (RFC 9207) `iss`.
async fn issue_code(
    state: &AppState,
    request: &AuthRequest,
    login: &session::Login,
    user_id: &str,
    organization: Option<String>,
    now: i64,
) -> Result<Response, AppError> {
    let code = crate::secrets::random_token(32);
    codes::insert(
        &state.db,
        codes::Code {
            code_hash: crate::secrets::token_hash(&code),
            client_id: request.client_id.clone(),
            user_id: user_id.to_string(),
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
            sid: login.sid.clone(),
            organization_id: organization,
        },
    )
    .await?;
    let issuer = state.settings.issuer_str();
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = &request.state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", issuer));
    Ok(redirect(&append_query(&request.redirect_uri, &pairs)))
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

/// An authorization redirect (303 See Other: the next request is a GET, whatever this one
/// was), never cached.
pub fn redirect(url: &str) -> Response {
    crate::oauth::token_endpoint::no_store(axum::response::Redirect::to(url))
}

/// RFC 6749 §4.1.2.1: an error for a request whose client and redirect URI are verified goes
/// back to the client, with `state` and `iss`.
pub fn fail(state: &AppState, request: &AuthRequest, error: &OAuthError) -> Response {
    redirect_error(
        state,
        &request.redirect_uri,
        request.state.as_deref(),
        error,
    )
}

/// The error redirect to a verified `redirect_uri`, carrying the error's log-only detail for
/// the trace middleware.
pub fn redirect_error(
    state: &AppState,
    redirect_uri: &str,
    client_state: Option<&str>,
    error: &OAuthError,
) -> Response {
    let mut response = redirect(&error_redirect_url(
        redirect_uri,
        error,
        client_state,
        state.settings.issuer_str(),
    ));
    error.failure().attach(&mut response);
    response
}

/// The page for a link to a pending request that this browser does not have (any more):
/// finished, cancelled, submitted twice, timed out, or started in another browser. It does
/// not say "expired", which is only one of these. With an https issuer reached without a
/// TLS-terminating proxy in front (no `X-Forwarded-Proto: https`), the likely cause is said
/// too: the browser keeps the `__Host-` cookie only over https.
pub fn expired(state: &AppState, headers: &HeaderMap) -> Response {
    let forwarded_https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    let tr = crate::views::Tr::current();
    let mut message = tr.t("error-not-in-progress");
    if state.settings.issuer.scheme() == "https" && !forwarded_https {
        message.push(' ');
        message.push_str(&tr.t1("error-plain-http", "issuer", state.settings.issuer_str()));
    }
    ErrorPage::text(tr.t("error-not-in-progress-title"), message).respond(StatusCode::BAD_REQUEST)
}

/// The `request_id` a login, consent or upstream page was opened with.
pub fn request_id(query: Option<String>) -> Option<String> {
    Params::parse(query.unwrap_or_default().as_bytes())
        .ok()?
        .get("request_id")
        .map(str::to_string)
}

/// Reads a page's form POST: urlencoded, well-formed, and carrying this session's CSRF token.
/// Anything else is the error page to show instead.
pub async fn read_form(
    session: &Session,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Result<Params, Box<Response>>, AppError> {
    let Some(params) = is_form(headers).then(|| Params::parse(body).ok()).flatten() else {
        return Ok(Err(Box::new(error_page(
            StatusCode::BAD_REQUEST,
            "error-form-title",
            "error-form-unreadable",
        ))));
    };
    if !session::check_csrf(session, params.get("csrf_token")).await? {
        return Ok(Err(Box::new(error_page(
            StatusCode::FORBIDDEN,
            "error-stale-form-title",
            "error-stale-form",
        ))));
    }
    Ok(Ok(params))
}
