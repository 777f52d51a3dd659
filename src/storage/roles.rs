//! Roles, groups and role grants. [`effective_roles`] is the one answer to "which roles does
//! this user or client hold (here)": read from the database at every call, never cached, so
//! a grant or revocation from the CLI shows in the next token of every instance.
use entity::{group_members, groups, role_grants, roles};
use sea_orm::sea_query::{ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

pub type Role = roles::Model;
pub type Group = groups::Model;
pub type Grant = role_grants::Model;

/// Who holds a role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holder<'a> {
    /// A user, by id.
    User(&'a str),
    /// Every member of a group, by name.
    Group(&'a str),
    /// A client, by client_id (its `client_credentials` tokens).
    Client(&'a str),
}

impl Holder<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Holder::User(_) => "user",
            Holder::Group(_) => "group",
            Holder::Client(_) => "client",
        }
    }

    fn id(&self) -> &str {
        match self {
            Holder::User(id) | Holder::Group(id) | Holder::Client(id) => id,
        }
    }
}

/// Where a grant holds: everywhere not tied to an organization, or in one organization.
/// Stored as the organization id, or empty for [`Within::Global`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Within<'a> {
    Global,
    Organization(&'a str),
}

impl Within<'_> {
    fn stored(&self) -> &str {
        match self {
            Within::Global => "",
            Within::Organization(id) => id,
        }
    }
}

/// Whether `name` may name a role or a group: 1-64 of letters, digits and `_ - . : /`
/// (what resource servers compare against, with nothing to escape in a claim or a URL).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.:/".contains(c))
}

