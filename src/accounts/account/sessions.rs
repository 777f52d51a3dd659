//! Signing out sessions from the account page: one session, or every one but this browser's.
//! They end as a logout ends them (`oauth::logout::ending`): their non-offline token
//! families revoked, their apps told by back-channel logout.
use crate::error::AppError;
use crate::oauth::logout::ending::{self, Context, Ended};
use crate::storage::login_sessions::{self, LoginSession};

/// Which sessions a sign-out ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Which {
    One(String),
    AllBut(Option<String>),
}

/// The sessions of `active` (the user's own, still counting) that `which` names: a `sid`
/// not among them is not the user's to end (or has ended already), so it names nothing.
pub fn to_end(active: &[LoginSession], which: &Which) -> Vec<String> {
    active
        .iter()
        .filter(|s| match which {
            Which::One(sid) => &s.sid == sid,
            Which::AllBut(current) => current.as_deref() != Some(s.sid.as_str()),
        })
        .map(|s| s.sid.clone())
        .collect()
}

/// Ends the sessions `which` names among `user_id`'s.
pub async fn sign_out(
    ctx: &Context<'_>,
    user_id: &str,
    which: &Which,
    now: i64,
) -> Result<Ended, AppError> {
    let active = login_sessions::active_for_user(ctx.db, user_id, now).await?;
    let mut total = Ended::default();
    for sid in to_end(&active, which) {
        total.add(ending::end_session(ctx, user_id, &sid, now).await?);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(sid: &str) -> LoginSession {
        LoginSession {
            sid: sid.into(),
            user_id: "u".into(),
            auth_time: 0,
            created_at: 0,
            ip: None,
            user_agent: None,
            ended_at: None,
            expires_at: 10,
        }
    }

    #[test]
    fn only_the_users_own_sessions_are_named() {
        let active = [session("a"), session("b"), session("c")];
        assert_eq!(to_end(&active, &Which::One("b".into())), ["b"]);
        assert!(to_end(&active, &Which::One("someone-elses".into())).is_empty());
        assert_eq!(
            to_end(&active, &Which::AllBut(Some("b".into()))),
            ["a", "c"]
        );
        assert_eq!(to_end(&active, &Which::AllBut(None)), ["a", "b", "c"]);
    }
}
