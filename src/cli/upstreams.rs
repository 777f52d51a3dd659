//! `tessera upstream add | list | remove`.
use std::io::Read;

use anyhow::{bail, Context};
use clap::Subcommand;
use serde_json::json;

use super::output::{open, print, Table};
use crate::clock::{Clock, SystemClock};
use crate::config::{IssuerSettings, StoreSettings, DEFAULT_ISSUER};
use crate::federation::upstream::{self, Preset, UpstreamSpec};
use crate::federation::{provider, CALLBACK_PATH};
use crate::storage::upstreams::{self as store, Upstream};

#[derive(Subcommand)]
pub enum UpstreamCommand {
    /// Register an upstream OpenID provider; the client secret is read from standard input.
    Add(AddArgs),
    /// List upstream providers (never their secrets).
    List {
        #[command(flatten)]
        issuer: IssuerSettings,
    },
    /// Remove an upstream provider; its button leaves the login page at once.
    Remove {
        /// The upstream's short name.
        #[arg(long)]
        name: String,
    },
}

#[derive(Clone, Debug, clap::Args)]
pub struct AddArgs {
    /// Short name: 1-64 characters among a-z, 0-9 and - (it appears in URLs).
    #[arg(long)]
    pub name: String,
    /// Fill the issuer, scopes and quirks of a well-known provider.
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// The upstream's issuer URL (required without --preset; overrides the preset's issuer).
    // `--issuer` is this flag's former spelling, kept for existing scripts.
    // A string, not a URL: it is stored exactly as the provider spells it.
    #[arg(long, alias = "issuer", value_name = "URL")]
    pub upstream_issuer: Option<String>,
    /// The client ID registered at the upstream.
    #[arg(long)]
    pub client_id: String,
    /// Read the client secret from standard input (required; never on the command line).
    #[arg(long)]
    pub client_secret_stdin: bool,
    /// Scope to request (repeatable; default: openid email profile; openid is always sent).
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// Only accept accounts of this Google Workspace domain (`--preset google`).
    #[arg(long)]
    pub hosted_domain: Option<String>,
    /// Tessera's own public issuer URL, used in the callback URL printed.
    #[arg(long, env = "TESSERA_ISSUER", default_value = DEFAULT_ISSUER, value_name = "URL")]
    pub tessera_issuer: url::Url,
}

pub async fn run(
    store: &StoreSettings,
    json: bool,
    command: UpstreamCommand,
) -> anyhow::Result<()> {
    match command {
        UpstreamCommand::Add(args) => add(store, json, args).await,
        UpstreamCommand::List { issuer } => list(store, &issuer, json).await,
        UpstreamCommand::Remove { name } => remove(store, &name, json).await,
    }
}

/// The one redirect URI to register at every upstream.
fn callback_url(issuer: &IssuerSettings) -> String {
    format!("{}{CALLBACK_PATH}", issuer.issuer_str())
}

fn read_secret() -> anyhow::Result<String> {
    let mut input = String::new();
    std::io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut input)
        .context("cannot read the client secret from standard input")?;
    let secret = input.trim_end_matches(['\n', '\r']).to_string();
    if secret.is_empty() {
        bail!("the client secret on standard input is empty");
    }
    Ok(secret)
}

