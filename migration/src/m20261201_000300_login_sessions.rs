//! Login sessions (OIDC `sid`) and the back-channel logout outbox; codes and token families
//! remember the session they were issued in, so a logout can revoke what it started.
use crate::create_from_entity as create;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create(manager, entity::login_sessions::Entity).await?;
        create(manager, entity::logout_deliveries::Entity).await?;
        // On a new database the first migration already made these columns from the
        // current entities.
        for table in ["authorization_codes", "token_families"] {
            if !manager.has_column(table, "sid").await? {
                manager
                    .alter_table(
                        Table::alter()
                            .table(Alias::new(table))
                            .add_column(ColumnDef::new(Alias::new("sid")).string().null())
                            .to_owned(),
                    )
                    .await?;
            }
        }
        manager
            .create_index(
                Index::create()
                    .name("idx-token_families-sid")
                    .table(Alias::new("token_families"))
                    .col(Alias::new("sid"))
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["logout_deliveries", "login_sessions"] {
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
