//! The login page: a password form (argon2id) and a button per upstream provider.
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use tower_sessions::Session;

use crate::audit::{self, AuditEvent, Kind};
use crate::error::AppError;
use crate::oauth::interaction::session::{self, SignIn};
use crate::oauth::interaction::{self, expired, AuthRequest};
use crate::secrets::Secret;
use crate::state::AppState;
use crate::storage::{clients, users};
use crate::throttle::{Attempt, ClientIp};
use crate::views::{error_page, page, LoginPage};

const BAD_CREDENTIALS: &str = "The username or password is incorrect.";
/// How long a login refused for a full hashing queue is asked to wait.
const BUSY_RETRY_AFTER: u32 = 2;

fn too_many_attempts(seconds: i64) -> String {
    format!("Too many failed sign-in attempts. Please wait {seconds} seconds, then try again.")
}

fn with_retry_after(mut response: Response, seconds: i64) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    response
}

pub async fn show(
    State(state): State<AppState>,
    session: Session,
    headers: axum::http::HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let Some(request_id) = interaction::request_id(query) else {
        return Ok(expired(&state, &headers));
    };
    let Some(request) = session::load_pending(&session, &request_id, state.clock.now()).await?
    else {
        return Ok(expired(&state, &headers));
    };
    let username = request.login_hint.clone().unwrap_or_default();
    render(
        &state,
        &session,
        &request,
        &request_id,
        &username,
        None,
        StatusCode::OK,
    )
    .await
}

async fn render(
    state: &AppState,
    session: &Session,
    request: &AuthRequest,
    request_id: &str,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let client_name = if request.for_account {
        "your account".to_string()
    } else {
        clients::find(&state.db, &request.client_id)
            .await?
            .map(|c| c.name)
            .unwrap_or_default()
    };
    let csrf = session::csrf_token(session).await?;
    let upstreams = crate::federation::login_buttons(&state.db, request_id).await?;
    Ok(page(
        status,
        &LoginPage {
            client_name: &client_name,
            request_id,
            csrf: &csrf,
            username,
            error,
            password_login: state.settings.password_login,
            upstreams,
        },
    ))
}

pub async fn submit(
    State(state): State<AppState>,
    session: Session,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let params = match interaction::read_form(&session, &headers, &body).await? {
        Ok(params) => params,
        Err(page) => return Ok(*page),
    };
    let now = state.clock.now();
    let request_id = params.get("request_id").unwrap_or_default().to_string();
    let Some(mut request) = session::load_pending(&session, &request_id, now).await? else {
        return Ok(expired(&state, &headers));
    };
    if !state.settings.password_login {
        return Ok(error_page(
            StatusCode::FORBIDDEN,
            "Password sign-in is disabled",
            "Use one of the sign-in buttons.",
        ));
    }
    let username = params
        .get("username")
        .unwrap_or_default()
        .chars()
        .take(256)
        .collect::<String>();
    let password = Secret(params.get("password").unwrap_or_default().to_string());
    // Refused before any password is checked: a delayed or locked attempt costs no argon2.
    let attempt = Attempt::login(&username, ip);
    let check = state.throttle.check(&attempt, now).await?;
    if let Some(wait) = check.wait {
        let message = too_many_attempts(wait.retry_after);
        let page = render(
            &state,
            &session,
            &request,
            &request_id,
            &username,
            Some(&message),
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await?;
        return Ok(with_retry_after(page, wait.retry_after));
    }
    let user = users::find_by_username(&state.db, &username).await?;
    let hash = user
        .as_ref()
        .filter(|u| !u.disabled)
        .and_then(|u| u.password_hash.clone());
    let Ok(verified) = state.passwords.verify(hash, password).await else {
        let page = error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many sign-ins at once",
            "The service is busy signing other people in. Please try again in a few seconds.",
        );
        return Ok(with_retry_after(page, BUSY_RETRY_AFTER.into()));
    };
    let user = match user {
        Some(user) if verified => user,
        _ => {
            tracing::info!(target: "security", event = "login_failed", "password login failed");
            let locked = state.throttle.failed(&attempt, &check, now).await?;
            let event = failure(user.as_ref(), &username, &request.client_id);
            if let Some(scope) = locked {
                audit::record(&state, event.clone().lockout(scope.lock_reason()));
                state.metrics.lockout();
            }
            audit::record(&state, event);
            state.metrics.login_failure();
            return render(
                &state,
                &session,
                &request,
                &request_id,
                &username,
                Some(BAD_CREDENTIALS),
                StatusCode::UNAUTHORIZED,
            )
            .await;
        }
    };
    state.throttle.succeeded(&attempt, &check).await?;
    session::sign_in(
        &state,
        &session,
        SignIn {
            user_id: user.id.clone(),
            auth_time: now,
            amr: "pwd",
            idp: None,
            user_agent: session::user_agent(&headers),
        },
    )
    .await?;
    audit::record(
        &state,
        AuditEvent::new(Kind::LoginSuccess)
            .client(&request.client_id)
            .user(&user.id)
            .username(&user.username)
            .reason("password"),
    );
    request.login_done = true;
    interaction::proceed(&state, &session, request, Some(request_id)).await
}

/// The audit event of a refused password login, with why (the page never says).
fn failure(user: Option<&users::User>, typed: &str, client_id: &str) -> AuditEvent {
    let event = AuditEvent::new(Kind::LoginFailure).client(client_id);
    match user {
        None => event.attempted_username(typed).reason("unknown_user"),
        Some(user) => {
            let reason = if user.disabled {
                "disabled"
            } else if user.password_hash.is_none() {
                "no_password"
            } else {
                "wrong_password"
            };
            event.user(&user.id).username(&user.username).reason(reason)
        }
    }
}
