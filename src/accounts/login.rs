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
use crate::views::{app_page, AppCard, LoginPage, Tr, Ui};

/// How long a login refused for a full hashing queue is asked to wait.
const BUSY_RETRY_AFTER: u32 = 2;

/// The lockout message: how long to wait, never which counter (account or address) locked.
fn too_many_attempts(seconds: i64) -> String {
    Tr::current().tn("login-too-many-attempts", "seconds", seconds)
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
    crate::views::i18n::prefer(request.ui_locales.as_deref());
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
    let client = clients::find(&state.db, &request.client_id).await?;
    let app = AppCard {
        name: client.as_ref().map(|c| c.name.as_str()).unwrap_or_default(),
        logo: client.as_ref().and_then(|c| c.logo_uri.as_deref()),
    };
    let csrf = session::csrf_token(session).await?;
    let upstreams = crate::federation::login_buttons(&state.db, request_id).await?;
    let ui = Ui::current();
    // The account page's own sign-in has no app: it continues to the account.
    let lead = if request.for_account {
        ui.t("account-login-lead")
    } else if app.name.is_empty() {
        String::new()
    } else {
        ui.t1("login-to-continue", "app", app.name)
    };
    let login = LoginPage {
        ui,
        app,
        lead,
        request_id,
        csrf: &csrf,
        username,
        error: error.map(str::to_string),
        password_login: state.settings.password_login,
        upstreams,
        reset_url: state
            .settings
            .password_reset_url
            .as_ref()
            .map(|u| u.as_str()),
    };
    Ok(app_page(status, &login.app, &login))
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
    crate::views::i18n::prefer(request.ui_locales.as_deref());
    if !state.settings.password_login {
        return Ok(crate::views::ErrorPage::keys(
            "error-password-login-off-title",
            "error-password-login-off",
        )
        .back(interaction::login_url(&request_id), "error-back-to-sign-in")
        .respond(StatusCode::FORBIDDEN));
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
        let page = crate::views::ErrorPage::keys("error-busy-title", "error-busy")
            .back(interaction::login_url(&request_id), "error-try-again")
            .respond(StatusCode::SERVICE_UNAVAILABLE);
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
                Some(&Tr::current().t("login-bad-credentials")),
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
