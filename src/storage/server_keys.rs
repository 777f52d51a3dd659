//! Shared key material (see `entity::server_keys`).
use entity::server_keys::{ActiveModel, Column, Entity};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};

pub async fn get(db: &impl ConnectionTrait, purpose: &str) -> Result<Option<String>, DbErr> {
    Ok(Entity::find_by_id(purpose.to_string())
        .one(db)
        .await?
        .map(|k| k.material))
}

/// Stores `material` unless another instance stored one first; returns what is stored.
pub async fn insert_if_absent(
    db: &impl ConnectionTrait,
    purpose: &str,
    material: &str,
    now: i64,
) -> Result<String, DbErr> {
    let model = ActiveModel {
        purpose: Set(purpose.to_string()),
        material: Set(material.to_string()),
        created_at: Set(now),
    };
    Entity::insert(model)
        .on_conflict(OnConflict::column(Column::Purpose).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    get(db, purpose)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("server key {purpose}")))
}

/// Sets (inserting or replacing) a value.
pub async fn set(
    db: &impl ConnectionTrait,
    purpose: &str,
    material: &str,
    now: i64,
) -> Result<(), DbErr> {
    let model = ActiveModel {
        purpose: Set(purpose.to_string()),
        material: Set(material.to_string()),
        created_at: Set(now),
    };
    Entity::insert(model)
        .on_conflict(
            OnConflict::column(Column::Purpose)
                .update_columns([Column::Material, Column::CreatedAt])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// Replaces `purpose`'s material if it is still `old` (sealing in place, master-key
/// rotation): true for exactly one of several callers racing.
pub async fn replace_if(
    db: &impl ConnectionTrait,
    purpose: &str,
    old: &str,
    new: &str,
) -> Result<bool, DbErr> {
    use sea_orm::{sea_query::Expr, ColumnTrait, QueryFilter};
    let result = Entity::update_many()
        .col_expr(Column::Material, Expr::value(new))
        .filter(Column::Purpose.eq(purpose))
        .filter(Column::Material.eq(old))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn delete(db: &impl ConnectionTrait, purpose: &str) -> Result<(), DbErr> {
    Entity::delete_by_id(purpose.to_string())
        .exec(db)
        .await
        .map(|_| ())
}
