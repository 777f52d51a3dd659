//! `tessera client add | list | show | update | grant-role | revoke-role | remove |
//! rotate-secret`. The rules are in `crate::clients`.
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde_json::json;

use super::output::{open, print, Table};
use crate::audit::{self, AuditEvent, Kind};
use crate::clients::{self, rfc7591, ClientMetadata};
use crate::clock::{Clock, SystemClock};
use crate::config::{IssuerSettings, StoreSettings};
use crate::secrets::{client_secret_hash, random_token};
use crate::storage::{self, clients::Client};
use crate::types::{AuthMethod, SigningAlg};

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Register a client. A confidential client's secret is printed once and stored hashed.
    Add {
        /// Name shown to users on the consent page.
        #[arg(long)]
        name: String,
        /// Use this client_id instead of a generated one.
        #[arg(long)]
        client_id: Option<String>,
        #[command(flatten)]
        metadata: Box<MetadataArgs>,
        /// Restrict the client to one organization (id or slug): it signs users in and gets
        /// client-credentials tokens for that organization only.
        #[arg(long, value_name = "ORG")]
        organization: Option<String>,
        #[command(flatten)]
        issuer: IssuerSettings,
    },
    /// List clients.
    List,
    /// Show everything registered for a client (never its secret).
    Show {
        /// The client's client_id.
        #[arg(long)]
        client_id: String,
    },
    /// Change a client: each flag given replaces that field (a repeated flag, the whole list).
    Update {
        /// The client's client_id.
        #[arg(long)]
        client_id: String,
        /// Name shown to users on the consent page.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        metadata: Box<MetadataArgs>,
        /// Restrict the client to this organization (id or slug); its tokens for any other are revoked.
        #[arg(long, value_name = "ORG")]
        organization: Option<String>,
        /// Lift the client's organization restriction.
        #[arg(long, conflicts_with = "organization")]
        no_organization: bool,
    },
    /// Grant a role to a client (its client_credentials tokens carry it with the roles scope).
    GrantRole {
        /// The client's client_id.
        #[arg(long)]
        client_id: String,
        /// The role's name.
        #[arg(long)]
        role: String,
    },
    /// Revoke a role from a client.
    RevokeRole {
        /// The client's client_id.
        #[arg(long)]
        client_id: String,
        /// The role's name.
        #[arg(long)]
        role: String,
    },
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

/// The metadata flags of `client add` and `client update`.
#[derive(Clone, Debug, Args)]
pub struct MetadataArgs {
    /// Exact redirect URI (repeatable): https, http on a loopback host, or com.example.app:/path.
    #[arg(long = "redirect-uri", value_name = "URI")]
    redirect_uris: Vec<String>,
    /// A public client (no secret; PKCE required).
    #[arg(long)]
    public: bool,
    /// Grant type (repeatable): authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:token-exchange.
    #[arg(long = "grant-type", value_name = "GRANT")]
    grant_types: Vec<String>,
    /// Allowed scope (repeatable; default: openid profile email offline_access).
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// ID-token signing algorithm: RS256 (default) or ES256.
    #[arg(long, value_name = "ALG")]
    id_token_alg: Option<SigningAlg>,
    /// Token endpoint authentication: client_secret_basic (default), client_secret_post, private_key_jwt, none (public).
    #[arg(long, value_name = "METHOD")]
    auth_method: Option<AuthMethod>,
    /// The client's public keys for private_key_jwt: a JWKS file path or inline JSON.
    #[arg(long, value_name = "FILE|JSON")]
    jwks: Option<String>,
    /// Instead of --jwks: the https URL where the client publishes its public keys (fetched when it authenticates).
    #[arg(long, value_name = "URL", conflicts_with = "jwks")]
    jwks_uri: Option<String>,
    /// The app's home page (https), linked on the consent page.
    #[arg(long, value_name = "URL")]
    client_uri: Option<String>,
    /// The app's logo (https).
    #[arg(long, value_name = "URL")]
    logo_uri: Option<String>,
    /// The app's privacy policy (https), linked on the consent page.
    #[arg(long, value_name = "URL")]
    policy_uri: Option<String>,
    /// The app's terms of service (https).
    #[arg(long, value_name = "URL")]
    tos_uri: Option<String>,
    /// Where logout may send the browser back to (repeatable, exact).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    post_logout_redirect_uris: Vec<String>,
    /// Where back-channel logout tokens are posted (https, or http on a loopback host).
    #[arg(long, value_name = "URL")]
    backchannel_logout_uri: Option<String>,
    /// Logout tokens for this client must carry the session id (sid).
    #[arg(long)]
    backchannel_logout_session_required: bool,
    /// Browser origin allowed to call the token endpoint (repeatable; default: the redirect URIs' origins).
    #[arg(long = "web-origin", value_name = "ORIGIN")]
    allowed_cors_origins: Vec<String>,
}

