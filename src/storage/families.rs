//! Token families (one per authorization) with the generation of their rotating refresh
//! token; revoked access-token identifiers.
use entity::token_families;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

pub type Family = token_families::Model;

/// Whether the family's current refresh token may be used at `now`.
pub fn refresh_live(family: &Family, now: i64) -> bool {
    family.revoked_at.is_none() && now < family.expires_at && now < family.idle_expires_at
}

pub struct NewFamily {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub auth_time: i64,
    pub amr: String,
    pub idp: Option<String>,
    pub expires_at: i64,
    pub idle_expires_at: i64,
    /// The login session it was issued in.
    pub sid: Option<String>,
    /// The organization its tokens speak for.
    pub organization_id: Option<String>,
}

/// Stores a new family; its refresh token is generation 1.
pub async fn insert_family(db: &impl ConnectionTrait, f: NewFamily, now: i64) -> Result<(), DbErr> {
    let model = token_families::ActiveModel {
        id: Set(f.id),
        client_id: Set(f.client_id),
        user_id: Set(f.user_id),
        scope: Set(f.scope),
        auth_time: Set(f.auth_time),
        amr: Set(f.amr),
        idp: Set(f.idp),
        created_at: Set(now),
        expires_at: Set(f.expires_at),
        revoked_at: Set(None),
        generation: Set(1),
        rotated_at: Set(None),
        idle_expires_at: Set(f.idle_expires_at),
        sid: Set(f.sid),
        organization_id: Set(f.organization_id),
    };
    token_families::Entity::insert(model)
        .exec(db)
        .await
        .map(|_| ())
}

pub async fn find_family(db: &impl ConnectionTrait, id: &str) -> Result<Option<Family>, DbErr> {
    token_families::Entity::find_by_id(id.to_string())
        .one(db)
        .await
}

/// Deletes a family that never issued anything (see `codes::redeem`).
pub async fn delete_family(db: &impl ConnectionTrait, id: &str) -> Result<(), DbErr> {
    token_families::Entity::delete_by_id(id.to_string())
        .exec(db)
        .await
        .map(|_| ())
}

/// Revokes a family: every refresh token in it and every access token carrying its id.
pub async fn revoke_family(db: &impl ConnectionTrait, id: &str, now: i64) -> Result<(), DbErr> {
    token_families::Entity::update_many()
        .col_expr(token_families::Column::RevokedAt, Expr::value(now))
        .filter(token_families::Column::Id.eq(id))
        .filter(token_families::Column::RevokedAt.is_null())
        .exec(db)
        .await
        .map(|_| ())
}

pub async fn revoke_for_client(
    db: &impl ConnectionTrait,
    client_id: &str,
    now: i64,
) -> Result<(), DbErr> {
    token_families::Entity::update_many()
        .col_expr(token_families::Column::RevokedAt, Expr::value(now))
        .filter(token_families::Column::ClientId.eq(client_id))
        .filter(token_families::Column::RevokedAt.is_null())
        .exec(db)
        .await
        .map(|_| ())
}

/// Revokes the live families that speak for an organization (all of them, or only
/// `user_id`'s: they left it); returns how many.
pub async fn revoke_for_organization(
    db: &impl ConnectionTrait,
    organization_id: &str,
    user_id: Option<&str>,
    now: i64,
) -> Result<u64, DbErr> {
    let mut update = token_families::Entity::update_many()
        .col_expr(token_families::Column::RevokedAt, Expr::value(now))
        .filter(token_families::Column::OrganizationId.eq(organization_id))
        .filter(token_families::Column::RevokedAt.is_null());
    if let Some(user_id) = user_id {
        update = update.filter(token_families::Column::UserId.eq(user_id));
    }
    Ok(update.exec(db).await?.rows_affected)
}

/// Revokes a client's live families that speak for no organization or for another than
/// `organization_id` (the client was just restricted to it).
pub async fn revoke_for_client_outside(
    db: &impl ConnectionTrait,
    client_id: &str,
    organization_id: &str,
    now: i64,
) -> Result<u64, DbErr> {
    use sea_orm::Condition;
    Ok(token_families::Entity::update_many()
        .col_expr(token_families::Column::RevokedAt, Expr::value(now))
        .filter(token_families::Column::ClientId.eq(client_id))
        .filter(token_families::Column::RevokedAt.is_null())
        .filter(
            Condition::any()
                .add(token_families::Column::OrganizationId.is_null())
                .add(token_families::Column::OrganizationId.ne(organization_id)),
        )
        .exec(db)
        .await?
        .rows_affected)
}

/// Revokes every live family of `user_id` at `client_id` (a withdrawn consent); returns
/// how many.
pub async fn revoke_for_user_at_client(
    db: &impl ConnectionTrait,
    user_id: &str,
    client_id: &str,
    now: i64,
) -> Result<u64, DbErr> {
    Ok(token_families::Entity::update_many()
        .col_expr(token_families::Column::RevokedAt, Expr::value(now))
        .filter(token_families::Column::UserId.eq(user_id))
        .filter(token_families::Column::ClientId.eq(client_id))
        .filter(token_families::Column::RevokedAt.is_null())
        .exec(db)
        .await?
        .rows_affected)
}

pub async fn revoke_for_user(
    db: &impl ConnectionTrait,
    user_id: &str,
    now: i64,
) -> Result<(), DbErr> {
    token_families::Entity::update_many()
        .col_expr(token_families::Column::RevokedAt, Expr::value(now))
        .filter(token_families::Column::UserId.eq(user_id))
        .filter(token_families::Column::RevokedAt.is_null())
        .exec(db)
        .await
        .map(|_| ())
}

