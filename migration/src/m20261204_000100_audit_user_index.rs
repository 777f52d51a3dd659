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
        crate::drop_index_if_exists(manager, INDEX).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::create_index_if_missing(manager, INDEX, "audit_events", "user_id").await
    }
}
