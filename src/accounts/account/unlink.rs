//! Unlinking an upstream identity: allowed only while another way to sign in remains (a
//! password, or another linked identity), so nobody locks themselves out.
use sea_orm::TransactionTrait;

use crate::storage::{upstreams, users, Db};

/// Why an unlink is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    NotLinked,
    LastWayToSignIn,
}

impl Refusal {
    /// What the page says, as a catalog key.
    pub fn key(self) -> &'static str {
        match self {
            Refusal::NotLinked => "account-unlink-not-linked",
            Refusal::LastWayToSignIn => "account-unlink-last-way",
        }
    }
}

/// Whether the account keeps a way to sign in after losing one of `links` linked identities.
pub fn may_unlink(has_password: bool, links: usize) -> Result<(), Refusal> {
    match (has_password, links) {
        (_, 0) => Err(Refusal::NotLinked),
        (false, 1) => Err(Refusal::LastWayToSignIn),
        _ => Ok(()),
    }
}

/// Unlinks (issuer, subject) from `user_id`, checking [`may_unlink`] in the same transaction
/// as the delete, so two unlinks racing cannot together remove the last way in.
pub async fn unlink(
    db: &Db,
    user_id: &str,
    issuer: &str,
    subject: &str,
) -> Result<Result<(), Refusal>, sea_orm::DbErr> {
    let txn = db.begin().await?;
    if !upstreams::unlink_identity(&txn, issuer, subject, user_id).await? {
        txn.rollback().await?;
        return Ok(Err(Refusal::NotLinked));
    }
    let remaining = upstreams::identities_of(&txn, user_id).await?.len();
    let has_password = users::find(&txn, user_id)
        .await?
        .is_some_and(|u| u.password_hash.is_some());
    if let Err(refusal) = may_unlink(has_password, remaining + 1) {
        txn.rollback().await?;
        return Ok(Err(refusal));
    }
    txn.commit().await?;
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_way_to_sign_in_must_remain() {
        assert_eq!(may_unlink(true, 1), Ok(()));
        assert_eq!(may_unlink(false, 2), Ok(()));
        assert_eq!(may_unlink(false, 1), Err(Refusal::LastWayToSignIn));
        assert_eq!(may_unlink(true, 0), Err(Refusal::NotLinked));
    }
}