/// Rotates the family's refresh token from `generation` to the next, if that is the live
/// one, the family belongs to `client_id`, is neither revoked nor expired, and its user is
/// not disabled — all in one conditional update, so among concurrent rotations of one token
/// (on any number of instances) exactly one gets the family back.
///
/// The statement is written out rather than built with sea-query: it runs once a refresh,
/// and building it (an expression tree of nine conditions, rendered to text and dropped
/// again) cost 9 % of the instructions of a whole refresh grant (`bench/instructions.sh
/// --scenario refresh`). The text is the same every time, so the driver prepares it once a
/// connection.
pub async fn rotate(
    db: &impl ConnectionTrait,
    family_id: &str,
    generation: i64,
    client_id: &str,
    now: i64,
    idle_expires_at: i64,
) -> Result<Option<Family>, DbErr> {
    use sea_orm::{FromQueryResult, Statement};
    let backend = db.get_database_backend();
    let values = [
        (generation + 1).into(),
        now.into(),
        idle_expires_at.into(),
        family_id.into(),
        generation.into(),
        client_id.into(),
        now.into(),
        now.into(),
    ];
    let statement = Statement::from_sql_and_values(backend, rotate_sql(backend), values);
    let mut rows = db.query_all_raw(statement).await?;
    rows.pop()
        .map(|row| Family::from_query_result(&row, ""))
        .transpose()
}

/// What else a family must be to rotate, after its generation and client: neither revoked
/// nor expired at the two `now` placeholders, its user existing and not disabled. Shared by
/// [`rotate`] and the batched statement (`storage::rotations`). The user is looked up by key,
/// once a family: an `IN (SELECT …)` list would read every user on SQLite.
pub(crate) const ROTATABLE: &str = "\"revoked_at\" IS NULL \
    AND \"expires_at\" > ? AND \"idle_expires_at\" > ? \
    AND EXISTS (SELECT 1 FROM \"users\" WHERE \"users\".\"id\" = \"token_families\".\"user_id\" \
    AND \"users\".\"disabled\" = FALSE)";

/// [`rotate`]'s statement with the backend's placeholders (`?`, or `$1`… for PostgreSQL).
fn rotate_sql(backend: sea_orm::DbBackend) -> &'static str {
    use std::sync::OnceLock;
    const SQL: &str = "UPDATE \"token_families\" \
        SET \"generation\" = ?, \"rotated_at\" = ?, \"idle_expires_at\" = ? \
        WHERE \"id\" = ? AND \"generation\" = ? AND \"client_id\" = ? AND ";
    static SQLITE: OnceLock<String> = OnceLock::new();
    static POSTGRES: OnceLock<String> = OnceLock::new();
    let sqlite = SQLITE.get_or_init(|| format!("{SQL}{ROTATABLE} RETURNING *"));
    match backend {
        sea_orm::DbBackend::Postgres => {
            POSTGRES.get_or_init(|| super::numbered_placeholders(sqlite))
        }
        _ => sqlite,
    }
}

/// Whether an access token's family (if it has one) is still live.
pub async fn is_family_live(db: &impl ConnectionTrait, family_id: &str) -> Result<bool, DbErr> {
    Ok(find_family(db, family_id)
        .await?
        .map(|f| f.revoked_at.is_none())
        .unwrap_or(false))
}

/// Deletes rows no token check can need any more.
pub async fn purge_expired(db: &impl ConnectionTrait, now: i64) -> Result<(), DbErr> {
    // Access tokens outlive their family's refresh token by at most their lifetime, far
    // less than a day; after that the family answers no check.
    token_families::Entity::delete_many()
        .filter(token_families::Column::ExpiresAt.lt(now - 86_400))
        .exec(db)
        .await?;
    Ok(())
}

/// Logout (OIDC RP-Initiated Logout): revokes the families issued in login session `sid`,
/// except those granted `offline_access`, which outlive the session by design. Returns how
/// many it revoked.
pub async fn revoke_for_session(
    db: &impl ConnectionTrait,
    sid: &str,
    now: i64,
) -> Result<u64, DbErr> {
    let bound: Vec<String> = token_families::Entity::find()
        .filter(token_families::Column::Sid.eq(sid))
        .filter(token_families::Column::RevokedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .filter(|f| !f.scope.split(' ').any(|s| s == "offline_access"))
        .map(|f| f.id)
        .collect();
    if bound.is_empty() {
        return Ok(0);
    }
    Ok(token_families::Entity::update_many()
        .col_expr(token_families::Column::RevokedAt, Expr::value(now))
        .filter(token_families::Column::Id.is_in(bound))
        .filter(token_families::Column::RevokedAt.is_null())
        .exec(db)
        .await?
        .rows_affected)
}

/// The clients that received tokens in login session `sid` (the apps to notify of its end).
pub async fn clients_in_session(
    db: &impl ConnectionTrait,
    sid: &str,
) -> Result<Vec<String>, DbErr> {
    let mut clients: Vec<String> = token_families::Entity::find()
        .filter(token_families::Column::Sid.eq(sid))
        .all(db)
        .await?
        .into_iter()
        .map(|f| f.client_id)
        .collect();
    clients.sort();
    clients.dedup();
    Ok(clients)
}
