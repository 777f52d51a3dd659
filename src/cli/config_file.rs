//! `--config FILE` (`TESSERA_CONFIG`): a TOML file holding settings of the README's table
//! under their names without the prefix, in lower case (`issuer = "https://..."` for
//! `TESSERA_ISSUER`). Precedence: flags > environment > file > defaults.
//!
//! The file is applied by adding to the command line the flag each key stands for, wherever
//! neither a flag nor the environment already set it; clap then parses and checks every value
//! exactly as it does a flag's, and a refusal names the key.
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{ArgMatches, Command, CommandFactory};

use super::Cli;

/// Keys read before the command line is parsed (the log set-up), by [`process_setting`].
const PROCESS_KEYS: [&str; 2] = ["log", "log_format"];

/// A command line with the file's settings added.
pub struct Applied {
    pub argv: Vec<OsString>,
    /// The file, if one was given.
    pub path: Option<PathBuf>,
    /// The keys the file set (and that no flag or variable overrode).
    pub from_file: Vec<String>,
}

fn error(kind: ErrorKind, message: String) -> clap::Error {
    Cli::command().error(kind, message)
}

/// Adds the settings of the config file the command line names (if any) to it.
pub fn apply(argv: Vec<OsString>) -> Result<Applied, clap::Error> {
    let mut command = Cli::command();
    command.build();
    let matches = command.clone().try_get_matches_from(&argv)?;
    let Some(path) = matches.get_one::<PathBuf>("config").cloned() else {
        return Ok(Applied {
            argv,
            path: None,
            from_file: vec![],
        });
    };
    let table = read(&path)?;
    let (leaf, leaf_matches) = leaf(&command, &matches);
    let mut known = BTreeMap::new();
    collect_envs(&command, &mut known);
    let mut argv = argv;
    // Added flags go before a `--`, where they still read as flags.
    let mut at = argv.iter().position(|a| a == "--").unwrap_or(argv.len());
    let mut from_file = Vec::new();
    for (key, value) in &table {
        let value = scalar(&path, key, value)?;
        if PROCESS_KEYS.contains(&key.as_str()) {
            continue;
        }
        let env = format!("TESSERA_{}", key.to_ascii_uppercase());
        if key.chars().any(|c| c.is_ascii_uppercase())
            || !known.contains_key(&env)
            || key == "config"
        {
            return Err(error(
                ErrorKind::UnknownArgument,
                format!(
                    "unknown key `{key}` in the config file {}: its keys are the settings of the README's table without TESSERA_, in lower case (e.g. issuer, listen, database_url)",
                    path.display()
                ),
            ));
        }
        // A setting of another command (e.g. `listen` while running `user add`) is not this
        // command's business.
        let Some(arg) = leaf.get_arguments().find(|a| {
            a.get_env()
                .is_some_and(|e| e.to_str() == Some(env.as_str()))
        }) else {
            continue;
        };
        let set_already = matches!(
            leaf_matches.value_source(arg.get_id().as_str()),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        );
        let Some(long) = arg.get_long() else {
            continue;
        };
        if set_already {
            continue;
        }
        argv.insert(at, format!("--{long}={value}").into());
        at += 1;
        if let Err(refused) = command.clone().try_get_matches_from(&argv) {
            let reason = refused.render().to_string();
            let reason = reason
                .trim_start()
                .trim_start_matches("error: ")
                .lines()
                .next()
                .unwrap_or_default()
                .to_string();
            return Err(error(
                ErrorKind::InvalidValue,
                format!(
                    "the config file {} has a bad value for `{key}`: {reason}",
                    path.display()
                ),
            ));
        }
        from_file.push(key.clone());
    }
    Ok(Applied {
        argv,
        path: Some(path),
        from_file,
    })
}

/// A setting read before the command line is parsed: its variable, else the config file's
/// key (from `--config` or `TESSERA_CONFIG`), else `None`. Only for [`PROCESS_KEYS`].
pub fn process_setting(argv: &[OsString], key: &str) -> Option<String> {
    let env = format!("TESSERA_{}", key.to_ascii_uppercase());
    if let Ok(value) = std::env::var(&env) {
        return Some(value);
    }
    let path = config_path(argv)?;
    let table = read(&path).ok()?;
    scalar(&path, key, table.get(key)?).ok()
}

/// `--config FILE`, `--config=FILE`, or `TESSERA_CONFIG`.
fn config_path(argv: &[OsString]) -> Option<PathBuf> {
    let args: Vec<&str> = argv.iter().filter_map(|a| a.to_str()).collect();
    for (i, arg) in args.iter().enumerate() {
        if *arg == "--" {
            break;
        }
        if *arg == "--config" {
            return args.get(i + 1).map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os("TESSERA_CONFIG").map(PathBuf::from)
}

fn read(path: &PathBuf) -> Result<toml::Table, clap::Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        error(
            ErrorKind::Io,
            format!(
                "cannot read the config file {} (--config / TESSERA_CONFIG): {e}",
                path.display()
            ),
        )
    })?;
    text.parse::<toml::Table>().map_err(|e| {
        error(
            ErrorKind::InvalidValue,
            format!(
                "the config file {} is not valid TOML: {}",
                path.display(),
                e.to_string().trim()
            ),
        )
    })
}

/// A value as the flag would take it: lists comma-separated.
fn scalar(path: &std::path::Path, key: &str, value: &toml::Value) -> Result<String, clap::Error> {
    let one = |v: &toml::Value| match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        _ => None,
    };
    let value = match value {
        toml::Value::Array(items) => items
            .iter()
            .map(one)
            .collect::<Option<Vec<_>>>()
            .map(|v| v.join(",")),
        other => one(other),
    };
    value.ok_or_else(|| {
        error(
            ErrorKind::InvalidValue,
            format!(
                "the config file {} has a bad value for `{key}`: expected a string, number, boolean or list of them",
                path.display()
            ),
        )
    })
}

/// The subcommand that runs, and its matches.
fn leaf<'a>(command: &'a Command, matches: &'a ArgMatches) -> (&'a Command, &'a ArgMatches) {
    let (mut command, mut matches) = (command, matches);
    while let Some((name, sub_matches)) = matches.subcommand() {
        match command.find_subcommand(name) {
            Some(sub) => (command, matches) = (sub, sub_matches),
            None => break,
        }
    }
    (command, matches)
}

/// Every `TESSERA_*` variable some command reads, with the flag it stands for.
fn collect_envs(command: &Command, into: &mut BTreeMap<String, String>) {
    for arg in command.get_arguments() {
        if let (Some(env), Some(long)) = (arg.get_env().and_then(|e| e.to_str()), arg.get_long()) {
            into.insert(env.to_string(), long.to_string());
        }
    }
    for sub in command.get_subcommands() {
        collect_envs(sub, into);
    }
}
