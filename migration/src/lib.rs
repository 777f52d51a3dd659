//! Database migrations, run at `tessera serve` start and by `tessera migrate`.
pub use sea_orm_migration::prelude::*;

mod m20261126_000001_init;
mod m20261126_000002_server_keys;
mod m20261126_000003_refresh_generations;
mod m20261201_000001_change_versions;
mod m20261201_000100_client_metadata;
mod m20261201_000200_signing_keys;
mod m20261201_000300_login_sessions;
mod m20261202_000100_throttle_counters;
mod m20261202_000200_audit_events;
mod m20261202_000300_client_jwks_uri;
mod m20261203_000100_roles_groups;
mod m20261203_000110_organizations;
mod m20261203_000201_api_keys;
mod m20261203_000202_resources;
mod m20261203_000400_identity_keys;
mod m20261204_000100_audit_user_index;
mod m20261205_000100_audit_client_index;

pub struct Migrator;

#[sea_orm_migration::async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_init::Migration),
            Box::new(m20261126_000002_server_keys::Migration),
            Box::new(m20261126_000003_refresh_generations::Migration),
            Box::new(m20261201_000001_change_versions::Migration),
            Box::new(m20261201_000100_client_metadata::Migration),
            Box::new(m20261201_000200_signing_keys::Migration),
            Box::new(m20261201_000300_login_sessions::Migration),
            Box::new(m20261202_000100_throttle_counters::Migration),
            Box::new(m20261202_000200_audit_events::Migration),
            Box::new(m20261202_000300_client_jwks_uri::Migration),
            Box::new(m20261203_000100_roles_groups::Migration),
            Box::new(m20261203_000110_organizations::Migration),
            Box::new(m20261203_000201_api_keys::Migration),
            Box::new(m20261203_000202_resources::Migration),
            Box::new(m20261203_000400_identity_keys::Migration),
            Box::new(m20261204_000100_audit_user_index::Migration),
            Box::new(m20261205_000100_audit_client_index::Migration),
        ]
    }
}

/// Creates an entity's table and its indexes, if missing (migrations that add tables).
pub(crate) async fn create_from_entity<E: sea_orm_migration::sea_orm::EntityTrait>(
    manager: &SchemaManager<'_>,
    entity: E,
) -> Result<(), DbErr> {
    let schema = sea_orm_migration::sea_orm::Schema::new(manager.get_database_backend());
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

/// Drops index `name` if it exists (migrations that drop an index no query uses). SQLite and
/// PostgreSQL both accept `DROP INDEX IF EXISTS` without a table name.
pub(crate) async fn drop_index_if_exists(
    manager: &SchemaManager<'_>,
    name: &str,
) -> Result<(), DbErr> {
    manager
        .drop_index(Index::drop().name(name).if_exists().to_owned())
        .await
}

/// Creates the one-column index `name` on `table` if missing (such a migration's `down`).
pub(crate) async fn create_index_if_missing(
    manager: &SchemaManager<'_>,
    name: &str,
    table: &str,
    column: &str,
) -> Result<(), DbErr> {
    manager
        .create_index(
            Index::create()
                .name(name)
                .table(Alias::new(table))
                .col(Alias::new(column))
                .if_not_exists()
                .to_owned(),
        )
        .await
}
