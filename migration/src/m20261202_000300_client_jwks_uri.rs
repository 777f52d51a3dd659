//! `jwks_uri` for `private_key_jwt` clients that publish their keys instead of registering
//! them.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // On a new database the first migration already made it from the current entity.
        if manager.has_column("clients", "jwks_uri").await? {
            return Ok(());
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("clients"))
                    .add_column(ColumnDef::new(Alias::new("jwks_uri")).text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("clients"))
                    .drop_column(Alias::new("jwks_uri"))
                    .to_owned(),
            )
            .await
    }
}
