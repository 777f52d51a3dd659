//! The login page: a password form (argon2id) and a button per upstream provider.
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tower_sessions::Session;

use crate::error::AppError;
use crate::oauth::interaction::session::{self, SignIn};
use crate::oauth::interaction::{self, expired, AuthRequest};
use crate::secrets::Secret;
use crate::state::AppState;
use crate::storage::{clients, users};
use crate::views::{error_page, page, LoginPage};

const BAD_CREDENTIALS: &str = "The username or password is incorrect.";

pub async fn show(
    State(state): State<AppState>,
    session: Session,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let Some(request_id) = interaction::request_id(query) else {
        return Ok(expired());
    };
    let Some(request) = session::load_pending(&session, &request_id, state.clock.now()).await?
    else {
        return Ok(expired());
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
    let client_name = clients::find(&state.db, &request.client_id)
        .await?
        .map(|c| c.name)
        .unwrap_or_default();
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
        return Ok(expired());
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
    let user = users::find_by_username(&state.db, &username).await?;
    let hash = user
        .as_ref()
        .filter(|u| !u.disabled)
        .and_then(|u| u.password_hash.clone());
    let verified = state.passwords.verify(hash, password).await;
    let user = match user {
        Some(user) if verified => user,
        _ => {
            tracing::info!(target: "security", event = "login_failed", "password login failed");
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
    request.login_done = true;
    interaction::proceed(&state, &session, request, Some(request_id)).await
}
