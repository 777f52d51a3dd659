//! Which local user an upstream login is. An upstream identity is the pair (issuer, `sub`),
//! never an email: the email only serves to link a first login to an existing local account,
//! and only when the upstream says it is verified and the policy allows it. No axum here.
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};

use crate::storage::Db;

use super::provider::Identity;
use super::upstream::Quirks;
use crate::config::FederationPolicy;
use crate::storage::upstreams::{self, Upstream};
use crate::storage::users::{self, NewUser, User};

/// Why an upstream login does not give a local session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The identity is not linked and the policy neither links nor provisions it.
    NotLinked,
    /// The local account is disabled.
    Disabled,
    /// The account is not in the required Google Workspace domain.
    WrongHostedDomain,
    /// Several local accounts have this verified email: linking would be a guess.
    AmbiguousEmail,
}

/// How the login was mapped, for the logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mapping {
    Linked,
    LinkedByEmail,
    Provisioned,
}

/// The local user for `identity`, linking or creating one as `policy` allows.
///
/// Guarantees: a linked identity always maps to its user (whatever the policy); a new link
/// by email needs `email_verified` from the upstream *and* a local account whose email is
/// verified; a provisioned user has no password and is created together with its link (one
/// transaction), so a failed login leaves no orphan account.
pub async fn resolve(
    db: &Db,
    upstream: &Upstream,
    quirks: &Quirks,
    policy: FederationPolicy,
    identity: &Identity,
    now: i64,
) -> Result<Result<(User, Mapping), Refusal>, DbErr> {
    if let Some(domain) = &quirks.hosted_domain {
        let matches = identity
            .hosted_domain
            .as_deref()
            .is_some_and(|hd| hd.eq_ignore_ascii_case(domain));
        if !matches {
            return Ok(Err(Refusal::WrongHostedDomain));
        }
    }
    if let Some(user_id) = upstreams::find_identity(db, &upstream.issuer, &identity.subject).await?
    {
        return Ok(active(users::find(db, &user_id).await?).map(|u| (u, Mapping::Linked)));
    }
    if policy == FederationPolicy::Refuse {
        return Ok(Err(Refusal::NotLinked));
    }
    let verified_email = identity
        .email
        .as_deref()
        .filter(|_| identity.email_verified);
    if let Some(email) = verified_email {
        let mut candidates = users::find_by_verified_email(db, email).await?;
        if candidates.len() > 1 {
            return Ok(Err(Refusal::AmbiguousEmail));
        }
        if let Some(user) = candidates.pop() {
            if user.disabled {
                return Ok(Err(Refusal::Disabled));
            }
            link(db, upstream, identity, &user.id, now).await?;
            return Ok(Ok((user, Mapping::LinkedByEmail)));
        }
    }
    if policy == FederationPolicy::LinkOnly {
        return Ok(Err(Refusal::NotLinked));
    }
    provision(db, upstream, identity, now)
        .await
        .map(|r| r.map(|u| (u, Mapping::Provisioned)))
}

fn active(user: Option<User>) -> Result<User, Refusal> {
    match user {
        Some(user) if user.disabled => Err(Refusal::Disabled),
        Some(user) => Ok(user),
        None => Err(Refusal::NotLinked),
    }
}

async fn link(
    db: &impl ConnectionTrait,
    upstream: &Upstream,
    identity: &Identity,
    user_id: &str,
    now: i64,
) -> Result<(), DbErr> {
    match upstreams::link_identity(db, &upstream.issuer, &identity.subject, user_id, now).await {
        Ok(()) => Ok(()),
        // A concurrent first login linked it already: fine if it chose the same user.
        Err(e) => match upstreams::find_identity(db, &upstream.issuer, &identity.subject).await? {
            Some(existing) if existing == user_id => Ok(()),
            _ => Err(e),
        },
    }
}

async fn provision(
    db: &Db,
    upstream: &Upstream,
    identity: &Identity,
    now: i64,
) -> Result<Result<User, Refusal>, DbErr> {
    let base = base_username(identity);
    let mut last_error = None;
    for attempt in 0..3 {
        let username = unique_username(db, &base, attempt).await?;
        let txn = db.begin().await?;
        let created = users::insert(
            &txn,
            NewUser {
                username,
                email: identity.email.clone(),
                email_verified: identity.email.is_some() && identity.email_verified,
                name: identity.name.clone(),
                password_hash: None,
            },
            now,
        )
        .await;
        let user = match created {
            Ok(user) => user,
            Err(e) => {
                // Most likely the username was taken meanwhile: try another one.
                txn.rollback().await?;
                last_error = Some(e);
                continue;
            }
        };
        match upstreams::link_identity(&txn, &upstream.issuer, &identity.subject, &user.id, now)
            .await
        {
            Ok(()) => {
                txn.commit().await?;
                return Ok(Ok(user));
            }
            Err(e) => {
                txn.rollback().await?;
                // A concurrent first login of the same identity won: use its user.
                if let Some(user_id) =
                    upstreams::find_identity(db, &upstream.issuer, &identity.subject).await?
                {
                    return Ok(active(users::find(db, &user_id).await?));
                }
                return Err(e);
            }
        }
    }
    Err(last_error.unwrap_or_else(|| DbErr::Custom("cannot provision a user".into())))
}

/// A username from the upstream's `preferred_username`, else the email's local part, else
/// `user`: no whitespace or control characters, at most 64 characters.
pub fn base_username(identity: &Identity) -> String {
    let candidates = [
        identity.preferred_username.clone(),
        identity
            .email
            .as_deref()
            .and_then(|e| e.split('@').next())
            .map(str::to_string),
    ];
    for candidate in candidates.into_iter().flatten() {
        let clean: String = candidate
            .chars()
            .filter(|c| !c.is_whitespace() && !c.is_control())
            .take(64)
            .collect();
        if !clean.is_empty() {
            return clean;
        }
    }
    "user".into()
}

/// `base`, else `base-2`, `base-3`, ...; after a lost race, a random suffix.
async fn unique_username(
    db: &impl ConnectionTrait,
    base: &str,
    attempt: u32,
) -> Result<String, DbErr> {
    if attempt > 0 {
        return Ok(format!(
            "{base}-{}",
            crate::secrets::random_token(6).to_lowercase()
        ));
    }
    if users::find_by_username(db, base).await?.is_none() {
        return Ok(base.to_string());
    }
    for n in 2..=50 {
        let candidate = format!("{base}-{n}");
        if users::find_by_username(db, &candidate).await?.is_none() {
            return Ok(candidate);
        }
    }
    Ok(format!(
        "{base}-{}",
        crate::secrets::random_token(6).to_lowercase()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(preferred: Option<&str>, email: Option<&str>) -> Identity {
        Identity {
            issuer: "https://idp.example".into(),
            subject: "1".into(),
            email: email.map(str::to_string),
            email_verified: true,
            preferred_username: preferred.map(str::to_string),
            name: None,
            hosted_domain: None,
            auth_time: None,
        }
    }

    #[test]
    fn usernames_come_from_claims() {
        assert_eq!(base_username(&identity(Some("bob"), None)), "bob");
        assert_eq!(
            base_username(&identity(Some(" \t"), Some("carol@example.com"))),
            "carol"
        );
        assert_eq!(base_username(&identity(Some("a b"), None)), "ab");
        assert_eq!(base_username(&identity(None, None)), "user");
        assert_eq!(
            base_username(&identity(Some(&"x".repeat(100)), None)).len(),
            64
        );
    }
}
