//! The two browser endpoints of an upstream login. They only translate: session and query in,
//! `provider` and `accounts` do the work, a redirect or a page out.
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::accounts::{self, Mapping, Refusal};
use super::provider::{Callback, Reauthentication, UpstreamError};
use super::upstream::{check_name, label, quirks};
use crate::audit::{self, AuditEvent, Kind, Target};
use crate::error::AppError;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::interaction::session::{self, user_agent, SignIn};
use crate::oauth::interaction::{self, expired, login_url, request_id};
use crate::oauth::params::Params;
use crate::state::AppState;
use crate::storage::upstreams::{self, Upstream};
use crate::views::{ErrorPage, Tr};

/// Session key of the upstream logins in flight.
const ATTEMPTS: &str = "federation";
/// An upstream login must come back within this many seconds.
const ATTEMPT_TTL: i64 = 600;
/// Most upstream logins in flight per session (several tabs); the oldest are dropped.
const MAX_ATTEMPTS: usize = 8;

/// An upstream login in flight, kept in the session until its callback consumes it.
#[derive(Clone, Serialize, Deserialize)]
struct Attempt {
    upstream: String,
    state: String,
    pkce_verifier: String,
    nonce: String,
    request_id: String,
    created_at: i64,
}

/// An error page (texts already translated) with a way back to the login page of the
/// pending request, if any.
fn error_page(status: StatusCode, title: String, message: String, retry: Option<&str>) -> Response {
    let mut page = ErrorPage::text(title, message);
    if let Some(request_id) = retry {
        page = page.back(login_url(request_id), "error-back-to-sign-in");
    }
    page.respond(status)
}

fn bad_callback() -> Response {
    ErrorPage::keys(
        "error-upstream-bad-callback-title",
        "error-upstream-bad-callback",
    )
    .respond(StatusCode::BAD_REQUEST)
}

/// `GET /login/upstream/{name}?request_id=...`: sends the browser to the upstream.
pub async fn start(
    State(state): State<AppState>,
    session: Session,
    headers: axum::http::HeaderMap,
    name: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let now = state.clock.now();
    let Some(request_id) = request_id(query) else {
        return Ok(expired(&state, &headers));
    };
    let Some(request) = session::load_pending(&session, &request_id, now).await? else {
        return Ok(expired(&state, &headers));
    };
    crate::views::i18n::prefer(request.ui_locales.as_deref());
    let upstream = match name {
        Ok(Path(name)) if check_name(&name).is_ok() => upstreams::find(&state.db, &name).await?,
        _ => None,
    };
    let Some(upstream) = upstream else {
        let tr = Tr::current();
        return Ok(error_page(
            StatusCode::NOT_FOUND,
            tr.t("error-upstream-unknown-title"),
            tr.t("error-upstream-unknown"),
            Some(&request_id),
        ));
    };
    let callback = super::callback_url(&state.settings);
    let started = match state
        .federation
        .start(
            &upstream,
            &callback,
            now,
            Reauthentication {
                prompt_login: request.prompt.login,
                max_age: request.max_age,
            },
        )
        .await
    {
        Ok(started) => started,
        Err(e) => return Ok(upstream_failure(&upstream, &e, &request_id)),
    };
    save_attempt(
        &session,
        Attempt {
            upstream: upstream.name.clone(),
            state: started.state,
            pkce_verifier: started.pkce_verifier,
            nonce: started.nonce,
            request_id,
            created_at: now,
        },
        now,
    )
    .await?;
    Ok(interaction::redirect(&started.url))
}

