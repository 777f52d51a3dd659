//! `tessera user add | list | disable | enable | sign-out | revoke-consent | grant-role |
//! revoke-role | set-password`.
use std::io::{IsTerminal, Read};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde_json::json;

use super::output::{open, print, Table};
use crate::accounts::identity::{check_new_password, parse_username};
use crate::audit::{self, AuditEvent, Kind, Target};
use crate::clock::{Clock, SystemClock};
use crate::config::{IssuerSettings, StoreSettings};
use crate::secrets::Secret;
use crate::storage::{self, users};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from standard input.
    Add(AddArgs),
    /// List users.
    List,
    /// Disable a user: logins fail and their tokens stop working at once.
    Disable {
        /// The user's username.
        #[arg(long)]
        username: String,
    },
    /// Enable a disabled user.
    Enable {
        /// The user's username.
        #[arg(long)]
        username: String,
    },
    /// Sign a user out everywhere: end every session, revoke the tokens issued in them
    /// (except offline_access), and notify the apps by back-channel logout.
    SignOut {
        /// The user's username.
        #[arg(long)]
        username: String,
        #[command(flatten)]
        issuer: IssuerSettings,
        /// Let back-channel logouts reach loopback and private addresses.
        #[arg(long, env = "TESSERA_ALLOW_PRIVATE_CALLBACKS", default_value_t = false, action = clap::ArgAction::Set)]
        allow_private_callbacks: bool,
    },
    /// Withdraw a user's consent to a client: the app must ask again, and the tokens it
    /// holds for the user (refresh tokens and the access tokens they issued) stop working.
    RevokeConsent {
        /// The user's username.
        #[arg(long)]
        username: String,
        /// The client the consent was given to.
        #[arg(long)]
        client_id: String,
    },
    /// Grant a role to a user (globally, or within one of their organizations).
    GrantRole(UserGrantArgs),
    /// Revoke a role from a user; the next token and the next refresh no longer carry it.
    RevokeRole(UserGrantArgs),
    /// Set a user's password, read from standard input.
    SetPassword {
        /// The user's username.
        #[arg(long)]
        username: String,
        #[command(flatten)]
        password: PasswordArgs,
    },
}

#[derive(Args)]
pub struct UserGrantArgs {
    /// The user's username.
    #[arg(long)]
    username: String,
    /// The role's name.
    #[arg(long)]
    role: String,
    /// Only within this organization (id or slug), of which the user must be a member.
    #[arg(long, value_name = "ORG")]
    organization: Option<String>,
}

#[derive(Args)]
pub struct AddArgs {
    /// Sign-in name: 1-128 characters without spaces, shown as given; sign-in ignores case
    /// (`Alice` and `alice` are one user).
    #[arg(long)]
    username: String,
    /// Email address (the `email` claim).
    #[arg(long)]
    email: Option<String>,
    /// Mark the email address as verified (`email_verified: true`).
    #[arg(long)]
    email_verified: bool,
    /// Display name (the `name` claim).
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    issuer: IssuerSettings,
}

#[derive(Args)]
pub struct PasswordArgs {
    /// Read the password from standard input (required; at least 8 characters): one line
    /// from a pipe, or typed twice without echo on a terminal.
    #[arg(long)]
    password_stdin: bool,
    /// Refused with an explanation: a password on the command line leaks into shell history.
    #[arg(long, hide = true, num_args = 0..=1, value_name = "PASSWORD")]
    password: Option<Option<String>>,
}

