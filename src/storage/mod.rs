//! Storage over SeaORM, one module per aggregate; the only users of `entity::`. Rules that
//! must hold across instances (single-use codes, refresh rotation) are enforced here by
//! conditional updates: the database picks the one winner.
pub mod api_keys;
pub mod assertions;
pub mod audit;
pub mod client_cache;
pub mod clients;
pub mod codes;
pub mod consents;
pub mod families;
pub mod login_sessions;
pub mod logout_deliveries;
pub mod opening;
pub mod organizations;
pub mod registration_tokens;
pub mod resource_cache;
pub mod resources;
pub mod revocations;
pub mod roles;
pub mod rotations;
pub mod server_keys;
pub mod sessions;
pub mod signing_keys;
pub mod throttle;
pub mod upstreams;
pub mod users;
pub mod versions;

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

pub use sea_orm::DatabaseConnection as Db;

/// How long a request waits for a database connection before it is answered 503: long enough
/// for a burst to queue, short enough that a client never hangs on an unreachable database.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// True when `error` says the database is unreachable or refusing work for now (the pool
/// timed out, the connection broke, PostgreSQL is shutting down or out of connections,
/// SQLite is locked), rather than that the statement or data is wrong. Such a request is
/// answered 503 and may be retried; the transaction it ran in was rolled back.
pub fn is_unavailable(error: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    use sea_orm::RuntimeErr;
    let sqlx = match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        _ => return false,
    };
    match sqlx.as_ref() {
        Sqlx::Io(_)
        | Sqlx::Tls(_)
        | Sqlx::Protocol(_)
        | Sqlx::PoolTimedOut
        | Sqlx::PoolClosed
        | Sqlx::WorkerCrashed => true,
        Sqlx::Database(e) => {
            let code = e.code().unwrap_or_default();
            // PostgreSQL classes 08 (connection exception), 53 (insufficient resources),
            // 57P01-57P03 (shutdown, cannot connect now); SQLite 5/6 (busy, locked).
            code.starts_with("08")
                || code.starts_with("53")
                || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "5" | "6")
        }
        _ => false,
    }
}

/// Opens the database. A SQLite file is created if missing and runs in WAL mode with
/// `synchronous=NORMAL` (durable across process crashes, fast commits) and a busy timeout so
/// that concurrent writers queue instead of failing.
pub async fn connect(url: &str, pool_size: Option<u32>) -> Result<DatabaseConnection, DbErr> {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(2);
    let is_sqlite = url.starts_with("sqlite:");
    let url = if is_sqlite && !url.contains("mode=") && !url.contains(":memory:") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}mode=rwc")
    } else {
        url.to_string()
    };
    let mut options = ConnectOptions::new(url);
    // Four connections a core: enough to keep the cores busy while others wait on I/O. More
    // only adds contention — for PostgreSQL every connection is a server process on the same
    // cores (measured on 2 cores: 16 connections did no better than 8 in any scenario).
    let default_pool = (cores * 4).max(8);
    options
        .max_connections(pool_size.unwrap_or(default_pool))
        .min_connections(1)
        .connect_timeout(ACQUIRE_TIMEOUT)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .sqlx_logging(false);
    options.map_sqlx_sqlite_opts(|opts| {
        use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
        opts.journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .create_if_missing(true)
            // Deleted and overwritten rows are zeroed in their pages, so a key replaced by its
            // sealed form leaves no clear copy in the file (`scrub` empties the WAL).
            .pragma("secure_delete", "FAST")
    });
    Database::connect(options).await
}

/// Applies pending migrations; returns the names of those that were pending, oldest first.
pub async fn migrate(db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    let pending = Migrator::get_pending_migrations(db)
        .await?
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    Migrator::up(db, None).await?;
    Ok(pending)
}

/// Removes old versions of the key tables' rows from the database files, after clear or
/// superseded key material was replaced (an upgrade sealing clear rows, a master-key
/// rotation, a retired key erased): on SQLite the WAL, which keeps old page images, is
/// checkpointed and truncated (rows in the database pages are zeroed by `secure_delete`); on
/// PostgreSQL the three small tables are rewritten, leaving no dead tuples. Best effort: a
/// busy SQLite reader may keep part of the WAL until the next checkpoint.
pub async fn scrub(db: &DatabaseConnection) -> Result<(), DbErr> {
    use sea_orm::ConnectionTrait;
    let sql = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Sqlite => "PRAGMA wal_checkpoint(TRUNCATE)",
        sea_orm::DatabaseBackend::Postgres => "VACUUM FULL server_keys, signing_keys, upstreams",
        _ => return Ok(()),
    };
    db.execute_unprepared(sql).await.map(|_| ())
}

/// `sql` with its `?` placeholders numbered `$1`, `$2`… for PostgreSQL. For statements
/// written out by hand, whose text holds no `?` but the placeholders.
pub(crate) fn numbered_placeholders(sql: &str) -> String {
    use std::fmt::Write;
    let mut numbered = String::with_capacity(sql.len() + 16);
    for (n, part) in sql.split('?').enumerate() {
        if n > 0 {
            let _ = write!(numbered, "${n}");
        }
        numbered.push_str(part);
    }
    numbered
}

/// Joins a list for a space-separated column.
pub(crate) fn join(values: &[String]) -> String {
    values.join(" ")
}

/// Splits a space-separated column.
pub(crate) fn split(value: &str) -> Vec<String> {
    value
        .split(' ')
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// The connection pool at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStats {
    pub in_use: u32,
    pub idle: u32,
    pub max: u32,
}

/// The pool's connections now (sqlx counts them with atomics: no query, no lock). None for
/// a connection that is not an sqlx pool.
pub fn pool_stats(db: &DatabaseConnection) -> Option<PoolStats> {
    use sea_orm::DatabaseConnectionType as Inner;
    fn stats<D: sea_orm::sqlx::Database>(pool: &sea_orm::sqlx::Pool<D>) -> PoolStats {
        let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
        PoolStats {
            in_use: pool.size().saturating_sub(idle),
            idle,
            max: pool.options().get_max_connections(),
        }
    }
    // Each getter panics on the other backend; the match makes the call the right one.
    match &db.inner {
        Inner::SqlxPostgresPoolConnection(_) => Some(stats(db.get_postgres_connection_pool())),
        Inner::SqlxSqlitePoolConnection(_) => Some(stats(db.get_sqlite_connection_pool())),
        _ => None,
    }
}

/// True when the database answers a trivial statement within `within`.
pub async fn answers(db: &DatabaseConnection, within: Duration) -> bool {
    matches!(tokio::time::timeout(within, db.ping()).await, Ok(Ok(())))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use sea_orm::{ConnectionTrait, Statement};

    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(
            super::numbered_placeholders("UPDATE t SET a = ? WHERE b = ? AND c > ?"),
            "UPDATE t SET a = $1 WHERE b = $2 AND c > $3"
        );
    }

    /// `.cargo/config.toml` builds SQLite with the query-planner stability guarantee; without
    /// it every `LIMIT ?` statement is compiled again on each execution (see that file).
    #[tokio::test]
    async fn sqlite_plans_are_stable() {
        let db = super::connect("sqlite::memory:", Some(1)).await.unwrap();
        let options: Vec<String> = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "PRAGMA compile_options",
            ))
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get_by_index::<String>(0).unwrap())
            .collect();
        assert!(
            options.iter().any(|o| o == "ENABLE_QPSG"),
            "SQLite was built without SQLITE_ENABLE_QPSG: {options:?}"
        );
    }
}
