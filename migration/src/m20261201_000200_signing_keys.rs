//! Signing keys with a life cycle (next, active, retiring, retired), sealed at rest. The keys
//! of the previous version (clear-text rows of `server_keys`) are moved here by the server on
//! its first start, which needs the master key this migration cannot know.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    Kid,
    Alg,
    State,
    PrivateKey,
    CreatedAt,
    ActivateAt,
    ActivatedAt,
    RetiringSince,
    RetiredAt,
    RotationStartedAt,
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SigningKeys::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(SigningKeys::Kid)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(SigningKeys::Alg).string().not_null())
                    .col(ColumnDef::new(SigningKeys::State).string().not_null())
                    .col(ColumnDef::new(SigningKeys::PrivateKey).text().not_null())
                    .col(
                        ColumnDef::new(SigningKeys::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(SigningKeys::ActivateAt).big_integer().null())
                    .col(
                        ColumnDef::new(SigningKeys::ActivatedAt)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(SigningKeys::RetiringSince)
                            .big_integer()
                            .null(),
                    )
                    .col(ColumnDef::new(SigningKeys::RetiredAt).big_integer().null())
                    .col(
                        ColumnDef::new(SigningKeys::RotationStartedAt)
                            .big_integer()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        // One active key per algorithm, whatever instances race: the database refuses a
        // second (same SQL on SQLite and PostgreSQL).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX IF NOT EXISTS signing_keys_one_active \
                 ON signing_keys (alg) WHERE state = 'active'",
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(SigningKeys::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}
