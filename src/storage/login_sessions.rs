//! Login sessions (see `entity::login_sessions`): started at sign-in, ended by logout.
use entity::login_sessions::{ActiveModel, Column, Entity, Model};
use sea_orm::sea_query::{DynIden, Expr, ExprTrait, IntoIden};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

pub type LoginSession = Model;

pub struct NewLoginSession {
    pub sid: String,
    pub user_id: String,
    pub auth_time: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub expires_at: i64,
}

pub async fn start(db: &impl ConnectionTrait, new: NewLoginSession, now: i64) -> Result<(), DbErr> {
    let model = ActiveModel {
        sid: Set(new.sid),
        user_id: Set(new.user_id),
        auth_time: Set(new.auth_time),
        created_at: Set(now),
        ip: Set(new.ip),
        user_agent: Set(new.user_agent),
        ended_at: Set(None),
        expires_at: Set(new.expires_at),
    };
    Entity::insert(model).exec(db).await.map(|_| ())
}

/// When a login session counts: neither logged out nor expired at `now`. On `table`: the
/// table itself, or its alias where a query joins it (`users::find_with_consent`).
pub fn live(table: DynIden, now: i64) -> Condition {
    Condition::all()
        .add(Expr::col((table.clone(), Column::EndedAt)).is_null())
        .add(Expr::col((table, Column::ExpiresAt)).gt(now))
}

/// [`live`], for the session `sid`.
pub fn counts(table: DynIden, sid: &str, now: i64) -> Condition {
    live(table.clone(), now).add(Expr::col((table, Column::Sid)).eq(sid))
}

/// Whether `sid` is a session that was neither logged out nor has expired.
pub async fn is_active(db: &impl ConnectionTrait, sid: &str, now: i64) -> Result<bool, DbErr> {
    Ok(Entity::find()
        .filter(counts(Entity.into_iden(), sid, now))
        .one(db)
        .await?
        .is_some())
}

/// Ends a session once: true only for the call that ended it (a conditional update, so two
/// logouts racing end it once and notify the apps once).
pub async fn end(db: &impl ConnectionTrait, sid: &str, now: i64) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::EndedAt, Expr::value(now))
        .filter(Column::Sid.eq(sid))
        .filter(Column::EndedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// The sessions of `user_id` that still count, newest first.
pub async fn active_for_user(
    db: &impl ConnectionTrait,
    user_id: &str,
    now: i64,
) -> Result<Vec<LoginSession>, DbErr> {
    Entity::find()
        .filter(Column::UserId.eq(user_id))
        .filter(live(Entity.into_iden(), now))
        .order_by_desc(Column::CreatedAt)
        .limit(1000)
        .all(db)
        .await
}

/// Deletes sessions ended or expired more than a day ago.
pub async fn purge_expired(db: &impl ConnectionTrait, now: i64) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(
            Condition::any()
                .add(Column::ExpiresAt.lt(now - 86_400))
                .add(Column::EndedAt.lt(now - 86_400)),
        )
        .exec(db)
        .await
        .map(|_| ())
}
