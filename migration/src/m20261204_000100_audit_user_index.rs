//! Drops the `audit_events.user_id` index. `tessera audit list --user U` matches
//! `user_id = U OR username = U`, which no single-column index serves (both databases scan the
//! `at` index for it, newest first), so the index answered no query while every event paid
//! for it: one more B-tree insert per issued token.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "idx-audit_events-user_id";

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
                    .col(Alias::new("user_id"))
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }
}
