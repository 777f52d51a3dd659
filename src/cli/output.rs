//! What every command shares: opening the database, printing a result as text or JSON, list
//! tables with a header row, and errors (`{"error": ...}` on standard error with `--json`).
use std::ffi::OsString;
use std::process::ExitCode;

use serde_json::{json, Value};

use crate::config::StoreSettings;
use crate::storage;

/// Opens and migrates the database the server uses.
pub async fn open(store: &StoreSettings) -> anyhow::Result<storage::Db> {
    open_migrated(store).await.map(|(db, _)| db)
}

/// [`open`], also returning the names of the migrations it applied.
pub async fn open_migrated(store: &StoreSettings) -> anyhow::Result<(storage::Db, Vec<String>)> {
    storage::opening::open_migrated(&store.database_url, Some(2))
        .await
        .map_err(anyhow::Error::msg)
}

/// Prints a command's result: `value` with `--json`, else `text`.
pub fn print(json: bool, value: Value, text: &str) {
    if json {
        println!("{value}");
    } else {
        println!("{text}");
    }
}

/// A list: a JSON array with `--json`; else a header row and aligned columns, or `empty`
/// (which says how to add the first one) when there is nothing to list.
pub struct Table {
    pub header: &'static [&'static str],
    pub rows: Vec<(Value, Vec<String>)>,
    pub empty: &'static str,
}

impl Table {
    pub fn print(self, json: bool) {
        if json {
            let values: Vec<Value> = self.rows.into_iter().map(|(value, _)| value).collect();
            println!("{}", Value::Array(values));
            return;
        }
        if self.rows.is_empty() {
            println!("{}", self.empty);
            return;
        }
        let cells: Vec<Vec<String>> = std::iter::once(
            self.header
                .iter()
                .map(|h| h.to_string())
                .collect::<Vec<_>>(),
        )
        .chain(self.rows.into_iter().map(|(_, cells)| cells))
        .collect();
        let mut widths = vec![0; self.header.len()];
        for row in &cells {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        for row in cells {
            let last = row.len().saturating_sub(1);
            let line: Vec<String> = row
                .into_iter()
                .enumerate()
                .map(|(i, cell)| {
                    if i == last {
                        cell
                    } else {
                        format!("{cell:<width$}", width = widths[i])
                    }
                })
                .collect();
            println!("{}", line.join("  ").trim_end());
        }
    }
}

/// Whether the command line asks for JSON output (also for errors found while parsing it).
pub fn wants_json(argv: &[OsString]) -> bool {
    argv.iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json")
}

/// Reports a failed command line (usage error) and returns the exit code; `--help` and
/// `--version` print as usual.
pub fn usage_error(error: clap::Error, json: bool) -> ExitCode {
    use clap::error::ErrorKind;
    let informational = matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    if !json || informational {
        // Prints help, version or the error with its usage line, as clap does.
        let _ = error.print();
        return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
    }
    // The first paragraph of clap's message on one line, without the usage that follows.
    let rendered = error.render().to_string();
    let paragraph = rendered
        .trim_start()
        .split("\n\n")
        .next()
        .unwrap_or_default();
    let message = paragraph
        .trim_start_matches("error: ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("{}", json!({ "error": message }));
    ExitCode::from(2)
}

/// Reports a failed command and returns the exit code.
pub fn exit_with(result: anyhow::Result<()>, json: bool) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let message = format!("{error:#}");
            if json {
                eprintln!("{}", json!({ "error": message }));
            } else {
                eprintln!("error: {message}");
            }
            ExitCode::FAILURE
        }
    }
}
