//! The audit log's table (see `entity::audit_events`): batched inserts, filtered reads for
//! `tessera audit list`, and the retention purge.
use entity::audit_events::{Column, Entity, Model};
use std::sync::OnceLock;

use sea_orm::sqlx;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

pub type AuditRow = Model;

/// A row to insert, borrowed from the event it records; the id is the database's.
#[derive(Debug)]
pub struct NewAuditRow<'a> {
    pub at: i64,
    pub kind: &'static str,
    pub client_id: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub username: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub reason: Option<&'static str>,
    pub grant_type: Option<&'static str>,
    /// Stored as prefix and id joined: `("jti:", "abc")` is `jti:abc`.
    pub target: Option<(&'static str, &'a str)>,
}

/// The inserted columns, in the order `insert_with` binds them.
const COLUMNS: [&str; 11] = [
    "at",
    "kind",
    "client_id",
    "user_id",
    "username",
    "ip",
    "user_agent",
    "request_id",
    "reason",
    "grant_type",
    "target",
];
/// Rows per statement. A batch is inserted as statements of these sizes only (largest first),
/// so that the database sees four statement texts in all: each is parsed once and then
/// reused from the connection's statement cache. A statement of any other size would be
/// parsed anew for every batch, which cost the token path more than the rows themselves
/// (one row per token issued). The largest binds 2,816 values, far below SQLite's (32,766)
/// and PostgreSQL's (65,535) limits.
const STATEMENT_ROWS: [usize; 4] = [256, 32, 4, 1];

/// Inserts `rows` in one transaction, as statements of [`STATEMENT_ROWS`] rows (a burst
/// costs a few statements and one commit, not one of each a row). The statement is written
/// here rather than built with sea-query's `insert_many`, which builds an expression tree per
/// value, and its values are bound straight from the rows through the pool's sqlx driver:
/// through `Statement` each text would be copied three times (into a `Value`, again by
/// sea-orm at execution, then into the driver's argument) for every token issued. Takes the
/// rows by reference so that a retry after a failure needs no copy made in advance.
///
/// Values are bound rather than sent as one JSON text per statement for the database to
/// unpack (`jsonb_each` and `->>`, tried): SQLite spent four times the instructions extracting
/// them that it spends on binding (`bench/instructions.sh`, BENCHMARKS.md stop 17).
pub async fn insert_batch(db: &DatabaseConnection, rows: &[NewAuditRow<'_>]) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    let result = match db.get_database_backend() {
        DbBackend::Postgres => {
            let sqls = insert_sqls(DbBackend::Postgres);
            insert_with(db.get_postgres_connection_pool(), sqls, rows).await
        }
        DbBackend::Sqlite => {
            let sqls = insert_sqls(DbBackend::Sqlite);
            insert_with(db.get_sqlite_connection_pool(), sqls, rows).await
        }
        other => return Err(DbErr::Custom(format!("audit rows on {other:?}"))),
    };
    result.map_err(|e| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e.into())))
}

async fn insert_with<DB>(
    pool: &sqlx::Pool<DB>,
    sqls: &'static [String],
    rows: &[NewAuditRow<'_>],
) -> Result<(), sqlx::Error>
where
    DB: sqlx::Database,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut txn = pool.begin().await?;
    let mut rest = rows;
    for (&size, sql) in STATEMENT_ROWS.iter().zip(sqls) {
        while rest.len() >= size {
            let (chunk, tail) = rest.split_at(size);
            let mut query = sqlx::query::<DB>(sqlx::AssertSqlSafe(sql.as_str()));
            for row in chunk {
                query = query
                    .bind(row.at)
                    .bind(row.kind)
                    .bind(row.client_id)
                    .bind(row.user_id)
                    .bind(row.username)
                    .bind(row.ip)
                    .bind(row.user_agent)
                    .bind(row.request_id)
                    .bind(row.reason)
                    .bind(row.grant_type)
                    // Owned, so that the driver takes it without another copy.
                    .bind(row.target.map(|(prefix, id)| [prefix, id].concat()));
            }
            query.execute(&mut *txn).await?;
            rest = tail;
        }
    }
    txn.commit().await
}

/// The insert statement of each of [`STATEMENT_ROWS`], in that order, with the backend's
/// placeholders; built once per backend.
fn insert_sqls(backend: DbBackend) -> &'static [String] {
    static SQLITE: OnceLock<Vec<String>> = OnceLock::new();
    static POSTGRES: OnceLock<Vec<String>> = OnceLock::new();
    match backend {
        DbBackend::Postgres => &POSTGRES,
        _ => &SQLITE,
    }
    .get_or_init(|| {
        STATEMENT_ROWS
            .iter()
            .map(|&rows| build_insert_sql(backend, rows))
            .collect()
    })
}

/// `INSERT INTO audit_events (...) VALUES (...), ...` for `rows` rows, with the backend's
/// placeholders (`?` for SQLite, `$n` for PostgreSQL).
fn build_insert_sql(backend: DbBackend, rows: usize) -> String {
    let row = format!("({})", vec!["?"; COLUMNS.len()].join(", "));
    let sql = format!(
        "INSERT INTO audit_events ({}) VALUES {}",
        COLUMNS.join(", "),
        vec![row; rows].join(", ")
    );
    match backend {
        DbBackend::Postgres => super::numbered_placeholders(&sql),
        _ => sql,
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_insert_names_every_column_of_the_entity_but_the_id() {
        use sea_orm::Iterable;
        let entity: Vec<String> = Column::iter()
            .map(|c| sea_orm::IdenStatic::as_str(&c).to_string())
            .filter(|c| c != "id")
            .collect();
        assert_eq!(entity, COLUMNS);
    }

    #[test]
    fn placeholders_follow_the_backend() {
        let sqlite = build_insert_sql(DbBackend::Sqlite, 2);
        assert_eq!(sqlite.matches('?').count(), 22);
        let postgres = build_insert_sql(DbBackend::Postgres, 2);
        assert!(postgres.ends_with("$21, $22)"), "{postgres}");
    }
}
