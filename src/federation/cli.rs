//! `tessera upstream ...`
use clap::Subcommand;

use crate::config::Settings;

#[derive(Subcommand)]
pub enum UpstreamCommand {
    /// List upstream providers.
    List {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(_settings: &Settings, _command: UpstreamCommand) -> anyhow::Result<()> {
    Ok(())
}
