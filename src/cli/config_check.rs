//! `tessera config check [FILE]`: the settings `tessera serve` would run with — flags aside,
//! from the environment, the config file and the defaults — with secrets masked, and whether
//! they are valid.
use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::Context;
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Subcommand};
use serde_json::{json, Map, Value};

use super::{config_file, Cli};
use crate::config::Settings;

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Validate a config file and print the effective settings with secrets masked.
    Check {
        /// The file (default: --config or TESSERA_CONFIG).
        file: Option<PathBuf>,
    },
}

/// Settings whose values are never printed.
const SECRET_KEYS: [&str; 1] = ["master_key"];

pub fn run(config: Option<PathBuf>, json: bool, command: ConfigCommand) -> anyhow::Result<()> {
    let ConfigCommand::Check { file } = command;
    let path = file.or(config).context(
        "name the file to check: `tessera config check FILE` (or --config / TESSERA_CONFIG)",
    )?;
    let argv: Vec<OsString> = vec![
        "tessera".into(),
        "serve".into(),
        "--config".into(),
        path.clone().into(),
    ];
    let applied = config_file::apply(argv).map_err(|e| anyhow::anyhow!(first_line(&e)))?;
    let mut command = Cli::command();
    command.build();
    let matches = command
        .clone()
        .try_get_matches_from(&applied.argv)
        .map_err(|e| anyhow::anyhow!(first_line(&e)))?;
    let (_, serve) = matches.subcommand().context("serve is parsed")?;
    let serve_command = command.find_subcommand("serve").context("serve exists")?;

    let mut effective = Map::new();
    let mut lines = Vec::new();
    for arg in serve_command.get_arguments() {
        let Some(env) = arg.get_env().and_then(|e| e.to_str()) else {
            continue;
        };
        let Some(key) = env.strip_prefix("TESSERA_").map(str::to_ascii_lowercase) else {
            continue;
        };
        if key == "config" {
            continue;
        }
        let id = arg.get_id().as_str();
        let value = serve.get_raw(id).map(|values| {
            values
                .map(|v| v.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(",")
        });
        let source = if applied.from_file.contains(&key) {
            "file"
        } else {
            match serve.value_source(id) {
                Some(ValueSource::EnvVariable) => "environment",
                Some(ValueSource::DefaultValue) => "default",
                Some(_) => "flag",
                None => "unset",
            }
        };
        let shown = value.map(|v| mask(&key, &v));
        lines.push(format!(
            "{key:<34} {:<40} ({source})",
            shown.clone().unwrap_or_else(|| "-".into())
        ));
        effective.insert(key, json!({ "value": shown, "source": source }));
    }
    let settings =
        Settings::from_arg_matches(serve).map_err(|e| anyhow::anyhow!(first_line(&e)))?;
    let verdict = settings.check();
    let mut text = lines.join("\n");
    if verdict.is_ok() {
        text.push_str(&format!(
            "\n\n{} is valid: `tessera --config {} serve` runs with these settings.",
            path.display(),
            path.display()
        ));
    }
    super::output::print(
        json,
        json!({ "file": path, "valid": verdict.is_ok(), "settings": Value::Object(effective) }),
        &text,
    );
    verdict.map_err(|e| anyhow::anyhow!("{} is not valid: {e}", path.display()))
}

/// A secret as `********`; a URL's password likewise.
fn mask(key: &str, value: &str) -> String {
    if SECRET_KEYS.contains(&key) {
        return "********".into();
    }
    match url::Url::parse(value) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("********"));
            url.to_string()
        }
        _ => value.to_string(),
    }
}

fn first_line(error: &clap::Error) -> String {
    error
        .render()
        .to_string()
        .trim_start()
        .trim_start_matches("error: ")
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}
