//! Usernames unique without regard to case, width or surrounding spaces, and verified emails
//! findable by a case-insensitive key: the `username_key` and `email_key` columns of
//! `users`, filled for existing users. Two existing users whose names now mean the same
//! account (`alice` and `Alice`) stop the migration with both named: merging or renaming
//! accounts is the operator's decision, never a guess made at start-up.
use std::collections::BTreeMap;

use entity::identity_keys::{email_key, username_key};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

const USERNAME_INDEX: &str = "idx-users-username_key";
/// The name `create_index_from_entity` gives the index of `#[sea_orm(indexed)]`.
const EMAIL_INDEX: &str = "idx-users-email_key";

struct Row {
    id: String,
    username: String,
    email: Option<String>,
    email_verified: bool,
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Before any change, so a refused migration leaves the database as it was.
        let rows = existing_users(manager).await?;
        refuse_collisions(&rows)?;
        // On a new database the first migration already made both from the current entity.
        let added = !manager.has_column("users", "username_key").await?;
        if added {
            add_column(
                manager,
                ColumnDef::new(Alias::new("username_key"))
                    .text()
                    .not_null()
                    .default(""),
            )
            .await?;
        }
        if !manager.has_column("users", "email_key").await? {
            add_column(
                manager,
                ColumnDef::new(Alias::new("email_key")).text().null(),
            )
            .await?;
            manager
                .create_index(
                    Index::create()
                        .if_not_exists()
                        .name(EMAIL_INDEX)
                        .table(Alias::new("users"))
                        .col(Alias::new("email_key"))
                        .to_owned(),
                )
                .await?;
        }
        for row in &rows {
            let email = row
                .email
                .as_deref()
                .filter(|_| row.email_verified)
                .map(email_key);
            manager
                .exec_stmt(
                    Query::update()
                        .table(Alias::new("users"))
                        .value(Alias::new("username_key"), username_key(&row.username))
                        .value(Alias::new("email_key"), email)
                        .and_where(Expr::col(Alias::new("id")).eq(row.id.as_str()))
                        .to_owned(),
                )
                .await?;
        }
        if added && !manager.has_index("users", USERNAME_INDEX).await? {
            manager
                .create_index(
                    Index::create()
                        .if_not_exists()
                        .unique()
                        .name(USERNAME_INDEX)
                        .table(Alias::new("users"))
                        .col(Alias::new("username_key"))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (index, column) in [(USERNAME_INDEX, "username_key"), (EMAIL_INDEX, "email_key")] {
            if manager.has_index("users", index).await? {
                manager
                    .drop_index(
                        Index::drop()
                            .name(index)
                            .table(Alias::new("users"))
                            .to_owned(),
                    )
                    .await?;
            }
            if manager.has_column("users", column).await? {
                manager
                    .alter_table(
                        Table::alter()
                            .table(Alias::new("users"))
                            .drop_column(Alias::new(column))
                            .to_owned(),
                    )
                    .await?;
            }
        }
        Ok(())
    }
}

async fn add_column(manager: &SchemaManager<'_>, column: &mut ColumnDef) -> Result<(), DbErr> {
    manager
        .alter_table(
            Table::alter()
                .table(Alias::new("users"))
                .add_column(column)
                .to_owned(),
        )
        .await
}

async fn existing_users(manager: &SchemaManager<'_>) -> Result<Vec<Row>, DbErr> {
    let db = manager.get_connection();
    let select = Statement::from_string(
        manager.get_database_backend(),
        "SELECT id, username, email, email_verified FROM users",
    );
    let mut rows = Vec::new();
    for row in db.query_all_raw(select).await? {
        rows.push(Row {
            id: row.try_get("", "id")?,
            username: row.try_get("", "username")?,
            email: row.try_get("", "email")?,
            email_verified: row.try_get("", "email_verified")?,
        });
    }
    Ok(rows)
}

/// Fails, naming every group of users whose usernames now have the same key.
fn refuse_collisions(rows: &[Row]) -> Result<(), DbErr> {
    let mut by_key: BTreeMap<String, Vec<&Row>> = BTreeMap::new();
    for row in rows {
        by_key
            .entry(username_key(&row.username))
            .or_default()
            .push(row);
    }
    let groups: Vec<String> = by_key
        .values()
        .filter(|group| group.len() > 1)
        .map(|group| {
            group
                .iter()
                .map(|r| format!("{:?} (sub {})", r.username, r.id))
                .collect::<Vec<_>>()
                .join(" and ")
        })
        .collect();
    if groups.is_empty() {
        return Ok(());
    }
    Err(DbErr::Migration(format!(
        "usernames are now matched without regard to case, width and surrounding spaces, and these users would be one account: {}. Rename all but one of each group in the database (e.g. UPDATE users SET username = 'alice-2' WHERE id = '<sub>'), or delete the duplicate account, then start Tessera again; nothing was changed",
        groups.join("; ")
    )))
}
