//! The initial schema. Tables are derived from the entities as they stood when this migration
//! was written; later changes to the schema get their own migration.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{EntityTrait, Schema};

#[derive(DeriveMigrationName)]
pub struct Migration;

async fn create<E: EntityTrait>(manager: &SchemaManager<'_>, entity: E) -> Result<(), DbErr> {
    let schema = Schema::new(manager.get_database_backend());
    manager
        .create_table(
            schema
                .create_table_from_entity(entity)
                .if_not_exists()
                .to_owned(),
        )
        .await?;
    for mut index in schema.create_index_from_entity(entity) {
        manager
            .create_index(index.if_not_exists().to_owned())
            .await?;
    }
    Ok(())
}

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
