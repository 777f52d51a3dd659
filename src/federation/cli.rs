//! `tessera upstream add | list | remove`.
use std::io::Read;

use anyhow::{bail, Context};
use clap::Subcommand;
use serde_json::json;

use super::upstream::{self, Preset, UpstreamSpec};
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::storage::upstreams::{self as store, Upstream};

#[derive(Subcommand)]
pub enum UpstreamCommand {
    /// Register an upstream OpenID provider; the client secret is read from standard input.
    Add(AddArgs),
    /// List upstream providers (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove an upstream provider; its button leaves the login page at once.
    Remove {
        #[arg(long)]
        name: String,
        #[arg(long)]
        json: bool,
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
    // Same id as Tessera's global `--issuer`, which clap would otherwise refuse; the command
    // line decides which is which (see `split_issuers`).
    #[arg(long, value_name = "URL")]
    pub issuer: Option<url::Url>,
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
    #[arg(long)]
    pub json: bool,
}

pub async fn run(settings: &Settings, command: UpstreamCommand) -> anyhow::Result<()> {
    match command {
        UpstreamCommand::Add(args) => {
            let argv: Vec<String> = std::env::args().collect();
            let (own_issuer, upstream_issuer) = match split_issuers(&argv) {
                Some(split) => split,
                // Not started from a command line we can read: trust clap.
                None => (
                    settings.issuer_str(),
                    args.issuer.as_ref().map(url::Url::to_string),
                ),
            };
            add(settings, &own_issuer, args, upstream_issuer).await
        }
        UpstreamCommand::List { json } => list(settings, json).await,
        UpstreamCommand::Remove { name, json } => remove(settings, &name, json).await,
    }
}

/// `--issuer` is both Tessera's global flag (its own issuer) and `upstream add`'s (the
/// upstream's). clap merges flags that share an id — the global value flows into the
/// subcommand and back — so the command line decides: an `--issuer` after `upstream add` is
/// the upstream's; one before, else `TESSERA_ISSUER`, else the default, is Tessera's.
/// Returns None when `argv` holds no `upstream add`.
pub fn split_issuers(argv: &[String]) -> Option<(String, Option<String>)> {
    let mut stage = 0;
    let mut own_args = Vec::with_capacity(argv.len());
    let mut upstream_issuer = None;
    let mut i = 0;
    while i < argv.len() {
        let arg = &argv[i];
        let value = if arg == "--issuer" {
            i += 1;
            argv.get(i).cloned()
        } else {
            arg.strip_prefix("--issuer=").map(str::to_string)
        };
        match value {
            Some(value) if stage == 2 => upstream_issuer = Some(value),
            Some(value) => {
                own_args.push("--issuer".to_string());
                own_args.push(value);
            }
            None => {
                if stage == 0 && i > 0 && arg == "upstream" {
                    stage = 1;
                } else if stage == 1 && arg == "add" {
                    stage = 2;
                }
                own_args.push(arg.clone());
            }
        }
        i += 1;
    }
    if stage != 2 {
        return None;
    }
    let own = <crate::cli::Cli as clap::Parser>::try_parse_from(&own_args).ok()?;
    Some((own.settings.issuer_str(), upstream_issuer))
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

async fn add(
    settings: &Settings,
    own_issuer: &str,
    args: AddArgs,
    upstream_issuer: Option<String>,
) -> anyhow::Result<()> {
    if !args.client_secret_stdin {
        bail!("pass --client-secret-stdin and give the client secret on standard input (never on the command line)");
    }
    // Fail on bad input before reading the secret or touching the database.
    upstream::check_name(&args.name).map_err(anyhow::Error::msg)?;
    let secret = read_secret()?;
    let db = crate::cli::open(settings).await?;
    let spec = UpstreamSpec {
        name: args.name,
        preset: args.preset,
        issuer: upstream_issuer,
        client_id: args.client_id,
        client_secret: secret,
        scopes: args.scopes,
        hosted_domain: args.hosted_domain,
    };
    let mut row = upstream::build(spec, SystemClock.now()).map_err(anyhow::Error::msg)?;
    if store::find(&db, &row.name).await?.is_some() {
        bail!("an upstream named {} already exists", row.name);
    }
    let callback = format!("{own_issuer}{}", super::CALLBACK_PATH);
    // Discovery now only warns: the provider may be reachable from the server but not here.
    let (issuer, warning) = check_discovery(&row.issuer).await;
    if issuer != row.issuer {
        eprintln!(
            "note: the provider names itself {issuer}, not {}; using its spelling (discovery compares issuers exactly).",
            row.issuer
        );
        row.issuer = issuer;
    }
    let keys = crate::jose::keys::Keys::load_shared(&db, settings, SystemClock.now()).await?;
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
    print(args.json, value, &text);
    Ok(())
}

async fn list(settings: &Settings, json_output: bool) -> anyhow::Result<()> {
    let db = crate::cli::open(settings).await?;
    let callback = super::callback_url(settings);
    let list = store::list(&db).await?;
    if json_output {
        let rows: Vec<_> = list.iter().map(|u| describe(u, &callback)).collect();
        println!("{}", serde_json::Value::Array(rows));
    } else if list.is_empty() {
        println!("No upstream providers. Add one with: tessera upstream add --name NAME --issuer URL --client-id ID --client-secret-stdin");
    } else {
        for u in &list {
            println!(
                "{}\t{}\t{}\t{}",
                u.name,
                u.issuer,
                u.client_id,
                u.preset.as_deref().unwrap_or("-")
            );
        }
        println!("Redirect URI to register at each provider: {callback}");
    }
    Ok(())
}

async fn remove(settings: &Settings, name: &str, json_output: bool) -> anyhow::Result<()> {
    let db = crate::cli::open(settings).await?;
    if !store::remove(&db, name).await? {
        bail!("no upstream named {name}");
    }
    print(
        json_output,
        json!({"name": name, "removed": true}),
        &format!("Removed upstream {name}. Accounts linked through it keep their links and can sign in again if it is re-added with the same issuer."),
    );
    Ok(())
}

/// Discovers `issuer` (or, failing that, the same URL with or without its trailing slash, a
/// common spelling mismatch) and returns the spelling that works and any warning.
async fn check_discovery(issuer: &str) -> (String, Option<String>) {
    let http = match super::provider::http_client() {
        Ok(http) => http,
        Err(e) => return (issuer.to_string(), Some(e.to_string())),
    };
    let error = match super::provider::discover(&http, issuer).await {
        Ok(_) => return (issuer.to_string(), None),
        Err(e) => e.to_string(),
    };
    let other = match issuer.strip_suffix('/') {
        Some(trimmed) => trimmed.to_string(),
        None => format!("{issuer}/"),
    };
    if upstream::check_issuer(&other).is_ok()
        && super::provider::discover(&http, &other).await.is_ok()
    {
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

fn print(json_output: bool, value: serde_json::Value, text: &str) {
    if json_output {
        println!("{value}");
    } else {
        println!("{text}");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn argv(args: &str) -> Vec<String> {
        args.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn issuer_after_add_is_the_upstreams() {
        let (own, up) = split_issuers(&argv(
            "tessera --issuer https://login.example.com upstream add --name x --issuer http://127.0.0.1:9/ --client-id a",
        ))
        .unwrap();
        assert_eq!(own, "https://login.example.com");
        assert_eq!(up.as_deref(), Some("http://127.0.0.1:9/"));
        let (_, up) = split_issuers(&argv(
            "tessera upstream add --name google --preset google --client-id a --issuer=https://accounts.example",
        ))
        .unwrap();
        assert_eq!(up.as_deref(), Some("https://accounts.example"));
        let (_, up) = split_issuers(&argv(
            "tessera upstream add --name google --preset google --client-id a",
        ))
        .unwrap();
        assert_eq!(up, None);
        assert!(split_issuers(&argv("tessera upstream list")).is_none());
    }
}
