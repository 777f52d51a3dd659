//! Failed-authentication counters shared by every instance (brute-force protection).
use crate::create_from_entity as create;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create(manager, entity::throttle_counters::Entity).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(Alias::new("throttle_counters"))
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}
