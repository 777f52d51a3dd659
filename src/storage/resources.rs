//! Protected resources registered as data (`tessera resource add`). Every change bumps
//! `versions::RESOURCES`, which `resource_cache` polls. The rules are in `crate::resources`.
use entity::resources::{ActiveModel, Column, Entity, Model};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};

use super::versions;

pub type ResourceRow = Model;

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<Model>, DbErr> {
    Entity::find().order_by_asc(Column::Uri).all(db).await
}

pub async fn find(db: &impl ConnectionTrait, uri: &str) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(uri.to_string()).one(db).await
}

/// Inserts or replaces the resource `row.uri` (keeping its `created_at`) and bumps the
/// version, in one transaction.
pub async fn upsert(db: &sea_orm::DatabaseConnection, row: Model, now: i64) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    let existing = find(&txn, &row.uri).await?;
    let model = ActiveModel {
        uri: Set(row.uri),
        name: Set(row.name),
        scopes: Set(row.scopes),
        introspecting_clients: Set(row.introspecting_clients),
        created_at: Set(existing.as_ref().map_or(now, |e| e.created_at)),
        updated_at: Set(now),
    };
    if existing.is_some() {
        Entity::update(model).exec(&txn).await?;
    } else {
        Entity::insert(model).exec_without_returning(&txn).await?;
    }
    versions::bump(&txn, versions::RESOURCES, now).await?;
    txn.commit().await
}

/// Deletes the resource `uri`; false if there was none.
pub async fn remove(db: &sea_orm::DatabaseConnection, uri: &str, now: i64) -> Result<bool, DbErr> {
    let txn = db.begin().await?;
    let removed = Entity::delete_many()
        .filter(Column::Uri.eq(uri))
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    versions::bump(&txn, versions::RESOURCES, now).await?;
    txn.commit().await?;
    Ok(removed)
}
