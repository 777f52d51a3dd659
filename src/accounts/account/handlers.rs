//! The account page's handlers: read the form, call the action's rule, record the audit
//! event, redirect back with a message.
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tower_sessions::Session;

use super::{back, bad_form, signed_in, when};
use crate::accounts::consent::describe_all;
use crate::audit::{self, AuditEvent, Kind, Target};
use crate::error::AppError;
use crate::oauth::interaction::{read_form, session};
use crate::oauth::logout::ending::{Context, Ended};
use crate::secrets::Secret;
use crate::state::AppState;
use crate::storage::{clients, consents, login_sessions, upstreams, users};
use crate::throttle::{Attempt, ClientIp};
use crate::types::Scopes;
use crate::views::{
    page, AccountPage, ApiKeyCreatedPage, ApiKeyLine, AppLine, IdentityLine, SessionLine, Tr, Ui,
};

fn ending(state: &AppState) -> Context<'_> {
    Context {
        db: &state.db,
        keys: &state.keys,
        issuer: state.settings.issuer_str().to_string(),
        allow_private_callbacks: state.settings.allow_private_callbacks,
    }
}

pub async fn show(State(state): State<AppState>, session: Session) -> Result<Response, AppError> {
    let (login, user) = match signed_in(&state, &session).await? {
        Ok(found) => found,
        Err(to_login) => return Ok(to_login),
    };
    let now = state.clock.now();
    let ui = Ui::current();
    let mut apps = Vec::new();
    for consent in consents::list_for_user(&state.db, &user.id).await? {
        let name = clients::find(&state.db, &consent.client_id)
            .await?
            .map(|c| c.name)
            .unwrap_or_else(|| consent.client_id.clone());
        let scopes = describe_all(&ui.tr, &Scopes::from_stored(&consent.scope));
        apps.push(AppLine {
            client_id: consent.client_id,
            name,
            scopes,
            granted: when(consent.updated_at),
        });
    }
    let sessions = login_sessions::active_for_user(&state.db, &user.id, now)
        .await?
        .into_iter()
        .map(|s| SessionLine {
            current: login.sid.as_deref() == Some(s.sid.as_str()),
            since: when(s.created_at),
            ip: s.ip.unwrap_or_else(|| ui.t("account-unknown-address")),
            user_agent: s
                .user_agent
                .unwrap_or_else(|| ui.t("account-unknown-browser")),
            sid: s.sid,
        })
        .collect();
    let providers = upstreams::list(&state.db).await?;
    let identities = upstreams::identities_of(&state.db, &user.id)
        .await?
        .into_iter()
        .map(|i| IdentityLine {
            provider: providers
                .iter()
                .find(|u| u.issuer == i.issuer)
                .map(crate::federation::upstream::label)
                .unwrap_or_else(|| i.issuer.clone()),
            since: when(i.created_at),
            issuer: i.issuer,
            subject: i.subject,
        })
        .collect();
    let api_keys = crate::apikeys::list(
        &state.db,
        Some(&crate::apikeys::Owner::User(user.id.clone())),
    )
    .await?
    .into_iter()
    .filter(|k| k.revoked_at.is_none() && k.expires_at.is_none_or(|e| e > now))
    .map(|k| ApiKeyLine {
        created: when(k.created_at),
        expires: k.expires_at.map(when).unwrap_or_default(),
        last_used: k.last_used_at.map(when).unwrap_or_default(),
        id: k.id,
        name: k.name,
        prefix: k.prefix,
        scope: k.scope,
    })
    .collect();
    let csrf = session::csrf_token(&session).await?;
    let flash = session::take_flash(&session).await?;
    Ok(page(
        StatusCode::OK,
        &AccountPage {
            ui,
            csrf: &csrf,
            flash,
            username: &user.username,
            email: user.email.as_deref(),
            email_verified: user.email_verified,
            name: user.name.as_deref().unwrap_or_default(),
            apps,
            sessions,
            has_password: user.password_hash.is_some(),
            identities,
            api_keys,
            lifetimes: &super::api_keys::LIFETIME_DAYS,
        },
    ))
}

/// Reads a form POST of the page: CSRF-checked, from a signed-in user.
macro_rules! form {
    ($state:expr, $session:expr, $headers:expr, $body:expr) => {{
        let params = match read_form(&$session, &$headers, &$body).await? {
            Ok(params) => params,
            Err(page) => return Ok(*page),
        };
        let (login, user) = match signed_in(&$state, &$session).await? {
            Ok(found) => found,
            Err(to_login) => return Ok(to_login),
        };
        (params, login, user)
    }};
}