/// `GET /federation/callback?code=...&state=...` (or `error=...`): the upstream's answer.
pub async fn callback(
    State(state): State<AppState>,
    session: Session,
    headers: axum::http::HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let now = state.clock.now();
    let Ok(params) = Params::parse(query.unwrap_or_default().as_bytes()) else {
        return Ok(bad_callback());
    };
    let Some(presented) = params.get("state") else {
        return Ok(bad_callback());
    };
    // Single use: the attempt leaves the session whatever happens next.
    let Some(attempt) = take_attempt(&session, presented, now).await? else {
        tracing::info!(target: "security", event = "federation_bad_state", "upstream callback with an unknown, expired or replayed state");
        return Ok(bad_callback());
    };
    let retry = Some(attempt.request_id.as_str());
    let Some(upstream) = upstreams::find(&state.db, &attempt.upstream).await? else {
        let tr = Tr::current();
        return Ok(error_page(
            StatusCode::BAD_REQUEST,
            tr.t("error-upstream-unknown-title"),
            tr.t("error-upstream-removed"),
            retry,
        ));
    };
    // RFC 9207: an upstream that names itself must be the one we sent the user to.
    if params.get("iss").is_some_and(|iss| iss != upstream.issuer) {
        tracing::warn!(target: "security", event = "federation_mixup", upstream = %upstream.name, "authorization response from another issuer");
        return Ok(bad_callback());
    }
    let Some(mut request) = session::load_pending(&session, &attempt.request_id, now).await? else {
        return Ok(expired(&state, &headers));
    };
    crate::views::i18n::prefer(request.ui_locales.as_deref());
    if let Some(error) = params.get("error") {
        if error == "access_denied" {
            session::remove_pending(&session, &attempt.request_id).await?;
            let description = format!("the user denied the request at {}", label(&upstream));
            let error = OAuthError::new(ErrorCode::AccessDenied, description);
            return Ok(interaction::fail(&state, &request, &error));
        }
        tracing::warn!(upstream = %upstream.name, error = %error.chars().take(64).collect::<String>(), "upstream returned an error");
        let tr = Tr::current();
        return Ok(error_page(
            StatusCode::BAD_GATEWAY,
            tr.t1("error-upstream-error-title", "provider", label(&upstream)),
            tr.t("error-upstream-error"),
            retry,
        ));
    }
    let Some(code) = params.get("code") else {
        return Ok(bad_callback());
    };
    let callback = Callback {
        code,
        pkce_verifier: &attempt.pkce_verifier,
        nonce: &attempt.nonce,
    };
    let identity = match state
        .federation
        .finish(
            &upstream,
            &super::callback_url(&state.settings),
            callback,
            now,
        )
        .await
    {
        Ok(identity) => identity,
        Err(e) => return Ok(upstream_failure(&upstream, &e, &attempt.request_id)),
    };
    let quirks = quirks(&upstream);
    let policy = state.settings.federation_policy;
    let (user, mapping) = match accounts::resolve(
        &state.db, &upstream, &quirks, policy, &identity, now,
    )
    .await?
    {
        Ok(found) => found,
        Err(refusal) => {
            tracing::info!(target: "security", event = "federation_refused", upstream = %upstream.name, reason = ?refusal, "upstream login refused");
            audit::record(
                &state,
                AuditEvent::new(Kind::LoginFailure)
                    .client(&request.client_id)
                    .reason("federation_refused")
                    .target(Target::Upstream(upstream.name.clone())),
            );
            return Ok(refused(&upstream, refusal, &attempt.request_id));
        }
    };
    tracing::info!(target: "security", event = "federated_login", upstream = %upstream.name, user = %user.id, mapping = ?mapping, "upstream login");
    audit::record(
        &state,
        AuditEvent::new(Kind::FederationLogin)
            .client(&request.client_id)
            .user(&user.id)
            .username(&user.username)
            .reason(match mapping {
                Mapping::Linked => "linked",
                Mapping::LinkedByEmail => "linked_by_email",
                Mapping::Provisioned => "provisioned",
            })
            .target(Target::Upstream(upstream.name.clone())),
    );
    if mapping == Mapping::Provisioned {
        tracing::info!(upstream = %upstream.name, username = %user.username, "provisioned a user");
    }
    session::sign_in(
        &state,
        &session,
        SignIn {
            user_id: user.id,
            // The upstream's own time of authentication when it says (an upstream session may
            // be older than this callback), never later than now.
            auth_time: identity.auth_time.map_or(now, |t| t.min(now)),
            amr: "fed",
            idp: Some(upstream.issuer.clone()),
            user_agent: user_agent(&headers),
        },
    )
    .await?;
    request.login_done = true;
    interaction::proceed(&state, &session, request, Some(attempt.request_id)).await
}

