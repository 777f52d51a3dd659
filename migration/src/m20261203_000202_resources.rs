//! Resources as data (`resources`): RFC 8707 indicators with their scopes and introspecting clients.
use crate::create_from_entity as create;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Idempotent: creates the table and its indexes only if missing.
        create(manager, entity::resources::Entity).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(Alias::new("resources"))
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}
