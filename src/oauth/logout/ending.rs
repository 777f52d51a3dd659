//! Ending login sessions: what RP-initiated logout, `tessera user sign-out` (and later the
//! account page) share. Ending a session revokes the token families issued in it (except
//! `offline_access` ones) and tells every app that took part and registered a
//! `backchannel_logout_uri`, through the outbox.
use crate::error::AppError;
use crate::jose::keys::Keys;
use crate::oauth::token_minting::logout_token;
use crate::storage::{clients, families, login_sessions, logout_deliveries, Db};

/// What a logout needs, without the HTTP layer (the CLI has no `AppState`).
pub struct Context<'a> {
    pub db: &'a Db,
    pub keys: &'a Keys,
    pub issuer: String,
    pub allow_private_callbacks: bool,
}

/// What ending sessions did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Ended {
    pub sessions: usize,
    pub families_revoked: u64,
    /// Logout tokens written to the outbox.
    pub notifications: usize,
    /// Of those, acknowledged before this call returned.
    pub delivered: usize,
}

impl Ended {
    pub fn add(&mut self, other: Ended) {
        self.sessions += other.sessions;
        self.families_revoked += other.families_revoked;
        self.notifications += other.notifications;
        self.delivered += other.delivered;
    }
}

/// Ends login session `sid` of `user_id` (once, even if two logouts race) and delivers its
/// back-channel logouts, waiting for them at most about two seconds.
pub async fn end_session(
    ctx: &Context<'_>,
    user_id: &str,
    sid: &str,
    now: i64,
) -> Result<Ended, AppError> {
    let (ended, ids) = end_one(ctx, user_id, sid, now).await?;
    Ok(deliver(ctx, ended, ids, now).await)
}

/// Ends every login session of `user_id`.
pub async fn end_all_sessions(
    ctx: &Context<'_>,
    user_id: &str,
    now: i64,
) -> Result<Ended, AppError> {
    let mut total = Ended::default();
    let mut all_ids = Vec::new();
    for session in login_sessions::active_for_user(ctx.db, user_id, now).await? {
        let (ended, ids) = end_one(ctx, user_id, &session.sid, now).await?;
        total.add(ended);
        all_ids.extend(ids);
    }
    Ok(deliver(ctx, total, all_ids, now).await)
}

async fn end_one(
    ctx: &Context<'_>,
    user_id: &str,
    sid: &str,
    now: i64,
) -> Result<(Ended, Vec<String>), AppError> {
    if !login_sessions::end(ctx.db, sid, now).await? {
        // Already ended (elsewhere): its tokens and notifications were handled then.
        return Ok((Ended::default(), Vec::new()));
    }
    let families_revoked = families::revoke_for_session(ctx.db, sid, now).await?;
    let mut ids = Vec::new();
    for client_id in families::clients_in_session(ctx.db, sid).await? {
        let Some(client) = clients::find(ctx.db, &client_id).await? else {
            continue;
        };
        let Some(uri) = &client.backchannel_logout_uri else {
            continue;
        };
        let token = logout_token(
            ctx.keys,
            &ctx.issuer,
            &client.client_id,
            client.id_token_alg,
            user_id,
            Some(sid),
            now,
        )?;
        let id = crate::secrets::random_token(16);
        logout_deliveries::insert(
            ctx.db,
            &id,
            &client.client_id,
            uri,
            &token,
            now,
            now + super::backchannel::RETRY_FOR_SECONDS,
        )
        .await?;
        ids.push(id);
    }
    tracing::info!(target: "security", event = "logout", user = %user_id, families_revoked, notifications = ids.len(), "login session ended");
    let ended = Ended {
        sessions: 1,
        families_revoked,
        notifications: ids.len(),
        delivered: 0,
    };
    Ok((ended, ids))
}

/// Sends the new deliveries now, waiting at most about two seconds in all; what is not
/// acknowledged by then stays in the outbox for the background worker.
async fn deliver(ctx: &Context<'_>, mut ended: Ended, ids: Vec<String>, now: i64) -> Ended {
    if ids.is_empty() {
        return ended;
    }
    let http = match super::backchannel::http_client(ctx.allow_private_callbacks) {
        Ok(http) => http,
        Err(e) => {
            tracing::warn!(error = %e, "cannot build the back-channel HTTP client; deliveries wait in the outbox");
            return ended;
        }
    };
    let attempt =
        super::backchannel::deliver_now(ctx.db, &http, ctx.allow_private_callbacks, &ids, now);
    let limit = super::backchannel::ATTEMPT_TIMEOUT + std::time::Duration::from_millis(200);
    if let Ok(delivered) = tokio::time::timeout(limit, attempt).await {
        ended.delivered = delivered;
    }
    ended
}
