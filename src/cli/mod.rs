//! The command line: `serve` (the default), `migrate`, `user`, `client`, `role`, `group`,
//! `org`, `apikey`, `resource`, `upstream`, `registration-token`, `keys`, `audit`. Every
//! command says what it did and what to do next; `--json` prints a machine-readable result
//! (and errors as `{"error": ...}` on standard error). Each command takes only the settings
//! it uses: the database and keys directory for all, the issuer where it prints URLs, and
//! the server's settings for `serve` alone, so that a server setting cannot break `user list`.
mod apikeys;
mod audit;
mod clients;
mod config_check;
pub mod config_file;
mod keys;
mod organizations;
mod output;
mod registration_tokens;
mod resources;
mod roles;
mod serve;
mod upstreams;
mod users;

use std::ffi::OsString;

use clap::{CommandFactory, Parser, Subcommand};

use crate::config::{Settings, StoreSettings};

pub use output::{exit_with, open, usage_error, wants_json};

#[derive(Parser)]
#[command(
    name = "tessera",
    version,
    about = "An OAuth 2.0 / OpenID Connect authorization server",
    after_help = "With no command, tessera runs `serve` and takes its flags (see `tessera serve --help`)."
)]
pub struct Cli {
    #[command(flatten)]
    pub store: StoreSettings,
    /// Print the result as JSON (errors as {"error": ...} on standard error).
    #[arg(long, global = true, help_heading = "Shared options")]
    pub json: bool,
    /// A TOML file of settings (keys as in the README's table: issuer, listen, ...); flags and
    /// environment variables take precedence over it.
    #[arg(
        long,
        env = "TESSERA_CONFIG",
        value_name = "FILE",
        global = true,
        help_heading = "Shared options"
    )]
    pub config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the server (the default); migrates the database first.
    Serve(Box<Settings>),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage local users.
    #[command(subcommand)]
    User(users::UserCommand),
    /// Manage OAuth clients.
    #[command(subcommand)]
    Client(clients::ClientCommand),
    /// Manage roles (granted to users, groups and clients; carried with the `roles` scope).
    #[command(subcommand)]
    Role(roles::RoleCommand),
    /// Manage groups of users (carried with the `groups` scope; their roles hold for members).
    #[command(subcommand)]
    Group(roles::GroupCommand),
    /// Manage organizations: members, roles within each, tokens that speak for one.
    #[command(subcommand)]
    Org(organizations::OrgCommand),
    /// API keys (personal access tokens) of users and clients.
    #[command(subcommand)]
    Apikey(apikeys::ApiKeyCommand),
    /// Protected resources (RFC 8707 resource indicators): audiences, their scopes and introspecting clients.
    #[command(subcommand)]
    Resource(resources::ResourceCommand),
    /// Manage upstream OpenID providers.
    #[command(subcommand)]
    Upstream(upstreams::UpstreamCommand),
    /// Manage initial access tokens for dynamic client registration (RFC 7591).
    #[command(subcommand)]
    RegistrationToken(registration_tokens::RegistrationTokenCommand),
    /// Read the audit log (sign-ins, tokens issued, client and key changes, logouts).
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Check a config file: print the effective settings (secrets masked) and whether they are valid.
    #[command(subcommand)]
    Config(config_check::ConfigCommand),
    /// Signing keys (rotation) and the master key.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
}

impl Cli {
    /// Parses a command line; with no command (`tessera`, `tessera --listen ADDR`), `serve`.
    pub fn parse_args<I, T>(argv: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
        let applied = config_file::apply(with_default_command(argv))?;
        Cli::try_parse_from(applied.argv)
    }

    /// The server's settings, when the command is `serve`.
    pub fn server_settings(&self) -> Option<Settings> {
        match &self.command {
            Command::Serve(settings) => Some(with_store((**settings).clone(), &self.store)),
            _ => None,
        }
    }
}

/// The server's settings completed with the flags every command shares.
fn with_store(mut settings: Settings, store: &StoreSettings) -> Settings {
    settings.database_url = store.database_url.clone();
    settings.keys_dir = store.keys_dir.clone();
    settings.master_key = store.master_key.clone();
    settings
}

/// Inserts `serve` when the command line names no command, so that `tessera` and
/// `tessera --listen ADDR` run the server while the server's flags stay off every other
/// command's help and out of its parsing.
fn with_default_command(mut argv: Vec<OsString>) -> Vec<OsString> {
    let command = Cli::command();
    let names: Vec<&str> = command
        .get_subcommands()
        .flat_map(|c| std::iter::once(c.get_name()).chain(c.get_all_aliases()))
        .chain(["help"])
        .collect();
    let names_a_command = argv
        .iter()
        .skip(1)
        .any(|a| a.to_str().is_some_and(|a| names.contains(&a)));
    let asks_top_level = argv.get(1).is_some_and(|a| {
        a.to_str()
            .is_some_and(|a| ["-h", "--help", "-V", "--version"].contains(&a))
    });
    if !names_a_command && !asks_top_level {
        argv.insert(1.min(argv.len()), "serve".into());
    }
    argv
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let Cli {
        store,
        json,
        config,
        command,
    } = cli;
    match command {
        Command::Serve(settings) => serve::serve(with_store(*settings, &store), json).await,
        Command::Migrate => serve::migrate(&store, json).await,
        Command::User(command) => users::run(&store, json, command).await,
        Command::Client(command) => clients::run(&store, json, command).await,
        Command::Apikey(command) => apikeys::run(&store, json, command).await,
        Command::Resource(command) => resources::run(&store, json, command).await,
        Command::Upstream(command) => upstreams::run(&store, json, command).await,
        Command::Role(command) => roles::run_role(&store, json, command).await,
        Command::Group(command) => roles::run_group(&store, json, command).await,
        Command::Org(command) => organizations::run(&store, json, command).await,
        Command::RegistrationToken(command) => {
            registration_tokens::run(&store, json, command).await
        }
        Command::Keys(command) => keys::run(&store, json, command).await,
        Command::Config(command) => config_check::run(config, json, command),
        Command::Audit(command) => audit::run(&store, json, command).await,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::parse_args(args.iter().copied()).unwrap()
    }

    #[test]
    fn no_command_means_serve_with_its_flags() {
        let settings = parse(&["tessera"]).server_settings().unwrap();
        assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
        let cli = parse(&[
            "tessera",
            "--listen",
            "127.0.0.1:9",
            "--database-url",
            "sqlite://x.db",
        ]);
        let settings = cli.server_settings().unwrap();
        assert_eq!(settings.listen.to_string(), "127.0.0.1:9");
        assert_eq!(settings.database_url, "sqlite://x.db");
    }

    #[test]
    fn shared_flags_go_before_or_after_the_command() {
        for args in [
            ["tessera", "--database-url", "sqlite://y.db", "user", "list"],
            ["tessera", "user", "list", "--database-url", "sqlite://y.db"],
        ] {
            let cli = parse(&args);
            assert_eq!(cli.store.database_url, "sqlite://y.db");
            assert!(matches!(
                cli.command,
                Command::User(users::UserCommand::List)
            ));
        }
        assert!(Cli::parse_args(["tessera", "user", "list", "--listen", "127.0.0.1:1"]).is_err());
        let help = Cli::parse_args(["tessera", "--help"]).err().unwrap();
        assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
    }
}