/// Adds a role; false if one of that name exists.
pub async fn add_role(
    db: &impl ConnectionTrait,
    name: &str,
    description: Option<String>,
    now: i64,
) -> Result<bool, DbErr> {
    let model = roles::ActiveModel {
        name: Set(name.to_string()),
        description: Set(description),
        created_at: Set(now),
    };
    let inserted = roles::Entity::insert(model)
        .on_conflict(
            OnConflict::column(roles::Column::Name)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(inserted == 1)
}

pub async fn find_role(db: &impl ConnectionTrait, name: &str) -> Result<Option<Role>, DbErr> {
    roles::Entity::find_by_id(name.to_string()).one(db).await
}

pub async fn list_roles(db: &impl ConnectionTrait) -> Result<Vec<Role>, DbErr> {
    roles::Entity::find()
        .order_by_asc(roles::Column::Name)
        .all(db)
        .await
}

/// Removes a role and every grant of it; false if there was no such role.
pub async fn remove_role(db: &impl ConnectionTrait, name: &str) -> Result<bool, DbErr> {
    role_grants::Entity::delete_many()
        .filter(role_grants::Column::RoleName.eq(name))
        .exec(db)
        .await?;
    let deleted = roles::Entity::delete_by_id(name.to_string())
        .exec(db)
        .await?;
    Ok(deleted.rows_affected == 1)
}

/// Adds a group; false if one of that name exists.
pub async fn add_group(
    db: &impl ConnectionTrait,
    name: &str,
    description: Option<String>,
    now: i64,
) -> Result<bool, DbErr> {
    let model = groups::ActiveModel {
        name: Set(name.to_string()),
        description: Set(description),
        created_at: Set(now),
    };
    let inserted = groups::Entity::insert(model)
        .on_conflict(
            OnConflict::column(groups::Column::Name)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(inserted == 1)
}

pub async fn find_group(db: &impl ConnectionTrait, name: &str) -> Result<Option<Group>, DbErr> {
    groups::Entity::find_by_id(name.to_string()).one(db).await
}

pub async fn list_groups(db: &impl ConnectionTrait) -> Result<Vec<Group>, DbErr> {
    groups::Entity::find()
        .order_by_asc(groups::Column::Name)
        .all(db)
        .await
}

/// Removes a group, its memberships and the roles granted to it; false if no such group.
pub async fn remove_group(db: &impl ConnectionTrait, name: &str) -> Result<bool, DbErr> {
    group_members::Entity::delete_many()
        .filter(group_members::Column::GroupName.eq(name))
        .exec(db)
        .await?;
    remove_grants_of(db, Holder::Group(name)).await?;
    let deleted = groups::Entity::delete_by_id(name.to_string())
        .exec(db)
        .await?;
    Ok(deleted.rows_affected == 1)
}

/// Adds a user to a group; false if they already were a member.
pub async fn add_member(
    db: &impl ConnectionTrait,
    group: &str,
    user_id: &str,
    now: i64,
) -> Result<bool, DbErr> {
    let model = group_members::ActiveModel {
        group_name: Set(group.to_string()),
        user_id: Set(user_id.to_string()),
        created_at: Set(now),
    };
    let inserted = group_members::Entity::insert(model)
        .on_conflict(
            OnConflict::columns([
                group_members::Column::GroupName,
                group_members::Column::UserId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(inserted == 1)
}

/// Removes a user from a group; false if they were not a member.
pub async fn remove_member(
    db: &impl ConnectionTrait,
    group: &str,
    user_id: &str,
) -> Result<bool, DbErr> {
    let deleted = group_members::Entity::delete_by_id((group.to_string(), user_id.to_string()))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected == 1)
}

/// The ids of a group's members.
pub async fn members(db: &impl ConnectionTrait, group: &str) -> Result<Vec<String>, DbErr> {
    group_members::Entity::find()
        .filter(group_members::Column::GroupName.eq(group))
        .select_only()
        .column(group_members::Column::UserId)
        .into_tuple()
        .all(db)
        .await
}

/// The names of the groups a user belongs to, sorted.
pub async fn groups_of(db: &impl ConnectionTrait, user_id: &str) -> Result<Vec<String>, DbErr> {
    group_members::Entity::find()
        .filter(group_members::Column::UserId.eq(user_id))
        .order_by_asc(group_members::Column::GroupName)
        .select_only()
        .column(group_members::Column::GroupName)
        .into_tuple()
        .all(db)
        .await
}

/// Grants `role` to `holder` within `within`; false if it already held it there. The role
/// must exist (checked by the caller, which can say how to add it).
pub async fn grant(
    db: &impl ConnectionTrait,
    role: &str,
    holder: Holder<'_>,
    within: Within<'_>,
    now: i64,
) -> Result<bool, DbErr> {
    use role_grants::Column as C;
    let model = role_grants::ActiveModel {
        role_name: Set(role.to_string()),
        subject_kind: Set(holder.kind().into()),
        subject_id: Set(holder.id().into()),
        organization_id: Set(within.stored().into()),
        created_at: Set(now),
    };
    let inserted = role_grants::Entity::insert(model)
        .on_conflict(
            OnConflict::columns([C::RoleName, C::SubjectKind, C::SubjectId, C::OrganizationId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(inserted == 1)
}

/// Revokes `role` from `holder` within `within`; false if it did not hold it there.
pub async fn revoke(
    db: &impl ConnectionTrait,
    role: &str,
    holder: Holder<'_>,
    within: Within<'_>,
) -> Result<bool, DbErr> {
    let deleted = role_grants::Entity::delete_by_id((
        role.to_string(),
        holder.kind().to_string(),
        holder.id().to_string(),
        within.stored().to_string(),
    ))
    .exec(db)
    .await?;
    Ok(deleted.rows_affected == 1)
}

/// Deletes every grant `holder` has (a deleted user, group or client holds nothing).
pub async fn remove_grants_of(db: &impl ConnectionTrait, holder: Holder<'_>) -> Result<u64, DbErr> {
    let deleted = role_grants::Entity::delete_many()
        .filter(role_grants::Column::SubjectKind.eq(holder.kind()))
        .filter(role_grants::Column::SubjectId.eq(holder.id()))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}

/// Deletes every grant made within an organization (one being removed).
pub async fn remove_grants_within(
    db: &impl ConnectionTrait,
    organization_id: &str,
) -> Result<u64, DbErr> {
    if organization_id.is_empty() {
        return Ok(0);
    }
    let deleted = role_grants::Entity::delete_many()
        .filter(role_grants::Column::OrganizationId.eq(organization_id))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}

/// Deletes the grants a user holds within one organization (they left it).
pub async fn remove_user_grants_within(
    db: &impl ConnectionTrait,
    user_id: &str,
    organization_id: &str,
) -> Result<u64, DbErr> {
    let deleted = role_grants::Entity::delete_many()
        .filter(role_grants::Column::SubjectKind.eq("user"))
        .filter(role_grants::Column::SubjectId.eq(user_id))
        .filter(role_grants::Column::OrganizationId.eq(organization_id))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}

/// Every grant of a role (for `role list`), or every grant if `role` is None.
pub async fn grants(db: &impl ConnectionTrait, role: Option<&str>) -> Result<Vec<Grant>, DbErr> {
    let mut query = role_grants::Entity::find();
    if let Some(role) = role {
        query = query.filter(role_grants::Column::RoleName.eq(role));
    }
    query
        .order_by_asc(role_grants::Column::RoleName)
        .order_by_asc(role_grants::Column::SubjectKind)
        .order_by_asc(role_grants::Column::SubjectId)
        .all(db)
        .await
}

/// The subject a token speaks for, as far as roles go.
#[derive(Clone, Copy, Debug)]
pub enum Subject<'a> {
    /// A user, by id: their own grants and their groups' grants.
    User(&'a str),
    /// A client, by client_id: its own grants.
    Client(&'a str),
}

/// The effective roles of a user (granted directly or through any of their groups) or of a
/// client, sorted and without duplicates. With `Within::Organization`, only the grants made
/// in that organization: an organization's roles never hold in another, and global roles
/// do not hold in an organization's tokens. Reads the database at every call (no cache).
pub async fn effective_roles(
    db: &impl ConnectionTrait,
    subject: Subject<'_>,
    within: Within<'_>,
) -> Result<Vec<String>, DbErr> {
    use role_grants::Column as C;
    let holders = match subject {
        Subject::User(user_id) => {
            let groups = groups_of(db, user_id).await?;
            let mut holders =
                Condition::any().add(C::SubjectKind.eq("user").and(C::SubjectId.eq(user_id)));
            if !groups.is_empty() {
                holders = holders.add(C::SubjectKind.eq("group").and(C::SubjectId.is_in(groups)));
            }
            holders
        }
        Subject::Client(client_id) => {
            Condition::all().add(C::SubjectKind.eq("client").and(C::SubjectId.eq(client_id)))
        }
    };
    let mut names: Vec<String> = role_grants::Entity::find()
        .filter(holders)
        .filter(C::OrganizationId.eq(within.stored()))
        .select_only()
        .column(C::RoleName)
        .into_tuple()
        .all(db)
        .await?;
    names.sort();
    names.dedup();
    Ok(names)
}