pub async fn profile(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let (params, _, user) = form!(state, session, headers, body);
    let Some(typed) = params.get("name") else {
        return Ok(bad_form());
    };
    let name = match super::profile::parse_name(typed) {
        Ok(name) => name,
        Err(why) => return back(&session, Tr::current().t(why), true).await,
    };
    users::set_name(&state.db, &user.id, name.as_deref(), state.clock.now()).await?;
    audit::record(
        &state,
        AuditEvent::new(Kind::ProfileUpdated)
            .user(&user.id)
            .username(&user.username)
            .reason("name"),
    );
    back(&session, Tr::current().t("account-name-saved"), false).await
}

pub async fn remove_app(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let (params, _, user) = form!(state, session, headers, body);
    let Some(client_id) = params.get("client_id") else {
        return Ok(bad_form());
    };
    let removed =
        super::remove_app::remove_app(&state.db, &user.id, client_id, state.clock.now()).await?;
    if removed.nothing() {
        return back(&session, Tr::current().t("account-app-not-connected"), true).await;
    }
    audit::record(
        &state,
        AuditEvent::new(Kind::ConsentWithdrawn)
            .client(client_id)
            .user(&user.id)
            .username(&user.username)
            .reason("account_page")
            .target(Target::Count(removed.families_revoked)),
    );
    let name = clients::find(&state.db, client_id)
        .await?
        .map(|c| c.name)
        .unwrap_or_else(|| client_id.to_string());
    back(
        &session,
        Tr::current().t1("account-app-removed", "app", name),
        false,
    )
    .await
}

fn signed_out_message(ended: Ended) -> String {
    let tr = Tr::current();
    match ended.sessions {
        0 => tr.t("account-session-already-ended"),
        n => tr.tn("account-signed-out", "count", n as i64),
    }
}

pub async fn sign_out(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let (params, login, user) = form!(state, session, headers, body);
    let Some(sid) = params.get("sid") else {
        return Ok(bad_form());
    };
    let which = super::sessions::Which::One(sid.to_string());
    let ended =
        super::sessions::sign_out(&ending(&state), &user.id, &which, state.clock.now()).await?;
    if ended.sessions > 0 {
        audit::record(
            &state,
            AuditEvent::new(Kind::Logout)
                .user(&user.id)
                .username(&user.username)
                .reason("account_page")
                .target(Target::Sid(sid.to_string())),
        );
    }
    if login.sid.as_deref() == Some(sid) {
        // This browser's own session: the page now asks to sign in again.
        session::clear_login(&session).await?;
    }
    back(&session, signed_out_message(ended), ended.sessions == 0).await
}

pub async fn sign_out_others(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let (_, login, user) = form!(state, session, headers, body);
    let which = super::sessions::Which::AllBut(login.sid.clone());
    let ended =
        super::sessions::sign_out(&ending(&state), &user.id, &which, state.clock.now()).await?;
    audit::record(
        &state,
        AuditEvent::new(Kind::Logout)
            .user(&user.id)
            .username(&user.username)
            .reason("account_page_others")
            .target(Target::Count(ended.sessions as u64)),
    );
    let tr = Tr::current();
    let text = match ended.sessions {
        0 => tr.t("account-signed-in-nowhere-else"),
        n => tr.tn("account-signed-out-others", "count", n as i64),
    };
    back(&session, text, false).await
}