async fn add(store: &StoreSettings, json: bool, args: AddArgs) -> anyhow::Result<()> {
    if !args.client_secret_stdin {
        bail!("pass --client-secret-stdin and give the client secret on standard input (never on the command line)");
    }
    // Fail on bad input before reading the secret or touching the database.
    upstream::check_name(&args.name).map_err(anyhow::Error::msg)?;
    let secret = read_secret()?;
    let db = open(store).await?;
    let spec = UpstreamSpec {
        name: args.name,
        preset: args.preset,
        issuer: args.upstream_issuer,
        client_id: args.client_id,
        client_secret: secret,
        scopes: args.scopes,
        hosted_domain: args.hosted_domain,
    };
    let mut row = upstream::build(spec, SystemClock.now()).map_err(anyhow::Error::msg)?;
    if store::find(&db, &row.name).await?.is_some() {
        bail!("an upstream named {} already exists", row.name);
    }
    let callback = callback_url(&IssuerSettings {
        issuer: args.tessera_issuer,
    });
    // Discovery now only warns: the provider may be reachable from the server but not here.
    let (issuer, warning) = check_discovery(&row.issuer).await;
    if issuer != row.issuer {
        eprintln!(
            "note: the provider names itself {issuer}, not {}; using its spelling (discovery compares issuers exactly).",
            row.issuer
        );
        row.issuer = issuer;
    }
    let keys = crate::jose::keys::Keys::load_shared(&db, store, SystemClock.now()).await?;
    let upstream = upstream::insert_new(&db, &keys.master(), row).await?;
    let mut value = describe(&upstream, &callback);
    value["discovered"] = json!(warning.is_none());
    if let Some(warning) = &warning {
        value["warning"] = json!(warning);
    }
    let preset = upstream
        .preset
        .as_deref()
        .map(|p| format!(", preset {p}"))
        .unwrap_or_default();
    let mut text = format!(
        "Added upstream {} (issuer {}{preset}, scopes {}).\nRegister this redirect URI at the provider: {callback}\nThe login page now shows \"Sign in with {}\".",
        upstream.name,
        upstream.issuer,
        upstream.scopes,
        upstream::label(&upstream),
    );
    if let Some(domain) = &upstream.hosted_domain {
        text.push_str(&format!("\nOnly {domain} accounts are accepted."));
    }
    if let Some(warning) = &warning {
        eprintln!("warning: the issuer could not be discovered now ({warning}); logins through it will fail until it is reachable from the server.");
    }
    print(json, value, &text);
    Ok(())
}

async fn list(store: &StoreSettings, issuer: &IssuerSettings, json: bool) -> anyhow::Result<()> {
    let db = open(store).await?;
    let callback = callback_url(issuer);
    let list = store::list(&db).await?;
    let any = !list.is_empty();
    let rows = list
        .iter()
        .map(|u| {
            let cells = vec![
                u.name.clone(),
                u.issuer.clone(),
                u.client_id.clone(),
                u.preset.clone().unwrap_or_else(|| "-".into()),
            ];
            (describe(u, &callback), cells)
        })
        .collect();
    Table {
        header: &["NAME", "ISSUER", "CLIENT_ID", "PRESET"],
        rows,
        empty: "No upstream providers. Add one with: tessera upstream add --name NAME --upstream-issuer URL --client-id ID --client-secret-stdin",
    }
    .print(json);
    if any && !json {
        println!("Redirect URI to register at each provider: {callback}");
    }
    Ok(())
}

async fn remove(store: &StoreSettings, name: &str, json: bool) -> anyhow::Result<()> {
    let db = open(store).await?;
    if !store::remove(&db, name).await? {
        bail!("no upstream named {name}");
    }
    print(
        json,
        json!({"name": name, "removed": true}),
        &format!("Removed upstream {name}. Accounts linked through it keep their links and can sign in again if it is re-added with the same issuer."),
    );
    Ok(())
}

/// Discovers `issuer` (or, failing that, the same URL with or without its trailing slash, a
/// common spelling mismatch) and returns the spelling that works and any warning.
async fn check_discovery(issuer: &str) -> (String, Option<String>) {
    let http = match provider::http_client() {
        Ok(http) => http,
        Err(e) => return (issuer.to_string(), Some(e.to_string())),
    };
    let error = match provider::discover(&http, issuer).await {
        Ok(_) => return (issuer.to_string(), None),
        Err(e) => e.to_string(),
    };
    let other = match issuer.strip_suffix('/') {
        Some(trimmed) => trimmed.to_string(),
        None => format!("{issuer}/"),
    };
    if upstream::check_issuer(&other).is_ok() && provider::discover(&http, &other).await.is_ok() {
        return (other, None);
    }
    (issuer.to_string(), Some(error))
}

/// An upstream for output: everything but the client secret.
fn describe(u: &Upstream, callback: &str) -> serde_json::Value {
    json!({
        "name": u.name,
        "preset": u.preset,
        "issuer": u.issuer,
        "client_id": u.client_id,
        "scopes": u.scopes,
        "hosted_domain": u.hosted_domain,
        "callback_url": callback,
    })
}
