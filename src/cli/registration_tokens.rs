//! `tessera registration-token create | list | revoke`: initial access tokens for RFC 7591
//! registration at `/register` (with `TESSERA_REGISTRATION=token`, the default).
use anyhow::bail;
use clap::Subcommand;
use serde_json::json;

use super::output::{open, print, Table};
use crate::clock::{Clock, SystemClock};
use crate::config::{IssuerSettings, StoreSettings};
use crate::secrets::{random_token, token_hash};
use crate::storage::registration_tokens::{self as store, RegistrationToken};

#[derive(Subcommand)]
pub enum RegistrationTokenCommand {
    /// Make an initial access token; it is printed once and stored hashed.
    Create {
        /// Seconds until it expires.
        #[arg(long, default_value_t = 24 * 3600, value_name = "SECONDS")]
        expires_in: i64,
        /// How many clients it may register.
        #[arg(long, default_value_t = 1, value_name = "N")]
        uses: i64,
        #[command(flatten)]
        issuer: IssuerSettings,
    },
    /// List initial access tokens (never the tokens themselves).
    List,
    /// Revoke an initial access token: it registers no more clients.
    Revoke {
        /// The token's id, as `list` shows it.
        // Ids are base64url: one may start with `-`.
        #[arg(long, allow_hyphen_values = true)]
        id: String,
    },
}

fn describe(t: &RegistrationToken, now: i64) -> serde_json::Value {
    json!({
        "id": t.id,
        "uses_left": t.uses_left,
        "expires_at": t.expires_at,
        "expired": t.expires_at <= now,
        "created_at": t.created_at,
    })
}

pub async fn run(
    store_settings: &StoreSettings,
    json: bool,
    command: RegistrationTokenCommand,
) -> anyhow::Result<()> {
    let now = SystemClock.now();
    let db = open(store_settings).await?;
    match command {
        RegistrationTokenCommand::Create {
            expires_in,
            uses,
            issuer,
        } => {
            if !(1..=366 * 24 * 3600).contains(&expires_in) {
                bail!("--expires-in must be between 1 second and a year");
            }
            if !(1..=1_000_000).contains(&uses) {
                bail!("--uses must be between 1 and 1000000");
            }
            let token = random_token(32);
            let row = RegistrationToken {
                id: random_token(6),
                token_hash: token_hash(&token),
                uses_left: uses,
                expires_at: now + expires_in,
                created_at: now,
            };
            let id = row.id.clone();
            store::insert(&db, row).await?;
            let endpoint = format!("{}/register", issuer.issuer_str());
            print(
                json,
                json!({"id": id, "token": token, "expires_at": now + expires_in, "uses": uses, "registration_endpoint": endpoint}),
                &format!("Initial access token {id} (registers {uses} client(s), expires in {expires_in} s):\n  {token}\nStore it now: it is shown only once. An app registers with it at {endpoint}\n  (Authorization: Bearer TOKEN). Revoke it with: tessera registration-token revoke --id {id}"),
            );
        }
        RegistrationTokenCommand::List => {
            let rows = store::list(&db)
                .await?
                .iter()
                .map(|t| {
                    let state = if t.expires_at <= now {
                        "expired"
                    } else if t.uses_left <= 0 {
                        "used up"
                    } else {
                        "active"
                    };
                    let cells = vec![
                        t.id.clone(),
                        t.uses_left.to_string(),
                        t.expires_at.to_string(),
                        state.to_string(),
                    ];
                    (describe(t, now), cells)
                })
                .collect();
            Table {
                header: &["ID", "USES_LEFT", "EXPIRES_AT", "STATE"],
                rows,
                empty: "No initial access tokens. Make one with: tessera registration-token create",
            }
            .print(json);
        }
        RegistrationTokenCommand::Revoke { id } => {
            if !store::revoke(&db, &id).await? {
                bail!("no initial access token with id {id}");
            }
            print(
                json,
                json!({"id": id, "revoked": true}),
                &format!("Revoked initial access token {id}; it registers no more clients."),
            );
        }
    }
    Ok(())
}
