//! Refresh tokens become a generation counter on their family (see `token_families`): three
//! columns there, and the table of stored refresh tokens goes. Refresh tokens issued before
//! this migration are not carried over (their values were only kept hashed); their holders
//! sign in again.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const FAMILIES: &str = "token_families";

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The first migration creates tables from the current entities, so on a new database
        // the columns already exist. SQLite takes one ALTER per column.
        let columns = [
            (
                "generation",
                ColumnDef::new(Alias::new("generation"))
                    .big_integer()
                    .not_null()
                    .default(0)
                    .to_owned(),
            ),
            (
                "rotated_at",
                ColumnDef::new(Alias::new("rotated_at"))
                    .big_integer()
                    .null()
                    .to_owned(),
            ),
            (
                "idle_expires_at",
                ColumnDef::new(Alias::new("idle_expires_at"))
                    .big_integer()
                    .not_null()
                    .default(0)
                    .to_owned(),
            ),
        ];
        for (name, mut column) in columns {
            if !manager.has_column(FAMILIES, name).await? {
                manager
                    .alter_table(
                        Table::alter()
                            .table(Alias::new(FAMILIES))
                            .add_column(&mut column)
                            .to_owned(),
                    )
                    .await?;
            }
        }
        manager
            .drop_table(
                Table::drop()
                    .table(Alias::new("refresh_tokens"))
                    .if_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "refresh tokens cannot be moved back to the old table".into(),
        ))
    }
}
