//! The initial schema. Tables are derived from the entities as they stood when this migration
//! was written; later changes to the schema get their own migration.
use crate::create_from_entity as create;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create(manager, entity::users::Entity).await?;
        create(manager, entity::clients::Entity).await?;
        create(manager, entity::authorization_codes::Entity).await?;
        create(manager, entity::consents::Entity).await?;
        create(manager, entity::sessions::Entity).await?;
        create(manager, entity::token_families::Entity).await?;
        create(manager, entity::refresh_tokens::Entity).await?;
        create(manager, entity::revoked_tokens::Entity).await?;
        create(manager, entity::client_assertions::Entity).await?;
        create(manager, entity::upstreams::Entity).await?;
        create(manager, entity::upstream_identities::Entity).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "upstream_identities",
            "upstreams",
            "client_assertions",
            "revoked_tokens",
            "refresh_tokens",
            "token_families",
            "sessions",
            "consents",
            "authorization_codes",
            "clients",
            "users",
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
