//! `tessera role add | remove | list` and `tessera group add | remove | list | add-member |
//! remove-member | grant-role | revoke-role`, and the granting shared by `user`, `client`,
//! `group` and `org`. Roles are read at every token issue: a change here shows in the next
//! token of every running instance.
use anyhow::bail;
use clap::Subcommand;
use serde_json::json;

use super::output::{open, print, Table};
use crate::audit::{self, AuditEvent, Kind, Target};
use crate::clock::{Clock, SystemClock};
use crate::config::StoreSettings;
use crate::storage::roles::{Holder, Within};
use crate::storage::{organizations, roles, users, Db};

#[derive(Subcommand)]
pub enum RoleCommand {
    /// Define a role that can then be granted to users, groups and clients.
    Add {
        /// The role's name, as tokens carry it (letters, digits, _ - . : /).
        #[arg(long)]
        name: String,
        /// What the role allows, for operators.
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a role and every grant of it (the next tokens no longer carry it).
    Remove {
        /// The role's name.
        #[arg(long)]
        name: String,
    },
    /// List roles and who holds them.
    List,
}

#[derive(Subcommand)]
pub enum GroupCommand {
    /// Add a group of users; roles granted to it hold for each member.
    Add {
        /// The group's name, as the `groups` claim carries it (letters, digits, _ - . : /).
        #[arg(long)]
        name: String,
        /// What the group is, for operators.
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a group, its memberships and the roles granted to it.
    Remove {
        /// The group's name.
        #[arg(long)]
        name: String,
    },
    /// List groups with their members.
    List,
    /// Add a user to a group.
    AddMember {
        /// The group's name.
        #[arg(long)]
        group: String,
        /// The user's username.
        #[arg(long)]
        username: String,
    },
    /// Remove a user from a group.
    RemoveMember {
        /// The group's name.
        #[arg(long)]
        group: String,
        /// The user's username.
        #[arg(long)]
        username: String,
    },
    /// Grant a role to every member of a group.
    GrantRole {
        /// The group's name.
        #[arg(long)]
        group: String,
        /// The role's name.
        #[arg(long)]
        role: String,
        /// Grant it only within this organization (id or slug).
        #[arg(long, value_name = "ORG")]
        organization: Option<String>,
    },
    /// Revoke a role granted to a group.
    RevokeRole {
        /// The group's name.
        #[arg(long)]
        group: String,
        /// The role's name.
        #[arg(long)]
        role: String,
        /// The organization it was granted within (id or slug).
        #[arg(long, value_name = "ORG")]
        organization: Option<String>,
    },
}

fn check_name(what: &str, name: &str) -> anyhow::Result<()> {
    if !roles::valid_name(name) {
        bail!("a {what} name is 1-64 letters, digits or _ - . : / (got {name:?})");
    }
    Ok(())
}

/// The user named `username`, or an error saying how to list users.
pub async fn user_named(db: &Db, username: &str) -> anyhow::Result<users::User> {
    match users::find_by_username(db, username).await? {
        Some(user) => Ok(user),
        None => bail!("no user named {username} (list them with: tessera user list)"),
    }
}

/// The organization named by id or slug, or an error saying how to list them.
pub async fn organization_named(
    db: &Db,
    id_or_slug: &str,
) -> anyhow::Result<organizations::Organization> {
    match organizations::find_by_id_or_slug(db, id_or_slug).await? {
        Some(org) => Ok(org),
        None => bail!("no organization {id_or_slug} (list them with: tessera org list)"),
    }
}

/// Grants or revokes `role` for `holder` within `within`, and says what it did and what to
/// do next. `who` names the holder for people (`user alice`).
pub async fn change_grant(
    db: &Db,
    json: bool,
    grant: bool,
    role: &str,
    (holder, who): (Holder<'_>, &str),
    within: (Within<'_>, Option<&organizations::Organization>),
) -> anyhow::Result<()> {
    let (within, org) = within;
    if roles::find_role(db, role).await?.is_none() {
        bail!("no role named {role} (define it first with: tessera role add --name {role})");
    }
    let now = SystemClock.now();
    let changed = if grant {
        roles::grant(db, role, holder, within, now).await?
    } else {
        roles::revoke(db, role, holder, within).await?
    };
    if changed {
        let mut target = role.to_string();
        if let Some(org) = org {
            target.push_str(&format!("@{}", org.id));
        }
        let mut event = AuditEvent::new(Kind::AuthorizationChanged).reason(if grant {
            "role_granted"
        } else {
            "role_revoked"
        });
        match holder {
            Holder::User(id) => {
                event = event.user(id);
                if let Some(user) = users::find(db, id).await? {
                    event = event.username(&user.username);
                }
            }
            Holder::Client(id) => event = event.client(id),
            Holder::Group(name) => target.push_str(&format!(" group:{name}")),
        }
        audit::record_now(db, event.target(Target::Role(target))).await;
    }
    let place = match org {
        Some(org) => format!("in organization {}", org.slug),
        None => "globally (outside any organization)".to_string(),
    };
    let text = match (grant, changed) {
        (true, true) => format!("Granted role {role} to {who} {place}. Tokens issued from now on carry it (with the roles scope); tokens already issued keep their claims until they expire."),
        (true, false) => format!("{who} already holds role {role} {place}; nothing changed."),
        (false, true) => format!("Revoked role {role} from {who} {place}. The next token (and the next refresh) no longer carries it; access tokens already issued keep it until they expire."),
        (false, false) => bail!("{who} does not hold role {role} {place} (see who holds what with: tessera role list)"),
    };
    print(
        json,
        json!({
            "role": role,
            "holder": who,
            "organization_id": org.map(|o| o.id.clone()),
            "granted": grant,
            "changed": changed,
        }),
        &text,
    );
    Ok(())
}

/// How a grant's holder reads in a list: `user:alice`, `group:ops`, `client:svc`, with
/// `@org` for a grant within an organization.
async fn describe_grant(
    db: &Db,
    grant: &roles::Grant,
) -> anyhow::Result<(String, serde_json::Value)> {
    let name = match grant.subject_kind.as_str() {
        "user" => users::find(db, &grant.subject_id)
            .await?
            .map(|u| u.username)
            .unwrap_or_else(|| grant.subject_id.clone()),
        _ => grant.subject_id.clone(),
    };
    let org = if grant.organization_id.is_empty() {
        None
    } else {
        organizations::find(db, &grant.organization_id).await?
    };
    let mut text = format!("{}:{name}", grant.subject_kind);
    if let Some(org) = &org {
        text.push_str(&format!("@{}", org.slug));
    }
    let value = json!({
        "kind": grant.subject_kind,
        "name": name,
        "organization": org.map(|o| o.slug),
    });
    Ok((text, value))
}

pub async fn run_role(
    store: &StoreSettings,
    json: bool,
    command: RoleCommand,
) -> anyhow::Result<()> {
    let now = SystemClock.now();
    let db = open(store).await?;
    match command {
        RoleCommand::Add { name, description } => {
            check_name("role", &name)?;
            if !roles::add_role(&db, &name, description, now).await? {
                bail!("a role named {name} already exists");
            }
            print(
                json,
                json!({"name": name, "added": true}),
                &format!("Added role {name}. Grant it with: tessera user grant-role --username USER --role {name} (or group grant-role, client grant-role, org grant-role)."),
            );
        }
        RoleCommand::Remove { name } => {
            let grants = roles::grants(&db, Some(&name)).await?.len();
            if !roles::remove_role(&db, &name).await? {
                bail!("no role named {name} (list them with: tessera role list)");
            }
            print(
                json,
                json!({"name": name, "removed": true, "grants_removed": grants}),
                &format!("Removed role {name} and its {grants} grant(s); the next tokens no longer carry it."),
            );
        }
        RoleCommand::List => {
            let all = roles::grants(&db, None).await?;
            let mut rows = vec![];
            for role in roles::list_roles(&db).await? {
                let mut holders = vec![];
                let mut values = vec![];
                for grant in all.iter().filter(|g| g.role_name == role.name) {
                    let (text, value) = describe_grant(&db, grant).await?;
                    holders.push(text);
                    values.push(value);
                }
                let value =
                    json!({"name": role.name, "description": role.description, "holders": values});
                let cells = vec![
                    role.name.clone(),
                    role.description.clone().unwrap_or_else(|| "-".into()),
                    if holders.is_empty() {
                        "-".into()
                    } else {
                        holders.join(",")
                    },
                ];
                rows.push((value, cells));
            }
            Table {
                header: &["ROLE", "DESCRIPTION", "HELD_BY"],
                rows,
                empty: "No roles. Add one with: tessera role add --name NAME",
            }
            .print(json);
        }
    }
    Ok(())
}

pub async fn run_group(
    store: &StoreSettings,
    json: bool,
    command: GroupCommand,
) -> anyhow::Result<()> {
    let now = SystemClock.now();
    let db = open(store).await?;
    match command {
        GroupCommand::Add { name, description } => {
            check_name("group", &name)?;
            if !roles::add_group(&db, &name, description, now).await? {
                bail!("a group named {name} already exists");
            }
            print(
                json,
                json!({"name": name, "added": true}),
                &format!("Added group {name}. Add members with: tessera group add-member --group {name} --username USER"),
            );
        }
        GroupCommand::Remove { name } => {
            if !roles::remove_group(&db, &name).await? {
                bail!("no group named {name} (list them with: tessera group list)");
            }
            print(
                json,
                json!({"name": name, "removed": true}),
                &format!("Removed group {name}, its memberships and its role grants; the next tokens of its former members no longer carry them."),
            );
        }
        GroupCommand::List => {
            let mut rows = vec![];
            for group in roles::list_groups(&db).await? {
                let mut members = vec![];
                for id in roles::members(&db, &group.name).await? {
                    if let Some(user) = users::find(&db, &id).await? {
                        members.push(user.username);
                    }
                }
                members.sort();
                let value = json!({"name": group.name, "description": group.description, "members": members});
                let cells = vec![
                    group.name.clone(),
                    group.description.clone().unwrap_or_else(|| "-".into()),
                    if members.is_empty() {
                        "-".into()
                    } else {
                        members.join(",")
                    },
                ];
                rows.push((value, cells));
            }
            Table {
                header: &["GROUP", "DESCRIPTION", "MEMBERS"],
                rows,
                empty: "No groups. Add one with: tessera group add --name NAME",
            }
            .print(json);
        }
        GroupCommand::AddMember { group, username } => {
            if roles::find_group(&db, &group).await?.is_none() {
                bail!("no group named {group} (add it with: tessera group add --name {group})");
            }
            let user = user_named(&db, &username).await?;
            let added = roles::add_member(&db, &group, &user.id, now).await?;
            if added {
                membership_event(
                    &db,
                    "group_member_added",
                    &user,
                    Target::Group(group.clone()),
                )
                .await;
            }
            let text = if added {
                format!("Added {username} to group {group}; their next tokens carry the group (with the groups scope) and its roles.")
            } else {
                format!("{username} already is a member of group {group}; nothing changed.")
            };
            print(
                json,
                json!({"group": group, "username": username, "changed": added}),
                &text,
            );
        }
        GroupCommand::RemoveMember { group, username } => {
            let user = user_named(&db, &username).await?;
            if !roles::remove_member(&db, &group, &user.id).await? {
                bail!("{username} is not a member of group {group} (see members with: tessera group list)");
            }
            membership_event(
                &db,
                "group_member_removed",
                &user,
                Target::Group(group.clone()),
            )
            .await;
            print(
                json,
                json!({"group": group, "username": username, "changed": true}),
                &format!("Removed {username} from group {group}; their next tokens (and the next refresh) no longer carry it or its roles."),
            );
        }
        GroupCommand::GrantRole {
            group,
            role,
            organization,
        } => group_grant(&db, json, true, &group, &role, organization).await?,
        GroupCommand::RevokeRole {
            group,
            role,
            organization,
        } => group_grant(&db, json, false, &group, &role, organization).await?,
    }
    Ok(())
}

async fn group_grant(
    db: &Db,
    json: bool,
    grant: bool,
    group: &str,
    role: &str,
    organization: Option<String>,
) -> anyhow::Result<()> {
    if roles::find_group(db, group).await?.is_none() {
        bail!("no group named {group} (list them with: tessera group list)");
    }
    let org = match organization {
        Some(named) => Some(organization_named(db, &named).await?),
        None => None,
    };
    let within = match &org {
        Some(org) => Within::Organization(&org.id),
        None => Within::Global,
    };
    let who = format!("group {group}");
    change_grant(
        db,
        json,
        grant,
        role,
        (Holder::Group(group), &who),
        (within, org.as_ref()),
    )
    .await
}

/// Records a membership change of `user` in the audit log.
pub async fn membership_event(db: &Db, reason: &'static str, user: &users::User, target: Target) {
    audit::record_now(
        db,
        AuditEvent::new(Kind::AuthorizationChanged)
            .reason(reason)
            .user(&user.id)
            .username(&user.username)
            .target(target),
    )
    .await;
}
