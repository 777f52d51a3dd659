//! `tessera client add | list | remove | rotate-secret`. The rules are in `crate::clients`.
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde_json::json;

use super::output::{open, print, Table};
use crate::clients::{self, ClientMetadata};
use crate::clock::{Clock, SystemClock};
use crate::config::{IssuerSettings, StoreSettings};
use crate::secrets::{client_secret_hash, random_token};
use crate::storage::{self, clients::Client};
use crate::types::{AuthMethod, SigningAlg};

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Register a client. A confidential client's secret is printed once and stored hashed.
    Add {
        #[command(flatten)]
        metadata: Box<MetadataArgs>,
        #[command(flatten)]
        issuer: IssuerSettings,
    },
    /// List clients.
    List,
    /// Delete a client and revoke every token issued to it.
    Remove {
        /// The client's client_id.
        #[arg(long)]
        client_id: String,
    },
    /// Generate a new secret for a confidential client (the old one stops working at once).
    RotateSecret {
        /// The client's client_id.
        #[arg(long)]
        client_id: String,
    },
}

/// What `tessera client add` registers.
#[derive(Clone, Debug, Args)]
pub struct MetadataArgs {
    /// Name shown to users on the consent page.
    #[arg(long)]
    name: String,
    /// Exact redirect URI (repeatable): https, http on a loopback host, or com.example.app:/path.
    #[arg(long = "redirect-uri", value_name = "URI")]
    redirect_uris: Vec<String>,
    /// A public client (no secret; PKCE required).
    #[arg(long)]
    public: bool,
    /// Grant type (repeatable): authorization_code, refresh_token, client_credentials.
    #[arg(long = "grant-type", value_name = "GRANT")]
    grant_types: Vec<String>,
    /// Allowed scope (repeatable; default: openid profile email offline_access).
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// ID-token signing algorithm: RS256 or ES256.
    #[arg(long, default_value = "RS256")]
    id_token_alg: SigningAlg,
    /// Token endpoint authentication: client_secret_basic (default), client_secret_post, private_key_jwt, none (public).
    #[arg(long, value_name = "METHOD")]
    auth_method: Option<AuthMethod>,
    /// The client's public keys for private_key_jwt: a JWKS file path or inline JSON.
    #[arg(long, value_name = "FILE|JSON")]
    jwks: Option<String>,
    /// Use this client_id instead of a generated one.
    #[arg(long)]
    client_id: Option<String>,
}

impl MetadataArgs {
    fn into_metadata(self) -> anyhow::Result<ClientMetadata> {
        let jwks = match self.jwks {
            Some(jwks) if jwks.trim_start().starts_with('{') => Some(jwks),
            Some(path) => Some(
                std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read the JWKS file {path}"))?,
            ),
            None => None,
        };
        Ok(ClientMetadata {
            name: self.name,
            redirect_uris: self.redirect_uris,
            public: self.public,
            grant_types: self.grant_types,
            scopes: self.scopes,
            id_token_alg: self.id_token_alg,
            auth_method: self.auth_method,
            jwks,
            client_id: self.client_id,
        })
    }
}

/// A client for output: everything but its secret.
fn describe(c: &Client) -> serde_json::Value {
    json!({
        "client_id": c.client_id,
        "client_name": c.name,
        "public": c.public,
        "token_endpoint_auth_method": c.auth_method.as_str(),
        "redirect_uris": c.redirect_uris,
        "grant_types": c.grant_types,
        "scope": c.scopes.to_string(),
        "id_token_signed_response_alg": c.id_token_alg.as_str(),
    })
}

pub async fn run(store: &StoreSettings, json: bool, command: ClientCommand) -> anyhow::Result<()> {
    let now = SystemClock.now();
    match command {
        ClientCommand::Add { metadata, issuer } => {
            let metadata = metadata.into_metadata()?;
            let db = open(store).await?;
            let keys = crate::jose::keys::Keys::load_shared(&db, &store.keys_dir, now).await?;
            let (client, secret) =
                clients::register(&db, &keys.client_secret_pepper, metadata, now).await?;
            let mut value = describe(&client);
            value["client_secret"] = json!(secret);
            let mut text = format!(
                "Registered client {} ({}).\n  client_id: {}\n",
                client.name,
                client.auth_method.as_str(),
                client.client_id
            );
            if let Some(secret) = &secret {
                text.push_str(&format!("  client_secret: {secret}\nStore the secret now: it is shown only once and cannot be recovered.\n"));
            }
            text.push_str(&format!(
                "Discovery for your app: {}/.well-known/openid-configuration",
                issuer.issuer_str()
            ));
            print(json, value, &text);
        }
        ClientCommand::List => {
            let db = open(store).await?;
            let rows = storage::clients::list(&db)
                .await?
                .iter()
                .map(|c| {
                    let mut value = describe(c);
                    // What `client_name` was called before; kept for existing scripts.
                    value["name"] = json!(c.name);
                    let redirects = if c.redirect_uris.is_empty() {
                        "-".to_string()
                    } else {
                        c.redirect_uris.join(",")
                    };
                    let cells = vec![
                        c.client_id.clone(),
                        c.name.clone(),
                        c.auth_method.as_str().into(),
                        c.grant_types.join(","),
                        redirects,
                    ];
                    (value, cells)
                })
                .collect();
            Table {
                header: &["CLIENT_ID", "NAME", "AUTH_METHOD", "GRANT_TYPES", "REDIRECT_URIS"],
                rows,
                empty: "No clients. Register one with: tessera client add --name NAME --redirect-uri URI",
            }
            .print(json);
        }
        ClientCommand::Remove { client_id } => {
            let db = open(store).await?;
            if !storage::clients::remove(&db, &client_id, now).await? {
                bail!("no client with id {client_id}");
            }
            // Return only once every running instance has dropped the client from its cache.
            tokio::time::sleep(storage::client_cache::VISIBLE_AFTER).await;
            print(
                json,
                json!({"client_id": client_id, "removed": true}),
                &format!("Removed client {client_id}; its tokens no longer work."),
            );
        }
        ClientCommand::RotateSecret { client_id } => {
            let db = open(store).await?;
            let Some(client) = storage::clients::find(&db, &client_id).await? else {
                bail!("no client with id {client_id}")
            };
            if !client.auth_method.uses_secret() {
                bail!("client {client_id} does not authenticate with a secret");
            }
            let keys = crate::jose::keys::Keys::load_shared(&db, &store.keys_dir, now).await?;
            let secret = random_token(32);
            storage::clients::set_secret_hash(
                &db,
                &client_id,
                &client_secret_hash(&keys.client_secret_pepper, &secret),
                now,
            )
            .await?;
            tokio::time::sleep(storage::client_cache::VISIBLE_AFTER).await;
            print(
                json,
                json!({"client_id": client_id, "client_secret": secret}),
                &format!("New secret for {client_id}: {secret}\nStore it now: it is shown only once. The old secret no longer works."),
            );
        }
    }
    Ok(())
}
