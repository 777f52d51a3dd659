//! Roles, groups, group members and role grants (to users, groups and clients, globally or
//! within an organization).
use crate::create_from_entity as create;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create(manager, entity::roles::Entity).await?;
        create(manager, entity::groups::Entity).await?;
        create(manager, entity::group_members::Entity).await?;
        create(manager, entity::role_grants::Entity).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["role_grants", "group_members", "groups", "roles"] {
            manager
                .drop_table(
                    Table::drop()
                        .table(Alias::new(table))
                        .if_exists()
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
