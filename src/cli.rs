//! The command line: `serve` (the default), `migrate`, `user`, `client`, `upstream`. Every
//! command says what it did and what to do next; `--json` prints a machine-readable result.
use std::io::Read;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use serde_json::json;

use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::secrets::{client_secret_hash, random_token, Secret};
use crate::storage::clients::Client;
use crate::storage::{self, users};
use crate::types::{AuthMethod, SigningAlg};

pub mod keys;

#[derive(Parser)]
#[command(
    name = "tessera",
    version,
    about = "An OAuth 2.0 / OpenID Connect authorization server"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage local users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage OAuth clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage upstream OpenID providers.
    #[command(subcommand)]
    Upstream(crate::federation::cli::UpstreamCommand),
    /// Signing keys (rotation) and the master key.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from standard input.
    Add {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: Option<String>,
        /// Mark the email address as verified.
        #[arg(long)]
        email_verified: bool,
        #[arg(long)]
        name: Option<String>,
        /// Read the password from standard input (required).
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        json: bool,
    },
    /// List users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disable a user: logins fail and their tokens stop working at once.
    Disable {
        #[arg(long)]
        username: String,
        #[arg(long)]
        json: bool,
    },
    /// Enable a disabled user.
    Enable {
        #[arg(long)]
        username: String,
        #[arg(long)]
        json: bool,
    },
    /// Set a user's password, read from standard input.
    SetPassword {
        #[arg(long)]
        username: String,
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        json: bool,
    },
}

/// What `tessera client add` registers.
#[derive(Clone, Debug, clap::Args)]
pub struct ClientSpec {
    #[arg(long)]
    pub name: String,
    /// Exact redirect URI (repeatable).
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// A public client (no secret; PKCE required).
    #[arg(long)]
    pub public: bool,
    /// Grant type (repeatable): authorization_code, refresh_token, client_credentials.
    #[arg(long = "grant-type")]
    pub grant_types: Vec<String>,
    /// Allowed scope (repeatable; default: openid profile email offline_access).
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// ID-token signing algorithm.
    #[arg(long, default_value = "RS256")]
    pub id_token_alg: SigningAlg,
    /// Token endpoint authentication method (default: client_secret_basic, or none if --public).
    #[arg(long)]
    pub auth_method: Option<AuthMethod>,
    /// The client's public keys for private_key_jwt: a JWKS file path or inline JSON.
    #[arg(long)]
    pub jwks: Option<String>,
    /// Use this client_id instead of a generated one.
    #[arg(long)]
    pub client_id: Option<String>,
}

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Register a client. A confidential client's secret is printed once and stored hashed.
    Add {
        #[command(flatten)]
        spec: ClientSpec,
        #[arg(long)]
        json: bool,
    },
    /// List clients.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete a client and revoke every token issued to it.
    Remove {
        #[arg(long)]
        client_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Generate a new secret for a confidential client (the old one stops working at once).
    RotateSecret {
        #[arg(long)]
        client_id: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = cli.settings;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate => {
            let db = open(&settings).await?;
            drop(db);
            println!(
                "Database {} is up to date.",
                crate::server::redact_url(&settings.database_url)
            );
            Ok(())
        }
        Command::User(command) => user(settings, command).await,
        Command::Client(command) => client(settings, command).await,
        Command::Upstream(command) => crate::federation::cli::run(&settings, command).await,
        Command::Keys(command) => keys::run(&settings, command).await,
    }
}

/// Opens and migrates the database the server uses.
pub async fn open(settings: &Settings) -> anyhow::Result<storage::Db> {
    let db = storage::connect(&settings.database_url, Some(2))
        .await
        .with_context(|| {
            format!(
                "cannot open the database {}",
                crate::server::redact_url(&settings.database_url)
            )
        })?;
    storage::migrate(&db)
        .await
        .context("database migration failed")?;
    Ok(db)
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let listen = settings.listen;
    let issuer = settings.issuer_str();
    let state = crate::server::build_state(settings, Arc::new(SystemClock)).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!(%issuer, %listen, "Tessera is serving");
    eprintln!(
        "Tessera {} listening on http://{listen} (issuer {issuer})",
        env!("CARGO_PKG_VERSION")
    );
    eprintln!("Discovery: {issuer}/.well-known/openid-configuration");
    if users::list(&state.db).await?.is_empty()
        || storage::clients::list(&state.db).await?.is_empty()
    {
        eprintln!("The database has no users or no clients yet. Create them with:");
        eprintln!("  echo 'a-strong-password' | tessera user add --username alice --email alice@example.com --password-stdin");
        eprintln!("  tessera client add --name 'My app' --redirect-uri http://127.0.0.1:3000/callback --json");
    }
    crate::server::serve(state, listener)
        .await
        .context("server failed")
}

