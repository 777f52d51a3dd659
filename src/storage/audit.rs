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
#[derive(Clone, Copy, Debug, Default)]
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

/// The inserted columns, in the order of a row's JSON array.
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
/// Rows per statement, at most (a statement's JSON text is about 150 bytes a row).
const STATEMENT_ROWS: usize = 256;

/// Inserts `rows` in one transaction. Each statement takes up to [`STATEMENT_ROWS`] rows as
/// one bound JSON text (an array of row arrays) that the database unpacks itself
/// (`json_each` on SQLite, `json_array_elements` on PostgreSQL): one statement text, parsed
/// once per connection, and one bound value per statement. Binding eleven values a row cost
/// the writer two allocations per text value on SQLite (the driver copies each into an
/// `Arc<String>`) for every token issued, and sea-query's `insert_many` builds an expression
/// tree per value. Takes the rows by reference so that a retry after a failure needs no copy
/// made in advance.
pub async fn insert_batch(db: &DatabaseConnection, rows: &[NewAuditRow<'_>]) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    let result = match db.get_database_backend() {
        DbBackend::Postgres => {
            insert_with(
                db.get_postgres_connection_pool(),
                insert_sql(DbBackend::Postgres),
                rows,
            )
            .await
        }
        DbBackend::Sqlite => {
            insert_with(
                db.get_sqlite_connection_pool(),
                insert_sql(DbBackend::Sqlite),
                rows,
            )
            .await
        }
        other => return Err(DbErr::Custom(format!("audit rows on {other:?}"))),
    };
    result.map_err(|e| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e.into())))
}

async fn insert_with<DB>(
    pool: &sqlx::Pool<DB>,
    sql: &'static str,
    rows: &[NewAuditRow<'_>],
) -> Result<(), sqlx::Error>
where
    DB: sqlx::Database,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut txn = pool.begin().await?;
    for chunk in rows.chunks(STATEMENT_ROWS) {
        let json = rows_json(chunk).map_err(|e| sqlx::Error::Encode(e.into()))?;
        sqlx::query::<DB>(sqlx::AssertSqlSafe(sql))
            .bind(json)
            .execute(&mut *txn)
            .await?;
    }
    txn.commit().await
}

/// `rows` as a JSON array of arrays, each in the order of [`COLUMNS`].
fn rows_json(rows: &[NewAuditRow<'_>]) -> serde_json::Result<String> {
    use serde::Serializer;
    let mut json = Vec::with_capacity(rows.len() * 160);
    serde_json::Serializer::new(&mut json).collect_seq(rows.iter().map(row_values))?;
    // serde_json writes only valid UTF-8.
    String::from_utf8(json).map_err(serde::ser::Error::custom)
}

type RowValues<'a> = (
    i64,
    &'static str,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'static str>,
    Option<&'static str>,
    Option<Joined<'a>>,
);

fn row_values<'a>(row: &NewAuditRow<'a>) -> RowValues<'a> {
    (
        row.at,
        row.kind,
        row.client_id,
        row.user_id,
        row.username,
        row.ip,
        row.user_agent,
        row.request_id,
        row.reason,
        row.grant_type,
        row.target.map(|(prefix, id)| Joined(prefix, id)),
    )
}

/// Two texts serialized as one JSON string, without joining them in memory first.
struct Joined<'a>(&'static str, &'a str);

impl serde::Serialize for Joined<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{}{}", self.0, self.1))
    }
}

/// The insert statement of a JSON array of rows, for the backend; built once per backend.
fn insert_sql(backend: DbBackend) -> &'static str {
    static SQLITE: OnceLock<String> = OnceLock::new();
    static POSTGRES: OnceLock<String> = OnceLock::new();
    match backend {
        DbBackend::Postgres => &POSTGRES,
        _ => &SQLITE,
    }
    .get_or_init(|| build_insert_sql(backend))
}

/// `INSERT INTO audit_events (...) SELECT ...` of the rows of one bound JSON array, in the
/// array's order (so ids follow it).
fn build_insert_sql(backend: DbBackend) -> String {
    let columns = COLUMNS.join(", ");
    let values: Vec<String> = (0..COLUMNS.len())
        .map(|i| match (backend, i) {
            (DbBackend::Postgres, 0) => "(e.row ->> 0)::bigint".to_string(),
            (DbBackend::Postgres, i) => format!("e.row ->> {i}"),
            (_, i) => format!("value ->> {i}"),
        })
        .collect();
    let values = values.join(", ");
    match backend {
        DbBackend::Postgres => format!(
            "INSERT INTO audit_events ({columns}) SELECT {values} \
             FROM json_array_elements($1::json) WITH ORDINALITY AS e(row, n) ORDER BY e.n"
        ),
        _ => format!(
            "INSERT INTO audit_events ({columns}) SELECT {values} FROM json_each(?) ORDER BY key"
        ),
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
    fn a_row_is_an_array_in_column_order() {
        let row = NewAuditRow {
            at: 7,
            kind: "token_issued",
            client_id: Some("c\"1"),
            target: Some(("jti:", "abc")),
            ..NewAuditRow::default()
        };
        let json = rows_json(&[row]).unwrap();
        assert_eq!(
            json,
            r#"[[7,"token_issued","c\"1",null,null,null,null,null,null,null,"jti:abc"]]"#
        );
        let values: Vec<Vec<serde_json::Value>> = serde_json::from_str(&json).unwrap();
        assert_eq!(values[0].len(), COLUMNS.len());
    }

    #[test]
    fn placeholders_follow_the_backend() {
        assert!(build_insert_sql(DbBackend::Sqlite).contains("json_each(?)"));
        let postgres = build_insert_sql(DbBackend::Postgres);
        assert!(
            postgres.contains("json_array_elements($1::json)"),
            "{postgres}"
        );
        assert!(postgres.contains("e.row ->> 10"), "{postgres}");
    }
}
