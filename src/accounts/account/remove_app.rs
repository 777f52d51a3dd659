//! Removing an app's access: the consent is withdrawn (the app must ask again) and every
//! token family of the user at that client is revoked, which stops its refresh tokens and
//! the access tokens they issued at once, on every instance (the checks read the database).
//! Shared by the account page and `tessera user revoke-consent`.
use crate::storage::{consents, families, Db};

/// What removing the access did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Removed {
    pub consent_withdrawn: bool,
    pub families_revoked: u64,
}

impl Removed {
    /// Nothing was there to remove (no consent, no live token).
    pub fn nothing(&self) -> bool {
        !self.consent_withdrawn && self.families_revoked == 0
    }
}

/// Withdraws `user_id`'s consent to `client_id` and revokes their tokens at it.
pub async fn remove_app(
    db: &Db,
    user_id: &str,
    client_id: &str,
    now: i64,
) -> Result<Removed, sea_orm::DbErr> {
    let consent_withdrawn = consents::withdraw(db, user_id, client_id).await?;
    let families_revoked = families::revoke_for_user_at_client(db, user_id, client_id, now).await?;
    Ok(Removed {
        consent_withdrawn,
        families_revoked,
    })
}
