//! Drops the `audit_events.client_id` index. Every issued token writes an audit row, and on
//! SQLite this index was a sixth of the cost of inserting one (callgrind on the sqlite3 shell,
//! 50,000 token rows: 13,200 instructions a row with it, 11,300 without; BENCHMARKS.md, stop
//! 15). `tessera audit list --client C` reads the newest events first and stops at its
//! limit, which the `at` index serves by itself, scanning back until enough rows match; the
//! index spared that scan only for a client with few events, and for a busy one it made the
//! database sort all of them.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "idx-audit_events-client_id";

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::drop_index_if_exists(manager, INDEX).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::create_index_if_missing(manager, INDEX, "audit_events", "client_id").await
    }
}
