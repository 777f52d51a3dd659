//! `tessera org add | list | remove | add-member | remove-member | grant-role | revoke-role`.
//! Roles granted within an organization hold only in tokens that speak for it.
use anyhow::bail;
use clap::{Args, Subcommand};
use serde_json::json;

use super::output::{open, print, Table};
use super::roles::{change_grant, membership_event, organization_named, user_named};
use crate::audit::Target;
use crate::clock::{Clock, SystemClock};
use crate::config::StoreSettings;
use crate::storage::roles::{Holder, Within};
use crate::storage::{organizations, roles, users};

#[derive(Subcommand)]
pub enum OrgCommand {
    /// Add an organization.
    Add {
        /// Short name people and apps use (`organization=SLUG`): lower-case letters, digits, -.
        #[arg(long)]
        slug: String,
        /// Display name (the `org_name` claim).
        #[arg(long)]
        name: String,
    },
    /// List organizations with their members.
    List,
    /// Delete an organization, its memberships and roles; its tokens stop working.
    Remove {
        /// The organization's id or slug.
        #[arg(long, value_name = "ORG")]
        org: String,
    },
    /// Add a user to an organization.
    AddMember {
        /// The organization's id or slug.
        #[arg(long, value_name = "ORG")]
        org: String,
        /// The user's username.
        #[arg(long)]
        username: String,
    },
    /// Remove a user from an organization: their roles in it go, their tokens for it stop working.
    RemoveMember {
        /// The organization's id or slug.
        #[arg(long, value_name = "ORG")]
        org: String,
        /// The user's username.
        #[arg(long)]
        username: String,
    },
    /// Grant a role within an organization to one of its members (or to a group).
    GrantRole(OrgGrantArgs),
    /// Revoke a role granted within an organization.
    RevokeRole(OrgGrantArgs),
}

#[derive(Args)]
pub struct OrgGrantArgs {
    /// The organization's id or slug.
    #[arg(long, value_name = "ORG")]
    org: String,
    /// The role's name.
    #[arg(long)]
    role: String,
    /// The member's username.
    #[arg(long, required_unless_present = "group", conflicts_with = "group")]
    username: Option<String>,
    /// Instead of a user: a group (the role holds here for its members who belong here).
    #[arg(long)]
    group: Option<String>,
}

pub async fn run(store: &StoreSettings, json: bool, command: OrgCommand) -> anyhow::Result<()> {
    let now = SystemClock.now();
    let db = open(store).await?;
    match command {
        OrgCommand::Add { slug, name } => {
            if !organizations::valid_slug(&slug) {
                bail!("a slug is 1-63 lower-case letters, digits and - (not at either end); got {slug:?}");
            }
            if name.trim().is_empty() || name.len() > 200 {
                bail!("the name must be 1-200 characters");
            }
            let Some(org) = organizations::add(&db, &slug, name.trim(), now).await? else {
                bail!("an organization with slug {slug} already exists");
            };
            print(
                json,
                json!({"id": org.id, "slug": org.slug, "name": org.name}),
                &format!(
                    "Added organization {} (org_id {}). Add members with: tessera org add-member --org {} --username USER",
                    org.slug, org.id, org.slug
                ),
            );
        }
        OrgCommand::List => {
            let mut rows = vec![];
            for org in organizations::list(&db).await? {
                let mut members = vec![];
                for id in organizations::members(&db, &org.id).await? {
                    if let Some(user) = users::find(&db, &id).await? {
                        members.push(user.username);
                    }
                }
                members.sort();
                let clients = organizations::clients_of(&db, &org.id).await?;
                let value = json!({"id": org.id, "slug": org.slug, "name": org.name, "members": members, "clients": clients});
                let cells = vec![
                    org.slug.clone(),
                    org.id.clone(),
                    org.name.clone(),
                    if members.is_empty() {
                        "-".into()
                    } else {
                        members.join(",")
                    },
                ];
                rows.push((value, cells));
            }
            Table {
                header: &["SLUG", "ID", "NAME", "MEMBERS"],
                rows,
                empty: "No organizations. Add one with: tessera org add --slug SLUG --name NAME",
            }
            .print(json);
        }
        OrgCommand::Remove { org } => {
            let org = organization_named(&db, &org).await?;
            let clients = organizations::clients_of(&db, &org.id).await?;
            if !clients.is_empty() {
                bail!(
                    "clients {} are restricted to {}: remove them, or move them with `tessera client update --client-id ID --organization OTHER`, first",
                    clients.join(", "),
                    org.slug
                );
            }
            organizations::remove(&db, &org.id, now).await?;
            print(
                json,
                json!({"id": org.id, "slug": org.slug, "removed": true}),
                &format!("Removed organization {}, its memberships and role grants; tokens that spoke for it no longer work.", org.slug),
            );
        }
        OrgCommand::AddMember { org, username } => {
            let org = organization_named(&db, &org).await?;
            let user = user_named(&db, &username).await?;
            let added = organizations::add_member(&db, &org.id, &user.id, now).await?;
            if added {
                membership_event(
                    &db,
                    "org_member_added",
                    &user,
                    Target::Organization(org.id.clone()),
                )
                .await;
            }
            let text = if added {
                format!("Added {username} to organization {}. They can now sign in for it (organization={}); grant roles there with: tessera org grant-role --org {} --username {username} --role ROLE", org.slug, org.slug, org.slug)
            } else {
                format!(
                    "{username} already is a member of {}; nothing changed.",
                    org.slug
                )
            };
            print(
                json,
                json!({"org_id": org.id, "username": username, "changed": added}),
                &text,
            );
        }
        OrgCommand::RemoveMember { org, username } => {
            let org = organization_named(&db, &org).await?;
            let user = user_named(&db, &username).await?;
            if !organizations::remove_member(&db, &org.id, &user.id, now).await? {
                bail!(
                    "{username} is not a member of {} (see members with: tessera org list)",
                    org.slug
                );
            }
            print(
                json,
                json!({"org_id": org.id, "username": username, "changed": true}),
                &format!("Removed {username} from {}: their roles there are gone, and their tokens for it no longer work (refresh fails with invalid_grant).", org.slug),
            );
        }
        OrgCommand::GrantRole(args) => grant(&db, json, true, args).await?,
        OrgCommand::RevokeRole(args) => grant(&db, json, false, args).await?,
    }
    Ok(())
}

async fn grant(
    db: &crate::storage::Db,
    json: bool,
    grant: bool,
    args: OrgGrantArgs,
) -> anyhow::Result<()> {
    let org = organization_named(db, &args.org).await?;
    let within = Within::Organization(&org.id);
    match (args.username, args.group) {
        (Some(username), _) => {
            let user = user_named(db, &username).await?;
            if grant && !organizations::is_member(db, &org.id, &user.id).await? {
                bail!(
                    "{username} is not a member of {}: add them first with: tessera org add-member --org {} --username {username}",
                    org.slug, org.slug
                );
            }
            let who = format!("user {username}");
            change_grant(
                db,
                json,
                grant,
                &args.role,
                (Holder::User(&user.id), &who),
                (within, Some(&org)),
            )
            .await
        }
        (None, Some(group)) => {
            if roles::find_group(db, &group).await?.is_none() {
                bail!("no group named {group} (list them with: tessera group list)");
            }
            let who = format!("group {group}");
            change_grant(
                db,
                json,
                grant,
                &args.role,
                (Holder::Group(&group), &who),
                (within, Some(&org)),
            )
            .await
        }
        (None, None) => bail!("name a --username or a --group"),
    }
}