fn read_jwks(jwks: String) -> anyhow::Result<String> {
    if jwks.trim_start().starts_with('{') {
        return Ok(jwks);
    }
    std::fs::read_to_string(&jwks).with_context(|| format!("cannot read the JWKS file {jwks}"))
}

impl MetadataArgs {
    /// Applies the flags given to `metadata` (the defaults for `add`, the current client's
    /// metadata for `update`).
    fn apply(self, mut m: ClientMetadata) -> anyhow::Result<ClientMetadata> {
        let replace = |list: &mut Vec<String>, given: Vec<String>| {
            if !given.is_empty() {
                *list = given;
            }
        };
        replace(&mut m.redirect_uris, self.redirect_uris);
        replace(&mut m.grant_types, self.grant_types);
        replace(&mut m.scopes, self.scopes);
        replace(
            &mut m.post_logout_redirect_uris,
            self.post_logout_redirect_uris,
        );
        replace(&mut m.allowed_cors_origins, self.allowed_cors_origins);
        if self.public {
            m.public = true;
            m.auth_method = Some(AuthMethod::None);
        }
        if let Some(method) = self.auth_method {
            m.auth_method = Some(method);
            m.public = method == AuthMethod::None;
        }
        if let Some(alg) = self.id_token_alg {
            m.id_token_alg = alg;
        }
        // Keys by value or by reference: giving one replaces the other.
        if let Some(jwks) = self.jwks {
            m.jwks = Some(read_jwks(jwks)?);
            m.jwks_uri = None;
        }
        if let Some(uri) = self.jwks_uri {
            m.jwks_uri = Some(uri);
            m.jwks = None;
        }
        for (field, given) in [
            (&mut m.client_uri, self.client_uri),
            (&mut m.logo_uri, self.logo_uri),
            (&mut m.policy_uri, self.policy_uri),
            (&mut m.tos_uri, self.tos_uri),
            (&mut m.backchannel_logout_uri, self.backchannel_logout_uri),
        ] {
            if given.is_some() {
                *field = given;
            }
        }
        if self.backchannel_logout_session_required {
            m.backchannel_logout_session_required = true;
        }
        Ok(m)
    }
}

/// A client for output: everything but its secret.
fn describe(c: &Client) -> serde_json::Value {
    let mut value = rfc7591::client_to_json(c);
    value["public"] = json!(c.public);
    value
}

