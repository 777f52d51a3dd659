//! `tessera resource add | list | update | remove`: protected resources (RFC 8707 resource
//! indicators) as data. The rules are in `crate::resources`.
use anyhow::bail;
use clap::Subcommand;
use serde_json::json;

use super::output::{open, print, Table};
use crate::audit::{self, AuditEvent, Kind, Target};
use crate::clock::{Clock, SystemClock};
use crate::config::StoreSettings;
use crate::resources::{self, Resource};
use crate::storage::{self, resources::ResourceRow, Db};
use crate::types::Scopes;

#[derive(Subcommand)]
pub enum ResourceCommand {
    /// Register a resource: tokens requested for it carry its URI in `aud`.
    Add {
        /// The resource indicator (RFC 8707): an absolute URI, such as https://api.example.com.
        #[arg(long)]
        uri: String,
        /// A name for people.
        #[arg(long)]
        name: Option<String>,
        /// A scope that belongs to this resource (repeatable): granted only in tokens for it.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// A confidential client that may introspect tokens for this resource (repeatable).
        #[arg(long = "introspecting-client", value_name = "CLIENT_ID")]
        introspecting_clients: Vec<String>,
    },
    /// List the registered resources (those of TESSERA_RESOURCES are not stored, so not listed).
    List,
    /// Change a resource: each flag given replaces that field (a repeated flag, the whole list).
    Update {
        /// The resource indicator.
        #[arg(long)]
        uri: String,
        /// A name for people.
        #[arg(long)]
        name: Option<String>,
        /// The scopes that belong to the resource (repeatable; replaces the list).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Remove every scope from the resource.
        #[arg(long, conflicts_with = "scopes")]
        no_scopes: bool,
        /// The clients that may introspect its tokens (repeatable; replaces the list).
        #[arg(long = "introspecting-client", value_name = "CLIENT_ID")]
        introspecting_clients: Vec<String>,
        /// Remove every introspecting client.
        #[arg(long, conflicts_with = "introspecting_clients")]
        no_introspecting_clients: bool,
    },
    /// Remove a resource: tokens can no longer be requested for it.
    Remove {
        /// The resource indicator.
        #[arg(long)]
        uri: String,
    },
}

fn describe(r: &ResourceRow) -> serde_json::Value {
    json!({
        "uri": r.uri,
        "name": r.name,
        "scopes": Scopes::from_stored(&r.scopes).iter().collect::<Vec<_>>(),
        "introspecting_clients": r.introspecting_clients.split(' ').filter(|c| !c.is_empty()).collect::<Vec<_>>(),
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    })
}

fn parse_scopes(scopes: &[String]) -> anyhow::Result<Scopes> {
    Scopes::parse(&scopes.join(" ")).map_err(|_| {
        anyhow::anyhow!("invalid scope: use RFC 6749 scope tokens (no spaces or quotes)")
    })
}

/// Checks the rules and that every introspecting client exists and can authenticate.
async fn check(db: &Db, resource: &Resource) -> anyhow::Result<()> {
    resources::validate(resource).map_err(anyhow::Error::msg)?;
    for client_id in &resource.introspecting_clients {
        match storage::clients::find(db, client_id).await? {
            None => bail!("no client {client_id} (see: tessera client list)"),
            Some(c) if c.public => {
                bail!("client {client_id} is public: only a confidential client may introspect")
            }
            Some(_) => {}
        }
    }
    Ok(())
}

async fn save(
    db: &Db,
    resource: &Resource,
    reason: &'static str,
    now: i64,
) -> anyhow::Result<ResourceRow> {
    storage::resources::upsert(db, resource.to_row(), now).await?;
    audit::record_now(
        db,
        AuditEvent::new(Kind::ResourceChanged)
            .reason(reason)
            .target(Target::Resource(resource.uri.clone())),
    )
    .await;
    // Return only once every running instance has dropped its cached copy.
    tokio::time::sleep(storage::resource_cache::VISIBLE_AFTER).await;
    match storage::resources::find(db, &resource.uri).await? {
        Some(row) => Ok(row),
        None => bail!("resource {} was removed meanwhile", resource.uri),
    }
}