impl PasswordArgs {
    /// The password from standard input, checked before anything is stored: typed twice
    /// without echo on a terminal, else the first line of the pipe.
    fn read(&self) -> anyhow::Result<Secret> {
        if self.password.is_some() {
            bail!("a password is never taken on the command line (it would stay in your shell history and the process list): give it on standard input with --password-stdin, e.g. `echo 'a-strong-password' | tessera user add --username alice --password-stdin`");
        }
        if !self.password_stdin {
            bail!("pass --password-stdin and give the password on standard input (never on the command line)");
        }
        let password = if std::io::stdin().is_terminal() {
            prompt_twice()?
        } else {
            let mut input = String::new();
            std::io::stdin()
                .take(64 * 1024)
                .read_to_string(&mut input)
                .context("cannot read the password from standard input")?;
            let line = input.lines().next().unwrap_or_default();
            Secret(line.trim_end_matches('\r').to_string())
        };
        check_new_password(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(password)
    }
}

/// Asks for the password on the terminal without echo, twice, so a typo is caught here
/// rather than at the first sign-in.
fn prompt_twice() -> anyhow::Result<Secret> {
    let first = Secret(
        rpassword::prompt_password("Password: ")
            .context("cannot read the password from the terminal")?,
    );
    check_new_password(&first).map_err(|e| anyhow::anyhow!("{e}"))?;
    let again = Secret(
        rpassword::prompt_password("Password (again): ")
            .context("cannot read the password from the terminal")?,
    );
    if !crate::secrets::constant_time_eq(first.expose(), again.expose()) {
        bail!("the two passwords differ; nothing was changed. Run the command again");
    }
    Ok(first)
}

async fn hash(password: Secret) -> anyhow::Result<String> {
    Ok(
        tokio::task::spawn_blocking(move || crate::accounts::password::hash_blocking(&password))
            .await??,
    )
}

pub async fn run(store: &StoreSettings, json: bool, command: UserCommand) -> anyhow::Result<()> {
    let now = SystemClock.now();
    match command {
        UserCommand::Add(args) => {
            let username = parse_username(&args.username).map_err(|e| anyhow::anyhow!("{e}"))?;
            let email = args
                .email
                .map(|e| e.trim().to_string())
                .filter(|e| !e.is_empty());
            let db = open(store).await?;
            if let Some(existing) = users::find_by_username(&db, &username).await? {
                bail!(
                    "a user named {} already exists (sub {}); usernames are matched without regard to case, width and surrounding spaces, so {username} would be the same account. Choose another username",
                    existing.username, existing.id
                );
            }
            if let Some(email) = email.as_deref().filter(|_| args.email_verified) {
                if let Some(owner) = users::find_by_verified_email(&db, email).await?.first() {
                    bail!(
                        "the verified email {email} already belongs to {} (sub {}); a verified email belongs to one user, so that upstream sign-ins linked by email stay unambiguous. Use another email, or add this user without --email-verified",
                        owner.username, owner.id
                    );
                }
            }
            let password = args.password.read()?;
            let user = users::insert(
                &db,
                users::NewUser {
                    username,
                    email,
                    email_verified: args.email_verified,
                    name: args.name,
                    password_hash: Some(hash(password).await?),
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
                    args.issuer.issuer_str()
                ),
            );
        }
        UserCommand::List => {
            let db = open(store).await?;
            let rows = users::list(&db)
                .await?
                .into_iter()
                .map(|u| {
                    let value = json!({"id": u.id, "username": u.username, "email": u.email, "email_verified": u.email_verified, "name": u.name, "disabled": u.disabled});
                    let cells = vec![
                        u.username,
                        u.id,
                        u.email.unwrap_or_else(|| "-".into()),
                        if u.disabled { "disabled" } else { "active" }.into(),
                    ];
                    (value, cells)
                })
                .collect();
            Table {
                header: &["USERNAME", "SUB", "EMAIL", "STATE"],
                rows,
                empty: "No users. Add one with: tessera user add --username NAME --password-stdin",
            }
            .print(json);
        }
        UserCommand::Disable { username } => {
            let db = open(store).await?;
            let Some(user) = users::find_by_username(&db, &username).await? else {
                bail!("no user named {username}")
            };
            users::set_disabled(&db, &username, true, now).await?;
            storage::families::revoke_for_user(&db, &user.id, now).await?;
            print(
                json,
                json!({"username": username, "disabled": true}),
                &format!("Disabled {username}; their sessions and tokens no longer work. Undo with: tessera user enable --username {username}"),
            );
        }
        UserCommand::Enable { username } => {
            let db = open(store).await?;
            if !users::set_disabled(&db, &username, false, now).await? {
                bail!("no user named {username}");
            }
            print(
                json,
                json!({"username": username, "disabled": false}),
                &format!("Enabled {username}; they can sign in again."),
            );
        }
        UserCommand::SignOut {
            username,
            issuer,
            allow_private_callbacks,
        } => {
            let db = open(store).await?;
            let Some(user) = users::find_by_username(&db, &username).await? else {
                bail!("no user named {username}")
            };
            let keys = crate::jose::keys::Keys::load_shared(&db, store, now).await?;
            let ctx = crate::oauth::logout::ending::Context {
                db: &db,
                keys: &keys,
                issuer: issuer.issuer_str().to_string(),
                allow_private_callbacks,
            };
            let ended = crate::oauth::logout::ending::end_all_sessions(&ctx, &user.id, now)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            audit::record_now(
                &db,
                AuditEvent::new(Kind::Logout)
                    .user(&user.id)
                    .username(&user.username)
                    .reason("cli_sign_out")
                    .target(Target::Count(ended.sessions as u64)),
            )
            .await;
            let pending = ended.notifications - ended.delivered;
            let mut text = format!(
                "Signed {username} out of {} session(s); {} token grant(s) revoked (offline_access grants kept). {} app(s) notified by back-channel logout.",
                ended.sessions, ended.families_revoked, ended.delivered
            );
            if pending > 0 {
                text.push_str(&format!(" {pending} notification(s) could not be delivered yet: the running servers retry them."));
            }
            print(
                json,
                json!({"username": username, "sessions_ended": ended.sessions, "families_revoked": ended.families_revoked, "notifications": ended.notifications, "delivered": ended.delivered}),
                &text,
            );
        }
        UserCommand::RevokeConsent {
            username,
            client_id,
        } => {
            let db = open(store).await?;
            let Some(user) = users::find_by_username(&db, &username).await? else {
                bail!("no user named {username}")
            };
            let removed =
                crate::accounts::account::remove_app::remove_app(&db, &user.id, &client_id, now)
                    .await?;
            let (had, revoked) = (removed.consent_withdrawn, removed.families_revoked);
            if removed.nothing() {
                bail!("{username} has no consent or tokens at client {client_id}");
            }
            audit::record_now(
                &db,
                AuditEvent::new(Kind::ConsentWithdrawn)
                    .client(&client_id)
                    .user(&user.id)
                    .username(&user.username)
                    .reason("cli")
                    .target(Target::Count(revoked)),
            )
            .await;
            print(
                json,
                json!({"username": username, "client_id": client_id, "consent_withdrawn": had, "families_revoked": revoked}),
                &format!("Withdrew {username}'s consent to {client_id}; {revoked} token grant(s) revoked. The app must ask again."),
            );
        }
        UserCommand::GrantRole(args) => grant(store, json, true, args).await?,
        UserCommand::RevokeRole(args) => grant(store, json, false, args).await?,
        UserCommand::SetPassword { username, password } => {
            let password = password.read()?;
            let db = open(store).await?;
            if !users::set_password(&db, &username, &hash(password).await?, now).await? {
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

async fn grant(
    store: &StoreSettings,
    json: bool,
    grant: bool,
    args: UserGrantArgs,
) -> anyhow::Result<()> {
    use crate::storage::roles::{Holder, Within};
    let db = open(store).await?;
    let user = super::roles::user_named(&db, &args.username).await?;
    let org = match &args.organization {
        Some(named) => Some(super::roles::organization_named(&db, named).await?),
        None => None,
    };
    if let (true, Some(org)) = (grant, &org) {
        if !storage::organizations::is_member(&db, &org.id, &user.id).await? {
            bail!(
                "{} is not a member of {}: add them first with: tessera org add-member --org {} --username {}",
                args.username, org.slug, org.slug, args.username
            );
        }
    }
    let within = match &org {
        Some(org) => Within::Organization(&org.id),
        None => Within::Global,
    };
    let who = format!("user {}", args.username);
    super::roles::change_grant(
        &db,
        json,
        grant,
        &args.role,
        (Holder::User(&user.id), &who),
        (within, org.as_ref()),
    )
    .await
}