fn read_password() -> anyhow::Result<Secret> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("cannot read the password from standard input")?;
    let password = input.trim_end_matches(['\n', '\r']).to_string();
    if password.chars().count() < 8 {
        bail!("the password must be at least 8 characters");
    }
    if password.len() > 1024 {
        bail!("the password must be at most 1024 bytes");
    }
    Ok(Secret(password))
}

fn print(json_output: bool, value: serde_json::Value, text: &str) {
    if json_output {
        println!("{value}");
    } else {
        println!("{text}");
    }
}

async fn user(settings: Settings, command: UserCommand) -> anyhow::Result<()> {
    let db = open(&settings).await?;
    let now = SystemClock.now();
    match command {
        UserCommand::Add {
            username,
            email,
            email_verified,
            name,
            password_stdin,
            json,
        } => {
            if !password_stdin {
                bail!("pass --password-stdin and give the password on standard input (never on the command line)");
            }
            if username.is_empty()
                || username.len() > 128
                || username.chars().any(char::is_whitespace)
            {
                bail!("the username must be 1-128 characters without spaces");
            }
            if users::find_by_username(&db, &username).await?.is_some() {
                bail!("a user named {username} already exists");
            }
            let password = read_password()?;
            let hash = tokio::task::spawn_blocking(move || {
                crate::accounts::password::hash_blocking(&password)
            })
            .await??;
            let user = users::insert(
                &db,
                users::NewUser {
                    username,
                    email,
                    email_verified,
                    name,
                    password_hash: Some(hash),
                },
                now,
            )
            .await?;
            print(
                json,
                json!({ "id": user.id, "username": user.username }),
                &format!(
                    "Added user {} (sub {}). They can now sign in at {}.",
                    user.username,
                    user.id,
                    settings.issuer_str()
                ),
            );
        }
        UserCommand::List { json } => {
            let list = users::list(&db).await?;
            if json {
                let rows: Vec<_> = list
                    .iter()
                    .map(|u| json!({"id": u.id, "username": u.username, "email": u.email, "email_verified": u.email_verified, "name": u.name, "disabled": u.disabled}))
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else if list.is_empty() {
                println!(
                    "No users. Add one with: tessera user add --username NAME --password-stdin"
                );
            } else {
                for u in list {
                    let state = if u.disabled { " (disabled)" } else { "" };
                    println!(
                        "{}\t{}\t{}{}",
                        u.username,
                        u.id,
                        u.email.unwrap_or_default(),
                        state
                    );
                }
            }
        }
        UserCommand::Disable { username, json } => {
            let Some(user) = users::find_by_username(&db, &username).await? else {
                bail!("no user named {username}")
            };
            users::set_disabled(&db, &username, true, now).await?;
            storage::families::revoke_for_user(&db, &user.id, now).await?;
            print(
                json,
                json!({"username": username, "disabled": true}),
                &format!("Disabled {username}; their sessions and tokens no longer work."),
            );
        }
        UserCommand::Enable { username, json } => {
            if !users::set_disabled(&db, &username, false, now).await? {
                bail!("no user named {username}");
            }
            print(
                json,
                json!({"username": username, "disabled": false}),
                &format!("Enabled {username}; they can sign in again."),
            );
        }
        UserCommand::SetPassword {
            username,
            password_stdin,
            json,
        } => {
            if !password_stdin {
                bail!("pass --password-stdin and give the password on standard input");
            }
            let password = read_password()?;
            let hash = tokio::task::spawn_blocking(move || {
                crate::accounts::password::hash_blocking(&password)
            })
            .await??;
            if !users::set_password(&db, &username, &hash, now).await? {
                bail!("no user named {username}");
            }
            print(
                json,
                json!({"username": username}),
                &format!("Set a new password for {username}."),
            );
        }
    }
    Ok(())
}

async fn client(settings: Settings, command: ClientCommand) -> anyhow::Result<()> {
    let db = open(&settings).await?;
    let now = SystemClock.now();
    match command {
        ClientCommand::Add { spec, json } => {
            let keys = crate::jose::keys::Keys::load_shared(&db, &settings, now).await?;
            let (client, secret) =
                register_client(&db, &keys.client_secret_pepper, spec, now).await?;
            let value = json!({
                "client_id": client.client_id,
                "client_secret": secret,
                "token_endpoint_auth_method": client.auth_method.as_str(),
                "redirect_uris": client.redirect_uris,
                "grant_types": client.grant_types,
                "scope": client.scopes.to_string(),
            });
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
                settings.issuer_str()
            ));
            print(json, value, &text);
        }
        ClientCommand::List { json } => {
            let list = storage::clients::list(&db).await?;
            if json {
                let rows: Vec<_> = list
                    .iter()
                    .map(|c| json!({"client_id": c.client_id, "name": c.name, "public": c.public, "token_endpoint_auth_method": c.auth_method.as_str(), "redirect_uris": c.redirect_uris, "grant_types": c.grant_types, "scope": c.scopes.to_string(), "id_token_signed_response_alg": c.id_token_alg.as_str()}))
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else if list.is_empty() {
                println!("No clients. Register one with: tessera client add --name NAME --redirect-uri URI");
            } else {
                for c in list {
                    println!(
                        "{}\t{}\t{}\t{}",
                        c.client_id,
                        c.name,
                        c.auth_method.as_str(),
                        c.redirect_uris.join(",")
                    );
                }
            }
        }
        ClientCommand::Remove { client_id, json } => {
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
        ClientCommand::RotateSecret { client_id, json } => {
            let Some(client) = storage::clients::find(&db, &client_id).await? else {
                bail!("no client with id {client_id}")
            };
            if !needs_secret(&client) {
                bail!("client {client_id} does not authenticate with a secret");
            }
            let keys = crate::jose::keys::Keys::load_shared(&db, &settings, now).await?;
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

fn needs_secret(client: &Client) -> bool {
    matches!(
        client.auth_method,
        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
    )
}

/// Validates and stores a client; returns it with its secret (shown once), if it has one.
pub async fn register_client(
    db: &storage::Db,
    pepper: &[u8],
    spec: ClientSpec,
    now: i64,
) -> anyhow::Result<(Client, Option<String>)> {
    let mut client = new_client(spec)?;
    if storage::clients::find(db, &client.client_id)
        .await?
        .is_some()
    {
        bail!("a client with id {} already exists", client.client_id);
    }
    let secret = needs_secret(&client).then(|| random_token(32));
    if let Some(secret) = &secret {
        client.secret_hash = Some(client_secret_hash(pepper, secret));
    }
    storage::clients::insert(db, &client, now).await?;
    Ok((client, secret))
}

fn new_client(spec: ClientSpec) -> anyhow::Result<Client> {
    let ClientSpec {
        name,
        redirect_uris,
        public,
        grant_types,
        scopes,
        id_token_alg,
        auth_method,
        jwks,
        client_id,
    } = spec;
    use crate::oauth::params::validate_redirect_uri;
    use crate::types::Scopes;
    let grant_types = if grant_types.is_empty() {
        vec![
            "authorization_code".to_string(),
            "refresh_token".to_string(),
        ]
    } else {
        grant_types
    };
    for g in &grant_types {
        if !["authorization_code", "refresh_token", "client_credentials"].contains(&g.as_str()) {
            bail!("unsupported grant type {g} (use authorization_code, refresh_token or client_credentials)");
        }
    }
    let auth_method = auth_method.unwrap_or(if public {
        AuthMethod::None
    } else {
        AuthMethod::ClientSecretBasic
    });
    if public != (auth_method == AuthMethod::None) {
        bail!("a public client uses --auth-method none, and only a public client may");
    }
    if public && grant_types.iter().any(|g| g == "client_credentials") {
        bail!("a public client cannot use client_credentials");
    }
    if grant_types.iter().any(|g| g == "authorization_code") && redirect_uris.is_empty() {
        bail!("the authorization_code grant needs at least one --redirect-uri");
    }
    for uri in &redirect_uris {
        validate_redirect_uri(uri).map_err(anyhow::Error::msg)?;
    }
    let scopes = if scopes.is_empty() {
        if grant_types == ["client_credentials"] {
            bail!("a client_credentials client needs at least one --scope");
        }
        "openid profile email offline_access".to_string()
    } else {
        scopes.join(" ")
    };
    let scopes = Scopes::parse(&scopes).map_err(|e| anyhow::anyhow!("invalid scope: {e}"))?;
    let jwks = match (auth_method, jwks) {
        (AuthMethod::PrivateKeyJwt, Some(jwks)) => {
            let text = if jwks.trim_start().starts_with('{') {
                jwks
            } else {
                std::fs::read_to_string(&jwks)
                    .with_context(|| format!("cannot read the JWKS file {jwks}"))?
            };
            crate::jose::client_keys::parse_client_jwks(&text).map_err(anyhow::Error::msg)?;
            Some(text)
        }
        (AuthMethod::PrivateKeyJwt, None) => {
            bail!("private_key_jwt needs --jwks with the client's public keys")
        }
        (_, Some(_)) => bail!("--jwks is only for --auth-method private_key_jwt"),
        (_, None) => None,
    };
    let client_id = client_id.unwrap_or_else(generated_client_id);
    if client_id.is_empty()
        || client_id.len() > 128
        || client_id
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        bail!("the client_id must be 1-128 characters without spaces");
    }
    Ok(Client {
        client_id,
        secret_hash: None,
        name,
        redirect_uris,
        grant_types,
        auth_method,
        scopes,
        id_token_alg,
        public,
        jwks,
    })
}

/// A random client_id that never starts with '-' (it must read as a value on any command line).
fn generated_client_id() -> String {
    loop {
        let id = random_token(16);
        if id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return id;
        }
    }
}