fn text(r: &ResourceRow) -> String {
    let value = describe(r);
    let list = |field: &str| {
        let items: Vec<&str> = value[field]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        if items.is_empty() {
            "-".to_string()
        } else {
            items.join(" ")
        }
    };
    format!(
        "  uri: {}\n  name: {}\n  scopes: {}\n  introspecting clients: {}",
        r.uri,
        r.name.as_deref().unwrap_or("-"),
        list("scopes"),
        list("introspecting_clients")
    )
}

pub async fn run(
    store: &StoreSettings,
    json: bool,
    command: ResourceCommand,
) -> anyhow::Result<()> {
    let now = SystemClock.now();
    match command {
        ResourceCommand::Add {
            uri,
            name,
            scopes,
            introspecting_clients,
        } => {
            let db = open(store).await?;
            if storage::resources::find(&db, &uri).await?.is_some() {
                bail!("resource {uri} is already registered; change it with: tessera resource update --uri {uri}");
            }
            let resource = Resource {
                uri,
                name,
                scopes: parse_scopes(&scopes)?,
                introspecting_clients,
            };
            check(&db, &resource).await?;
            let row = save(&db, &resource, "cli_added", now).await?;
            print(
                json,
                describe(&row),
                &format!(
                    "Registered resource {}:\n{}\nClients ask for tokens for it with resource={} at /token.",
                    row.uri,
                    text(&row),
                    row.uri
                ),
            );
        }
        ResourceCommand::List => {
            let db = open(store).await?;
            let rows = storage::resources::list(&db)
                .await?
                .iter()
                .map(|r| {
                    let value = describe(r);
                    let join = |field: &str| {
                        let items: Vec<&str> = value[field]
                            .as_array()
                            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
                            .unwrap_or_default();
                        if items.is_empty() {
                            "-".to_string()
                        } else {
                            items.join(",")
                        }
                    };
                    let cells = vec![
                        r.uri.clone(),
                        r.name.clone().unwrap_or_else(|| "-".into()),
                        join("scopes"),
                        join("introspecting_clients"),
                    ];
                    (value, cells)
                })
                .collect();
            Table {
                header: &["URI", "NAME", "SCOPES", "INTROSPECTING_CLIENTS"],
                rows,
                empty: "No resources. Register one with: tessera resource add --uri https://api.example.com",
            }
            .print(json);
        }
        ResourceCommand::Update {
            uri,
            name,
            scopes,
            no_scopes,
            introspecting_clients,
            no_introspecting_clients,
        } => {
            let db = open(store).await?;
            let Some(old) = storage::resources::find(&db, &uri).await? else {
                bail!("no resource {uri} (see: tessera resource list)");
            };
            let mut resource = Resource {
                uri: old.uri.clone(),
                name: name.or(old.name.clone()),
                scopes: Scopes::from_stored(&old.scopes),
                introspecting_clients: old
                    .introspecting_clients
                    .split(' ')
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect(),
            };
            if !scopes.is_empty() || no_scopes {
                resource.scopes = parse_scopes(&scopes)?;
            }
            if !introspecting_clients.is_empty() || no_introspecting_clients {
                resource.introspecting_clients = introspecting_clients;
            }
            check(&db, &resource).await?;
            let row = save(&db, &resource, "cli_updated", now).await?;
            print(
                json,
                describe(&row),
                &format!("Updated resource {}:\n{}", row.uri, text(&row)),
            );
        }
        ResourceCommand::Remove { uri } => {
            let db = open(store).await?;
            if !storage::resources::remove(&db, &uri, now).await? {
                bail!("no resource {uri} (see: tessera resource list)");
            }
            audit::record_now(
                &db,
                AuditEvent::new(Kind::ResourceChanged)
                    .reason("cli_removed")
                    .target(Target::Resource(uri.clone())),
            )
            .await;
            tokio::time::sleep(storage::resource_cache::VISIBLE_AFTER).await;
            print(
                json,
                json!({"uri": uri, "removed": true}),
                &format!("Removed resource {uri}: tokens can no longer be requested for it (unless TESSERA_RESOURCES still lists it)."),
            );
        }
    }
    Ok(())
}