pub async fn password(
    State(state): State<AppState>,
    session: Session,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    use super::password::{check_new, Refusal};
    let (params, login, user) = form!(state, session, headers, body);
    let tr = Tr::current();
    let field = |name| Secret(params.get(name).unwrap_or_default().to_string());
    let (current, new, again) = (
        field("current_password"),
        field("new_password"),
        field("new_password_again"),
    );
    let Some(old_hash) = user.password_hash.clone() else {
        return back(&session, tr.t(Refusal::NoPassword.key()), true).await;
    };
    if let Err(refusal) = check_new(&current, &new, &again) {
        return back(&session, tr.t(refusal.key()), true).await;
    }
    // The current password is a password guess like any other: the login limits apply.
    let now = state.clock.now();
    let attempt = Attempt::login(&user.username, ip);
    let check = state.throttle.check(&attempt, now).await?;
    if let Some(wait) = check.wait {
        let text = tr.tn(
            "account-password-too-many-attempts",
            "seconds",
            wait.retry_after,
        );
        return back(&session, text, true).await;
    }
    let Ok(verified) = state
        .passwords
        .verify(Some(old_hash.clone()), current)
        .await
    else {
        return back(&session, tr.t("account-busy"), true).await;
    };
    if !verified {
        state.throttle.failed(&attempt, &check, now).await?;
        audit::record(
            &state,
            AuditEvent::new(Kind::LoginFailure)
                .user(&user.id)
                .username(&user.username)
                .reason("wrong_current_password"),
        );
        return back(&session, tr.t(Refusal::WrongCurrent.key()), true).await;
    }
    state.throttle.succeeded(&attempt, &check).await?;
    let new_hash = state
        .passwords
        .hash(new)
        .await
        .map_err(|e| AppError::Internal(format!("hashing the new password: {}", e.0)))?;
    if !users::replace_password(&state.db, &user.id, &old_hash, &new_hash, now).await? {
        return back(&session, tr.t("account-password-changed-meanwhile"), true).await;
    }
    let which = super::sessions::Which::AllBut(login.sid.clone());
    let ended = super::sessions::sign_out(&ending(&state), &user.id, &which, now).await?;
    audit::record(
        &state,
        AuditEvent::new(Kind::PasswordChanged)
            .user(&user.id)
            .username(&user.username)
            .reason("account_page")
            .target(Target::Count(ended.sessions as u64)),
    );
    let text = match ended.sessions {
        0 => tr.t("account-password-changed"),
        n => tr.tn("account-password-changed-others", "count", n as i64),
    };
    back(&session, text, false).await
}

pub async fn unlink(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let (params, _, user) = form!(state, session, headers, body);
    let (Some(issuer), Some(subject)) = (params.get("issuer"), params.get("subject")) else {
        return Ok(bad_form());
    };
    if let Err(refusal) = super::unlink::unlink(&state.db, &user.id, issuer, subject).await? {
        return back(&session, Tr::current().t(refusal.key()), true).await;
    }
    let name = upstreams::list(&state.db)
        .await?
        .into_iter()
        .find(|u| u.issuer == issuer)
        .map(|u| crate::federation::upstream::label(&u))
        .unwrap_or_else(|| issuer.to_string());
    audit::record(
        &state,
        AuditEvent::new(Kind::IdentityUnlinked)
            .user(&user.id)
            .username(&user.username)
            .reason("account_page")
            .target(Target::Upstream(name.clone())),
    );
    let text = Tr::current().t1("account-unlinked", "provider", name);
    back(&session, text, false).await
}

/// Makes a key for the signed-in user and shows it once, on a page of its own (not through
/// the session's one-time message: the session is stored, and a key is never stored in clear).
pub async fn create_api_key(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let (params, _, user) = form!(state, session, headers, body);
    let new = match super::api_keys::parse(&user.id, &params) {
        Ok(new) => new,
        Err(why) => return back(&session, Tr::current().t(why.key()), true).await,
    };
    let now = state.clock.now();
    let (row, key) = match crate::apikeys::create(&state.db, &state.keys, new, now).await {
        Ok(made) => made,
        Err(crate::apikeys::ApiKeyError::Invalid(_)) => {
            return back(&session, Tr::current().t("account-api-key-refused"), true).await
        }
        Err(crate::apikeys::ApiKeyError::Db(e)) => return Err(e.into()),
    };
    audit::record(
        &state,
        crate::apikeys::audit_event(Kind::ApiKeyCreated, &row).reason("account_page"),
    );
    Ok(page(
        StatusCode::OK,
        &ApiKeyCreatedPage {
            ui: Ui::current(),
            name: &row.name,
            key: key.expose(),
            expires: row.expires_at.map(when).unwrap_or_default(),
        },
    ))
}

/// Revokes one of the signed-in user's keys (another user's key id changes nothing).
pub async fn revoke_api_key(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let (params, _, user) = form!(state, session, headers, body);
    let Some(id) = params.get("id") else {
        return Ok(bad_form());
    };
    let now = state.clock.now();
    let mine = crate::apikeys::list(
        &state.db,
        Some(&crate::apikeys::Owner::User(user.id.clone())),
    )
    .await?
    .into_iter()
    .find(|k| k.id == id);
    let Some(key) = mine else {
        return back(&session, Tr::current().t("account-api-key-not-found"), true).await;
    };
    if crate::apikeys::revoke(&state.db, &key.id, Some(&user.id), now).await? {
        audit::record(
            &state,
            crate::apikeys::audit_event(Kind::ApiKeyRevoked, &key).reason("account_page"),
        );
    }
    back(
        &session,
        Tr::current().t1("account-api-key-revoked", "name", &key.name),
        false,
    )
    .await
}
