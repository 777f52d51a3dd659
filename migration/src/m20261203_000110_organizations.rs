//! Organizations, their members, clients restricted to one, and the organization that
//! codes and token families speak for.
use crate::create_from_entity as create;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create(manager, entity::organizations::Entity).await?;
        create(manager, entity::organization_members::Entity).await?;
        create(manager, entity::client_organizations::Entity).await?;
        // On a new database the first migration already made these columns from the
        // current entities.
        for table in ["authorization_codes", "token_families"] {
            if !manager.has_column(table, "organization_id").await? {
                manager
                    .alter_table(
                        Table::alter()
                            .table(Alias::new(table))
                            .add_column(
                                ColumnDef::new(Alias::new("organization_id"))
                                    .string()
                                    .null(),
                            )
                            .to_owned(),
                    )
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "client_organizations",
            "organization_members",
            "organizations",
        ] {
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
