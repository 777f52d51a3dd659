//! `tessera audit list`: the audit log, newest first, filtered by user, client and time.
use anyhow::bail;
use clap::Subcommand;
use serde_json::json;

use super::output::{open, Table};
use crate::config::StoreSettings;
use crate::storage::audit::{self as store, AuditRow, Filter};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// List audit events, newest first.
    List {
        /// Only events of this user (user id or username).
        #[arg(long, value_name = "USER")]
        user: Option<String>,
        /// Only events of this client.
        #[arg(long, value_name = "CLIENT_ID")]
        client: Option<String>,
        /// Only events at or after this time: RFC 3339 (2026-12-01T00:00:00Z) or Unix seconds.
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        since: Option<i64>,
        /// At most this many events.
        #[arg(long, default_value_t = 100, value_name = "N")]
        limit: u64,
    },
}

/// RFC 3339 or Unix seconds, as `--since` takes them.
fn parse_time(value: &str) -> Result<i64, String> {
    if let Ok(seconds) = value.parse::<i64>() {
        return Ok(seconds);
    }
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|t| t.timestamp())
        .map_err(|_| "expected an RFC 3339 time (2026-12-01T00:00:00Z) or Unix seconds".to_string())
}

fn time(at: i64) -> String {
    chrono::DateTime::from_timestamp(at, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| at.to_string())
}

fn describe(row: &AuditRow) -> serde_json::Value {
    json!({
        "id": row.id,
        "at": row.at,
        "time": time(row.at),
        "kind": row.kind,
        "client_id": row.client_id,
        "user_id": row.user_id,
        "username": row.username,
        "ip": row.ip,
        "user_agent": row.user_agent,
        "request_id": row.request_id,
        "reason": row.reason,
        "grant_type": row.grant_type,
        "target": row.target,
    })
}

pub async fn run(store: &StoreSettings, json: bool, command: AuditCommand) -> anyhow::Result<()> {
    match command {
        AuditCommand::List {
            user,
            client,
            since,
            limit,
        } => {
            if limit == 0 || limit > 100_000 {
                bail!("--limit must be between 1 and 100000");
            }
            let db = open(store).await?;
            let filter = Filter {
                user,
                client_id: client,
                since,
                limit,
            };
            let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
            let rows = store::list(&db, &filter)
                .await?
                .iter()
                .map(|row| {
                    let cells = vec![
                        time(row.at),
                        row.kind.clone(),
                        dash(&row.client_id),
                        row.username
                            .clone()
                            .or_else(|| row.user_id.clone())
                            .unwrap_or_else(|| "-".into()),
                        dash(&row.ip),
                        row.reason
                            .clone()
                            .or_else(|| row.grant_type.clone())
                            .unwrap_or_else(|| "-".into()),
                        dash(&row.target),
                        dash(&row.request_id),
                    ];
                    (describe(row), cells)
                })
                .collect();
            Table {
                header: &[
                    "TIME",
                    "KIND",
                    "CLIENT",
                    "USER",
                    "IP",
                    "REASON",
                    "TARGET",
                    "REQUEST_ID",
                ],
                rows,
                empty: "No audit events match.",
            }
            .print(json);
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_rfc3339_or_unix_seconds() {
        assert_eq!(parse_time("1764547200").unwrap(), 1_764_547_200);
        assert_eq!(parse_time("2025-12-01T00:00:00Z").unwrap(), 1_764_547_200);
        assert_eq!(
            parse_time("2025-12-01T01:00:00+01:00").unwrap(),
            1_764_547_200
        );
        assert!(parse_time("yesterday").is_err());
    }
}