/// A client for people: one field a line.
fn describe_text(c: &Client) -> String {
    let value = describe(c);
    let mut text = String::new();
    if let Some(fields) = value.as_object() {
        for (field, v) in fields {
            let shown = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(a) if a.is_empty() => "-".into(),
                serde_json::Value::Array(a) => a
                    .iter()
                    .map(|x| {
                        x.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| x.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
                other => other.to_string(),
            };
            text.push_str(&format!("  {field}: {shown}\n"));
        }
    }
    text
}

pub async fn run(store: &StoreSettings, json: bool, command: ClientCommand) -> anyhow::Result<()> {
    let now = SystemClock.now();
    match command {
        ClientCommand::Add {
            name,
            client_id,
            metadata,
            organization,
            issuer,
        } => {
            let metadata = metadata.apply(ClientMetadata {
                name,
                client_id,
                ..ClientMetadata::default()
            })?;
            let db = open(store).await?;
            let org = match &organization {
                Some(named) => Some(super::roles::organization_named(&db, named).await?),
                None => None,
            };
            let keys = crate::jose::keys::Keys::load_shared(&db, store, now).await?;
            let (client, secret) =
                clients::register(&db, &keys.client_secret_key, metadata, now).await?;
            if let Some(org) = &org {
                storage::organizations::restrict_client(&db, &client.client_id, Some(&org.id), now)
                    .await?;
                restriction_event(&db, &client.client_id, Some(&org.id)).await;
                // An instance may have cached the client between its registration and its
                // restriction: return once every instance has dropped that copy.
                tokio::time::sleep(storage::client_cache::VISIBLE_AFTER).await;
            }
            audit::record_now(
                &db,
                AuditEvent::new(Kind::ClientRegistered)
                    .client(&client.client_id)
                    .reason("cli"),
            )
            .await;
            let mut value = describe(&client);
            value["client_secret"] = json!(secret);
            value["organization_id"] = json!(org.as_ref().map(|o| o.id.clone()));
            let mut text = format!(
                "Registered client {} ({}).\n  client_id: {}\n",
                client.name,
                client.auth_method.as_str(),
                client.client_id
            );
            if let Some(org) = &org {
                text.push_str(&format!("  organization: {} ({})\n", org.slug, org.id));
            }
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
        ClientCommand::Show { client_id } => {
            let db = open(store).await?;
            let Some(client) = storage::clients::find(&db, &client_id).await? else {
                bail!("no client with id {client_id}")
            };
            let restricted = storage::organizations::of_client(&db, &client_id).await?;
            let mut value = describe(&client);
            value["organization_id"] = json!(restricted);
            print(
                json,
                value,
                &format!(
                    "Client {}:\n{}  organization: {}\nChange it with: tessera client update --client-id {}",
                    client.name,
                    describe_text(&client),
                    restricted.as_deref().unwrap_or("- (not restricted)"),
                    client.client_id
                ),
            );
        }
        ClientCommand::Update {
            client_id,
            name,
            metadata,
            organization,
            no_organization,
        } => {
            let db = open(store).await?;
            let Some(old) = storage::clients::find(&db, &client_id).await? else {
                bail!("no client with id {client_id}")
            };
            let mut current = ClientMetadata::from_client(&old);
            if let Some(name) = name {
                current.name = name;
            }
            let metadata = metadata.apply(current)?;
            let org = match &organization {
                Some(named) => Some(super::roles::organization_named(&db, named).await?),
                None => None,
            };
            let keys = crate::jose::keys::Keys::load_shared(&db, store, now).await?;
            let (client, secret) =
                clients::update(&db, &keys.client_secret_key, &client_id, metadata, now).await?;
            if org.is_some() || no_organization {
                storage::organizations::restrict_client(
                    &db,
                    &client_id,
                    org.as_ref().map(|o| o.id.as_str()),
                    now,
                )
                .await?;
                restriction_event(&db, &client_id, org.as_ref().map(|o| o.id.as_str())).await;
            }
            let restricted = storage::organizations::of_client(&db, &client_id).await?;
            audit::record_now(
                &db,
                AuditEvent::new(Kind::ClientUpdated)
                    .client(&client.client_id)
                    .reason("cli"),
            )
            .await;
            // Return only once every running instance has dropped its cached copy.
            tokio::time::sleep(storage::client_cache::VISIBLE_AFTER).await;
            let mut value = describe(&client);
            value["organization_id"] = json!(restricted);
            let mut text = format!(
                "Updated client {}:\n{}",
                client.name,
                describe_text(&client)
            );
            text.push_str(&format!(
                "  organization: {}\n",
                restricted.as_deref().unwrap_or("- (not restricted)")
            ));
            if let Some(secret) = &secret {
                value["client_secret"] = json!(secret);
                text.push_str(&format!("  client_secret: {secret}\nIt now authenticates with this secret: store it now, it is shown only once.\n"));
            }
            print(json, value, text.trim_end());
        }
        ClientCommand::GrantRole { client_id, role } => {
            client_grant(store, json, true, &client_id, &role).await?
        }
        ClientCommand::RevokeRole { client_id, role } => {
            client_grant(store, json, false, &client_id, &role).await?
        }
        ClientCommand::Remove { client_id } => {
            let db = open(store).await?;
            if !storage::clients::remove(&db, &client_id, now).await? {
                bail!("no client with id {client_id}");
            }
            audit::record_now(
                &db,
                AuditEvent::new(Kind::ClientDeleted)
                    .client(&client_id)
                    .reason("cli"),
            )
            .await;
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
            let keys = crate::jose::keys::Keys::load_shared(&db, store, now).await?;
            let secret = random_token(32);
            storage::clients::set_secret_hash(
                &db,
                &client_id,
                &client_secret_hash(&keys.client_secret_key, &secret),
                now,
            )
            .await?;
            audit::record_now(
                &db,
                AuditEvent::new(Kind::ClientUpdated)
                    .client(&client_id)
                    .reason("cli_secret_rotated"),
            )
            .await;
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

/// A client's roles hold where its tokens speak: within the organization it is restricted
/// to, or globally if it is not restricted.
async fn client_grant(
    store: &StoreSettings,
    json: bool,
    grant: bool,
    client_id: &str,
    role: &str,
) -> anyhow::Result<()> {
    use crate::storage::roles::{Holder, Within};
    let db = open(store).await?;
    if storage::clients::find(&db, client_id).await?.is_none() {
        bail!("no client with id {client_id} (list them with: tessera client list)");
    }
    let org = match storage::organizations::of_client(&db, client_id).await? {
        Some(id) => storage::organizations::find(&db, &id).await?,
        None => None,
    };
    let within = match &org {
        Some(org) => Within::Organization(&org.id),
        None => Within::Global,
    };
    let who = format!("client {client_id}");
    super::roles::change_grant(
        &db,
        json,
        grant,
        role,
        (Holder::Client(client_id), &who),
        (within, org.as_ref()),
    )
    .await
}

async fn restriction_event(db: &storage::Db, client_id: &str, organization_id: Option<&str>) {
    let event = AuditEvent::new(Kind::AuthorizationChanged).client(client_id);
    let event = match organization_id {
        Some(id) => event
            .reason("client_restricted")
            .target(crate::audit::Target::Organization(id.to_string())),
        None => event.reason("client_unrestricted"),
    };
    audit::record_now(db, event).await;
}
