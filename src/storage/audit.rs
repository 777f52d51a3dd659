//! The audit log's table (see `entity::audit_events`): batched inserts, filtered reads for
//! `tessera audit list`, and the retention purge.
use entity::audit_events::{ActiveModel, Column, Entity, Model};
use sea_orm::{
    ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

pub type AuditRow = Model;

/// A row to insert; the id is the database's.
pub struct NewAuditRow {
    pub at: i64,
    pub kind: &'static str,
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub reason: Option<&'static str>,
    pub grant_type: Option<&'static str>,
    pub target: Option<String>,
}

/// Inserts `rows` in one statement per chunk (so a burst costs a few statements, not one a
/// row). Chunks stay below SQLite's and PostgreSQL's bound-parameter limits.
/// Takes the rows by reference so that a retry after a failure needs no copy made in advance.
pub async fn insert_batch(db: &impl ConnectionTrait, rows: &[NewAuditRow]) -> Result<(), DbErr> {
    for chunk in rows.chunks(500) {
        Entity::insert_many(chunk.iter().map(active))
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

fn active(row: &NewAuditRow) -> ActiveModel {
    ActiveModel {
        id: NotSet,
        at: Set(row.at),
        kind: Set(row.kind.to_string()),
        client_id: Set(row.client_id.clone()),
        user_id: Set(row.user_id.clone()),
        username: Set(row.username.clone()),
        ip: Set(row.ip.clone()),
        user_agent: Set(row.user_agent.clone()),
        request_id: Set(row.request_id.clone()),
        reason: Set(row.reason.map(str::to_string)),
        grant_type: Set(row.grant_type.map(str::to_string)),
        target: Set(row.target.clone()),
    }
}

/// What `tessera audit list` asks for; `user` matches the user id or the username.
#[derive(Default)]
pub struct Filter {
    pub user: Option<String>,
    pub client_id: Option<String>,
    pub since: Option<i64>,
    pub limit: u64,
}

/// The newest events matching `filter`, newest first.
pub async fn list(db: &impl ConnectionTrait, filter: &Filter) -> Result<Vec<AuditRow>, DbErr> {
    let mut query = Entity::find();
    if let Some(user) = &filter.user {
        query = query.filter(
            sea_orm::Condition::any()
                .add(Column::UserId.eq(user.as_str()))
                .add(Column::Username.eq(user.as_str())),
        );
    }
    if let Some(client_id) = &filter.client_id {
        query = query.filter(Column::ClientId.eq(client_id.as_str()));
    }
    if let Some(since) = filter.since {
        query = query.filter(Column::At.gte(since));
    }
    query
        .order_by_desc(Column::At)
        .order_by_desc(Column::Id)
        .limit(filter.limit)
        .all(db)
        .await
}

/// Deletes events older than `before` (one indexed range delete); returns how many.
pub async fn purge_before(db: &impl ConnectionTrait, before: i64) -> Result<u64, DbErr> {
    Ok(Entity::delete_many()
        .filter(Column::At.lt(before))
        .exec(db)
        .await?
        .rows_affected)
}
