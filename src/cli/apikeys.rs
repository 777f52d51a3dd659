//! `tessera apikey create | list | revoke`: API keys for users and clients. The rules are in
//! `crate::apikeys`.
use anyhow::bail;
use clap::{ArgGroup, Subcommand};
use serde_json::json;

use super::output::{open, print, Table};
use crate::apikeys::{self, NewApiKey, Owner};
use crate::audit::{self, Kind};
use crate::clock::{Clock, SystemClock};
use crate::config::StoreSettings;
use crate::storage::{self, api_keys::ApiKeyRow, Db};
use crate::types::Scopes;

#[derive(Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key for a user or a client; the key is printed once and stored hashed.
    #[command(group(ArgGroup::new("owner").required(true).args(["user", "client"])))]
    Create {
        /// The user the key acts for (username or sub).
        #[arg(long)]
        user: Option<String>,
        /// The confidential client the key acts for (client_id).
        #[arg(long)]
        client: Option<String>,
        /// What the key is for, shown in lists ("CI deploys").
        #[arg(long)]
        name: String,
        /// Scope the key may use (repeatable; default: none for a user, the client's for a client).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Lifetime: 90d (default), 12h, 30m, seconds, or never.
        #[arg(long, value_name = "DURATION", default_value = "90d")]
        expires_in: String,
        /// The organization the key belongs to (id or slug): the user must be a member; a
        /// client's key always belongs to the client's organization.
        #[arg(long, value_name = "ORG")]
        organization: Option<String>,
    },
    /// List API keys (never the keys themselves), of one user or client if given.
    #[command(group(ArgGroup::new("owner").args(["user", "client"])))]
    List {
        /// Only this user's keys (username or sub).
        #[arg(long)]
        user: Option<String>,
        /// Only this client's keys (client_id).
        #[arg(long)]
        client: Option<String>,
    },
    /// Revoke an API key: every use of it is refused from now on, on every instance.
    Revoke {
        /// The key's id (ak_..., from `tessera apikey list`).
        id: String,
    },
}

fn time(at: i64) -> String {
    chrono::DateTime::from_timestamp(at, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| at.to_string())
}

fn state(key: &ApiKeyRow, now: i64) -> &'static str {
    if key.revoked_at.is_some() {
        "revoked"
    } else if !apikeys::is_live(key, now) {
        "expired"
    } else {
        "active"
    }
}

/// A key for output: everything but the key and its hash.
fn describe(key: &ApiKeyRow, now: i64) -> serde_json::Value {
    json!({
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "user_id": key.user_id,
        "client_id": key.client_id,
        "organization_id": key.organization_id,
        "scope": key.scope,
        "created_at": key.created_at,
        "expires_at": key.expires_at,
        "last_used_at": key.last_used_at,
        "revoked_at": key.revoked_at,
        "state": state(key, now),
    })
}

/// The user named by username or id.
async fn user_id(db: &Db, user: &str) -> anyhow::Result<String> {
    if let Some(found) = storage::users::find_by_username(db, user).await? {
        return Ok(found.id);
    }
    match storage::users::find(db, user).await? {
        Some(found) => Ok(found.id),
        None => bail!("no user {user} (give a username or a sub from: tessera user list)"),
    }
}

async fn owner(
    db: &Db,
    user: Option<String>,
    client: Option<String>,
) -> anyhow::Result<Option<Owner>> {
    Ok(match (user, client) {
        (Some(user), _) => Some(Owner::User(user_id(db, &user).await?)),
        (None, Some(client)) => Some(Owner::Client(client)),
        (None, None) => None,
    })
}