fn upstream_failure(upstream: &Upstream, error: &UpstreamError, request_id: &str) -> Response {
    let name = label(upstream);
    let tr = Tr::current();
    match error {
        UpstreamError::Unavailable(_) => {
            tracing::warn!(upstream = %upstream.name, error = %error, "upstream unavailable");
            error_page(
                StatusCode::BAD_GATEWAY,
                tr.t1("error-upstream-unavailable-title", "provider", &name),
                tr.t1("error-upstream-unavailable", "provider", &name),
                Some(request_id),
            )
        }
        UpstreamError::Refused(_) => {
            tracing::warn!(upstream = %upstream.name, error = %error, "upstream refused the code");
            error_page(
                StatusCode::BAD_REQUEST,
                tr.t1("error-upstream-refused-title", "provider", &name),
                tr.t("error-upstream-refused"),
                Some(request_id),
            )
        }
        UpstreamError::InvalidIdToken(_) => {
            tracing::warn!(target: "security", event = "federation_invalid_id_token", upstream = %upstream.name, error = %error, "upstream ID token rejected");
            error_page(
                StatusCode::BAD_REQUEST,
                tr.t("error-upstream-unverified-title"),
                tr.t1("error-upstream-unverified", "provider", &name),
                Some(request_id),
            )
        }
    }
}

fn refused(upstream: &Upstream, refusal: Refusal, request_id: &str) -> Response {
    let name = label(upstream);
    let tr = Tr::current();
    let message = match refusal {
        Refusal::NotLinked => tr.t1("error-refused-not-linked", "provider", &name),
        Refusal::Disabled => tr.t("error-refused-disabled"),
        Refusal::WrongHostedDomain => tr.t1(
            "error-refused-hosted-domain",
            "domain",
            upstream.hosted_domain.as_deref().unwrap_or_default(),
        ),
        Refusal::AmbiguousEmail => tr.t("error-refused-ambiguous-email"),
    };
    error_page(
        StatusCode::FORBIDDEN,
        tr.t("error-refused-title"),
        message,
        Some(request_id),
    )
}

async fn save_attempt(session: &Session, attempt: Attempt, now: i64) -> Result<(), AppError> {
    let mut attempts: Vec<Attempt> = session.get(ATTEMPTS).await?.unwrap_or_default();
    attempts.retain(|a| now - a.created_at < ATTEMPT_TTL);
    attempts.sort_by_key(|a| a.created_at);
    while attempts.len() >= MAX_ATTEMPTS {
        attempts.remove(0);
    }
    attempts.push(attempt);
    session.insert(ATTEMPTS, attempts).await?;
    Ok(())
}

/// Removes and returns the attempt `state` belongs to (constant-time comparison), if it is
/// still fresh.
async fn take_attempt(
    session: &Session,
    state: &str,
    now: i64,
) -> Result<Option<Attempt>, AppError> {
    let attempts: Vec<Attempt> = session.get(ATTEMPTS).await?.unwrap_or_default();
    let (matching, rest): (Vec<Attempt>, Vec<Attempt>) = attempts
        .into_iter()
        .filter(|a| now - a.created_at < ATTEMPT_TTL)
        .partition(|a| crate::secrets::constant_time_eq(&a.state, state));
    if matching.is_empty() {
        return Ok(None);
    }
    session.insert(ATTEMPTS, rest).await?;
    Ok(matching.into_iter().next())
}
