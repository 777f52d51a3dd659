//! Client metadata of RFC 7591 and OpenID Connect (home page, logo, policy and terms links,
//! logout URIs, CORS origins), the hash of each client's RFC 7592 registration access token,
//! and the initial access tokens that allow a registration.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::Schema;

#[derive(DeriveMigrationName)]
pub struct Migration;

const CLIENTS: &str = "clients";

fn text(name: &str, null: bool) -> ColumnDef {
    let mut column = ColumnDef::new(Alias::new(name));
    column.text();
    if null {
        column.null();
    } else {
        column.not_null().default("");
    }
    column
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The first migration creates tables from the current entities, so on a new database
        // the columns already exist. SQLite takes one ALTER per column.
        let columns = [
            text("client_uri", true),
            text("logo_uri", true),
            text("policy_uri", true),
            text("tos_uri", true),
            text("post_logout_redirect_uris", false),
            text("backchannel_logout_uri", true),
            ColumnDef::new(Alias::new("backchannel_logout_session_required"))
                .boolean()
                .not_null()
                .default(false)
                .to_owned(),
            text("allowed_cors_origins", false),
            text("registration_token_hash", true),
        ];
        for mut column in columns {
            let name = column.get_column_name();
            if !manager.has_column(CLIENTS, &name).await? {
                manager
                    .alter_table(
                        Table::alter()
                            .table(Alias::new(CLIENTS))
                            .add_column(&mut column)
                            .to_owned(),
                    )
                    .await?;
            }
        }
        let schema = Schema::new(manager.get_database_backend());
        manager
            .create_table(
                schema
                    .create_table_from_entity(entity::registration_tokens::Entity)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(Alias::new("registration_tokens"))
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}