pub async fn run(store: &StoreSettings, json: bool, command: ApiKeyCommand) -> anyhow::Result<()> {
    let now = SystemClock.now();
    match command {
        ApiKeyCommand::Create {
            user,
            client,
            name,
            scopes,
            expires_in,
            organization,
        } => {
            let lifetime = apikeys::parse_lifetime(&expires_in).map_err(anyhow::Error::msg)?;
            let scope = if scopes.is_empty() {
                None
            } else {
                Some(Scopes::parse(&scopes.join(" ")).map_err(|_| {
                    anyhow::anyhow!(
                        "invalid scope: use RFC 6749 scope tokens (no spaces or quotes)"
                    )
                })?)
            };
            let db = open(store).await?;
            let Some(owner) = owner(&db, user, client).await? else {
                bail!("give --user or --client");
            };
            let organization_id = match &organization {
                Some(named) => Some(super::roles::organization_named(&db, named).await?.id),
                None => None,
            };
            let keys = crate::jose::keys::Keys::load_shared(&db, store, now).await?;
            let new = NewApiKey {
                owner,
                name,
                scope,
                lifetime,
                organization_id,
            };
            let (row, key) = apikeys::create(&db, &keys, new, now).await?;
            audit::record_now(
                &db,
                apikeys::audit_event(Kind::ApiKeyCreated, &row).reason("cli"),
            )
            .await;
            let mut value = describe(&row, now);
            value["key"] = json!(key.expose());
            let mut whose = match (&row.user_id, &row.client_id) {
                (Some(user), _) => format!("user {user}"),
                (_, Some(client)) => format!("client {client}"),
                _ => String::new(),
            };
            if let Some(org) = &row.organization_id {
                whose.push_str(&format!(" in organization {org}"));
            }
            let expires = row.expires_at.map_or_else(
                || "never expires".to_string(),
                |at| format!("expires {}", time(at)),
            );
            let scope = if row.scope.is_empty() {
                "-"
            } else {
                row.scope.as_str()
            };
            print(
                json,
                value,
                &format!(
                    "Created API key {} ({}) for {whose}; scope: {scope}; {expires}.\n  {}\nStore it now: it is shown only once and cannot be recovered.\nA resource server introspects it at /introspect, or exchanges it at /token (grant type urn:ietf:params:oauth:grant-type:token-exchange).\nRevoke it with: tessera apikey revoke {}",
                    row.id,
                    row.name,
                    key.expose(),
                    row.id
                ),
            );
        }
        ApiKeyCommand::List { user, client } => {
            let db = open(store).await?;
            let owner = owner(&db, user, client).await?;
            let rows = apikeys::list(&db, owner.as_ref())
                .await?
                .iter()
                .map(|k| {
                    let owner = match (&k.user_id, &k.client_id) {
                        (Some(user), _) => format!("user:{user}"),
                        (_, Some(client)) => format!("client:{client}"),
                        _ => "-".into(),
                    };
                    let cells = vec![
                        k.id.clone(),
                        k.name.clone(),
                        k.prefix.clone(),
                        owner,
                        if k.scope.is_empty() {
                            "-".into()
                        } else {
                            k.scope.replace(' ', ",")
                        },
                        time(k.created_at),
                        k.expires_at.map_or_else(|| "never".into(), time),
                        k.last_used_at.map_or_else(|| "never".into(), time),
                        state(k, now).into(),
                    ];
                    (describe(k, now), cells)
                })
                .collect();
            Table {
                header: &[
                    "ID", "NAME", "PREFIX", "OWNER", "SCOPE", "CREATED", "EXPIRES", "LAST_USED", "STATE",
                ],
                rows,
                empty: "No API keys. Create one with: tessera apikey create --user USERNAME --name NAME",
            }
            .print(json);
        }
        ApiKeyCommand::Revoke { id } => {
            let db = open(store).await?;
            let Some(row) = storage::api_keys::find(&db, &id).await? else {
                bail!("no API key with id {id} (see: tessera apikey list)");
            };
            if !apikeys::revoke(&db, &id, None, now).await? {
                bail!("API key {id} is already revoked");
            }
            audit::record_now(
                &db,
                apikeys::audit_event(Kind::ApiKeyRevoked, &row).reason("cli"),
            )
            .await;
            print(
                json,
                json!({"id": id, "revoked": true}),
                &format!("Revoked API key {id} ({}); it is refused from now on, and the access tokens exchanged for it are no longer active.", row.name),
            );
        }
    }
    Ok(())
}
