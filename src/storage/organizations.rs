//! Organizations, their members, and the one organization a client may be restricted to.
//! Organizations and members are read fresh at every use (no cache); a client's restriction
//! is cached with the client (`clients::Client::organization_id`), so every change of one
//! bumps the clients version: either way a change from the CLI holds at once on every
//! instance.
use entity::{client_organizations, organization_members, organizations};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

pub type Organization = organizations::Model;

/// Prefix of every organization id: it holds a `_`, which no slug may, so an id and a slug
/// can never be confused when a request names either.
pub const ID_PREFIX: &str = "org_";

/// Whether `slug` may name an organization: 1-63 lower-case letters, digits and `-`, not
/// starting or ending with `-` (a DNS label: safe in URLs and subdomains alike).
pub fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 63
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Adds an organization; None if the slug is taken.
pub async fn add(
    db: &impl ConnectionTrait,
    slug: &str,
    name: &str,
    now: i64,
) -> Result<Option<Organization>, DbErr> {
    let model = organizations::ActiveModel {
        id: Set(format!("{ID_PREFIX}{}", crate::secrets::random_token(12))),
        slug: Set(slug.to_string()),
        name: Set(name.to_string()),
        created_at: Set(now),
    };
    let inserted = organizations::Entity::insert(model)
        .on_conflict(
            OnConflict::column(organizations::Column::Slug)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    if inserted != 1 {
        return Ok(None);
    }
    find_by_slug(db, slug).await
}

pub async fn find(db: &impl ConnectionTrait, id: &str) -> Result<Option<Organization>, DbErr> {
    if id.is_empty() || id.len() > 64 {
        return Ok(None);
    }
    organizations::Entity::find_by_id(id.to_string())
        .one(db)
        .await
}

async fn find_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<Organization>, DbErr> {
    organizations::Entity::find()
        .filter(organizations::Column::Slug.eq(slug))
        .one(db)
        .await
}

/// The organization named by its id or its slug (what an authorization request or an
/// operator may give).
pub async fn find_by_id_or_slug(
    db: &impl ConnectionTrait,
    id_or_slug: &str,
) -> Result<Option<Organization>, DbErr> {
    if id_or_slug.starts_with(ID_PREFIX) {
        find(db, id_or_slug).await
    } else if valid_slug(id_or_slug) {
        find_by_slug(db, id_or_slug).await
    } else {
        Ok(None)
    }
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<Organization>, DbErr> {
    organizations::Entity::find()
        .order_by_asc(organizations::Column::Slug)
        .all(db)
        .await
}

/// Removes an organization, its memberships, every role granted within it, and revokes the
/// token families that speak for it. The caller first makes sure no client is restricted
/// to it (lifting such a restriction would widen the client).
pub async fn remove(db: &impl ConnectionTrait, id: &str, now: i64) -> Result<bool, DbErr> {
    organization_members::Entity::delete_many()
        .filter(organization_members::Column::OrganizationId.eq(id))
        .exec(db)
        .await?;
    super::roles::remove_grants_within(db, id).await?;
    super::families::revoke_for_organization(db, id, None, now).await?;
    let deleted = organizations::Entity::delete_by_id(id.to_string())
        .exec(db)
        .await?;
    // No client should be restricted to it (see above), but a cached client that still
    // names it must not outlive it.
    super::versions::bump(db, super::versions::CLIENTS, now).await?;
    Ok(deleted.rows_affected == 1)
}

/// Adds a user to an organization; false if they already were a member.
pub async fn add_member(
    db: &impl ConnectionTrait,
    organization_id: &str,
    user_id: &str,
    now: i64,
) -> Result<bool, DbErr> {
    use organization_members::Column as C;
    let model = organization_members::ActiveModel {
        organization_id: Set(organization_id.to_string()),
        user_id: Set(user_id.to_string()),
        created_at: Set(now),
    };
    let inserted = organization_members::Entity::insert(model)
        .on_conflict(
            OnConflict::columns([C::OrganizationId, C::UserId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(inserted == 1)
}

/// Removes a user from an organization: their roles there go, and the tokens that speak
/// for it on their behalf are revoked. False if they were not a member.
pub async fn remove_member(
    db: &impl ConnectionTrait,
    organization_id: &str,
    user_id: &str,
    now: i64,
) -> Result<bool, DbErr> {
    let deleted = organization_members::Entity::delete_by_id((
        organization_id.to_string(),
        user_id.to_string(),
    ))
    .exec(db)
    .await?;
    super::roles::remove_user_grants_within(db, user_id, organization_id).await?;
    super::families::revoke_for_organization(db, organization_id, Some(user_id), now).await?;
    Ok(deleted.rows_affected == 1)
}

pub async fn is_member(
    db: &impl ConnectionTrait,
    organization_id: &str,
    user_id: &str,
) -> Result<bool, DbErr> {
    Ok(
        organization_members::Entity::find_by_id((
            organization_id.to_string(),
            user_id.to_string(),
        ))
        .one(db)
        .await?
        .is_some(),
    )
}

/// The organizations a user belongs to, by slug.
pub async fn of_user(db: &impl ConnectionTrait, user_id: &str) -> Result<Vec<Organization>, DbErr> {
    let ids: Vec<String> = organization_members::Entity::find()
        .filter(organization_members::Column::UserId.eq(user_id))
        .select_only()
        .column(organization_members::Column::OrganizationId)
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(vec![]);
    }
    organizations::Entity::find()
        .filter(organizations::Column::Id.is_in(ids))
        .order_by_asc(organizations::Column::Slug)
        .all(db)
        .await
}

/// The ids of an organization's members.
pub async fn members(
    db: &impl ConnectionTrait,
    organization_id: &str,
) -> Result<Vec<String>, DbErr> {
    organization_members::Entity::find()
        .filter(organization_members::Column::OrganizationId.eq(organization_id))
        .select_only()
        .column(organization_members::Column::UserId)
        .into_tuple()
        .all(db)
        .await
}

/// The organization a client is restricted to, if any.
pub async fn of_client(
    db: &impl ConnectionTrait,
    client_id: &str,
) -> Result<Option<String>, DbErr> {
    Ok(
        client_organizations::Entity::find_by_id(client_id.to_string())
            .one(db)
            .await?
            .map(|r| r.organization_id),
    )
}

/// Every client's restriction, by client_id (for `clients::list`).
pub async fn all_restrictions(
    db: &impl ConnectionTrait,
) -> Result<std::collections::HashMap<String, String>, DbErr> {
    Ok(client_organizations::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.client_id, r.organization_id))
        .collect())
}

/// The clients restricted to an organization.
pub async fn clients_of(
    db: &impl ConnectionTrait,
    organization_id: &str,
) -> Result<Vec<String>, DbErr> {
    client_organizations::Entity::find()
        .filter(client_organizations::Column::OrganizationId.eq(organization_id))
        .select_only()
        .column(client_organizations::Column::ClientId)
        .into_tuple()
        .all(db)
        .await
}

/// Restricts a client to one organization (replacing any earlier restriction), or lifts the
/// restriction with None. The client's token families issued for another organization (or
/// none) are revoked: they no longer match what the client may do. Bumps the clients
/// version: every instance drops its cached copy of the client (and its restriction).
pub async fn restrict_client(
    db: &impl ConnectionTrait,
    client_id: &str,
    organization_id: Option<&str>,
    now: i64,
) -> Result<(), DbErr> {
    client_organizations::Entity::delete_by_id(client_id.to_string())
        .exec(db)
        .await?;
    if let Some(organization_id) = organization_id {
        let model = client_organizations::ActiveModel {
            client_id: Set(client_id.to_string()),
            organization_id: Set(organization_id.to_string()),
            created_at: Set(now),
        };
        client_organizations::Entity::insert(model)
            .exec_without_returning(db)
            .await?;
        super::families::revoke_for_client_outside(db, client_id, organization_id, now).await?;
    }
    super::versions::bump(db, super::versions::CLIENTS, now).await
}
