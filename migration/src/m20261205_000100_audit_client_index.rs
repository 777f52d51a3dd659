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
        // SQLite and PostgreSQL both accept DROP INDEX IF EXISTS without a table name.
        manager
            .drop_index(Index::drop().name(INDEX).if_exists().to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Alias::new("audit_events"))
                    .col(Alias::new("client_id"))
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }
}
