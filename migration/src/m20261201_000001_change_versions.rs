//! Change counters get their own table: the clients version used to be a row of
//! `server_keys`, which is for key material only.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::Schema;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let schema = Schema::new(manager.get_database_backend());
        manager
            .create_table(
                schema
                    .create_table_from_entity(entity::change_versions::Entity)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::delete()
                    .from_table(Alias::new("server_keys"))
                    .and_where(Expr::col(Alias::new("purpose")).eq("clients-version"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(Alias::new("change_versions"))
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}
