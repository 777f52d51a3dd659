//! Brute-force protection for the login form and client authentication: failures counted
//! per (account, address), per address and per account (the rules are in [`policy`]), kept
//! where every instance sees them — the database, or Redis when `TESSERA_REDIS_URL` is set.
//!
//! Only failures write. So that a success costs nothing when nobody failed (the token
//! endpoint's hot path), each instance keeps the set of keys that failed recently: its own
//! failures at once, every instance's by polling the store every [`POLL`]. An attempt none of
//! whose keys is in the set needs no read; another instance's lock is thus hidden for at most
//! one poll. Past [`HOT_LIMIT`] keys (an attack from many addresses) the set stops growing and
//! every attempt reads its counters.
pub mod client_ip;
pub mod policy;
pub mod redis_store;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::clock::SharedClock;
use crate::error::AppError;
use crate::storage::{self, Db};
use policy::{Policy, Record, Scope, Wait};
use redis_store::RedisStore;

pub use client_ip::ClientIp;

/// How often each instance reads the keys that failed anywhere.
pub const POLL: Duration = Duration::from_millis(500);
/// Most keys kept in the per-instance set before every attempt reads its counters instead.
pub const HOT_LIMIT: usize = 4096;

/// What is being authenticated: the login form (a username) or a client (a client id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Login,
    Client,
}

/// One authentication attempt: who it claims to be and where it comes from.
pub struct Attempt {
    kind: Kind,
    account: String,
    ip: IpAddr,
}

const SCOPES: [Scope; 3] = [Scope::Pair, Scope::Address, Scope::Account];

impl Attempt {
    /// A login as `username`, counted under the key sign-in matches it by, so neither case
    /// nor width nor spaces can dodge the count.
    pub fn login(username: &str, ip: IpAddr) -> Attempt {
        Attempt {
            kind: Kind::Login,
            account: crate::storage::users::username_key(username),
            ip,
        }
    }

    pub fn client(client_id: &str, ip: IpAddr) -> Attempt {
        Attempt {
            kind: Kind::Client,
            account: client_id.to_string(),
            ip,
        }
    }

    /// The counter keys, in the order of [`SCOPES`]: hashes, so neither usernames nor
    /// addresses are stored in clear.
    fn keys(&self) -> [String; 3] {
        let kind = match self.kind {
            Kind::Login => "login",
            Kind::Client => "client",
        };
        SCOPES.map(|scope| {
            let raw = match scope {
                Scope::Pair => format!("{kind}\0pair\0{}\0{}", self.account, self.ip),
                Scope::Address => format!("{kind}\0address\0{}", self.ip),
                Scope::Account => format!("{kind}\0account\0{}", self.account),
            };
            crate::secrets::left_half_hash(&raw)
        })
    }
}

/// What [`Throttle::check`] found: whether to refuse now, and the counters it read (which
/// the outcome of the attempt then updates).
#[derive(Debug, Default)]
pub struct Check {
    pub wait: Option<Wait>,
    records: [Option<Record>; 3],
}

/// Where the counters are kept.
#[derive(Clone)]
pub enum Store {
    Db(Db),
    Redis(RedisStore),
}

fn unavailable(e: redis::RedisError) -> AppError {
    AppError::Unavailable(format!("redis: {e}"))
}

impl Store {
    async fn read(&self, keys: &[String]) -> Result<Vec<Option<Record>>, AppError> {
        let record = |failures: u32, last_failure| Record {
            failures,
            last_failure,
        };
        match self {
            Store::Db(db) => {
                let found = storage::throttle::read(db, keys).await?;
                Ok(keys
                    .iter()
                    .map(|k| {
                        found
                            .iter()
                            .find(|c| &c.key == k)
                            .map(|c| record(c.failures, c.last_failure))
                    })
                    .collect())
            }
            Store::Redis(redis) => Ok(redis
                .read(keys)
                .await
                .map_err(unavailable)?
                .into_iter()
                .map(|r| r.map(|(f, l)| record(f, l)))
                .collect()),
        }
    }

    async fn record_failure(&self, keys: &[String], now: i64, window: i64) -> Result<(), AppError> {
        match self {
            Store::Db(db) => Ok(storage::throttle::record_failure(db, keys, now, window).await?),
            Store::Redis(redis) => redis
                .record_failure(keys, now, window)
                .await
                .map_err(unavailable),
        }
    }

    async fn reset(&self, key: &str) -> Result<(), AppError> {
        match self {
            Store::Db(db) => Ok(storage::throttle::reset(db, key).await?),
            Store::Redis(redis) => redis.reset(key).await.map_err(unavailable),
        }
    }

    async fn recent(&self, since: i64, limit: u64) -> Result<Vec<(String, i64)>, AppError> {
        match self {
            Store::Db(db) => Ok(storage::throttle::recent(db, since, limit).await?),
            Store::Redis(redis) => redis.recent(since, limit).await.map_err(unavailable),
        }
    }
}

/// The keys that failed recently, by their latest failure; or too many to keep.
#[derive(Default)]
struct Hot {
    keys: HashMap<String, i64>,
    saturated: bool,
}

struct Inner {
    policy: Policy,
    store: Store,
    hot: ArcSwap<Hot>,
}

/// The brute-force limits of this deployment; cheap to clone.
#[derive(Clone)]
pub struct Throttle(Arc<Inner>);

impl Throttle {
    /// Counters in `store` under `policy`; starts polling the recent failures of every
    /// instance (the task ends when the last clone is dropped).
    pub fn start(policy: Policy, store: Store, clock: SharedClock) -> Throttle {
        let throttle = Throttle(Arc::new(Inner {
            policy,
            store,
            hot: ArcSwap::from_pointee(Hot::default()),
        }));
        let weak: Weak<Inner> = Arc::downgrade(&throttle.0);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(POLL);
            loop {
                interval.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                let now = clock.now();
                let since = now - inner.policy.lock_seconds;
                match inner.store.recent(since, HOT_LIMIT as u64 + 1).await {
                    Ok(recent) => inner.merge_hot(recent, now),
                    // Keep what we know; the next poll tries again.
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot poll recent authentication failures")
                    }
                }
            }
        });
        throttle
    }

    pub fn policy(&self) -> &Policy {
        &self.0.policy
    }

    /// Whether `attempt` must wait at `now`. Reads the counters only if one of its keys failed
    /// recently (on any instance, as of the last poll).
    pub async fn check(&self, attempt: &Attempt, now: i64) -> Result<Check, AppError> {
        let hot = self.0.hot.load();
        if !hot.saturated && hot.keys.is_empty() {
            return Ok(Check::default());
        }
        let keys = attempt.keys();
        let lock_seconds = self.0.policy.lock_seconds;
        let may_exist = hot.saturated
            || keys.iter().any(|k| {
                hot.keys
                    .get(k)
                    .is_some_and(|&last| last + lock_seconds > now)
            });
        if !may_exist {
            return Ok(Check::default());
        }
        let found = self.0.store.read(&keys).await?;
        let mut records = [None; 3];
        for (slot, record) in records.iter_mut().zip(found) {
            *slot = record.filter(|r| self.0.policy.is_live(r, now));
        }
        let wait = self.0.policy.wait_all(
            SCOPES
                .iter()
                .zip(records.iter())
                .filter_map(|(scope, r)| r.as_ref().map(|r| (*scope, r))),
            now,
        );
        Ok(Check { wait, records })
    }

    /// Counts a failed attempt (after a [`check`](Self::check) that let it through). Returns
    /// the counter this failure locked, if it did: the caller records the lockout.
    pub async fn failed(
        &self,
        attempt: &Attempt,
        check: &Check,
        now: i64,
    ) -> Result<Option<Scope>, AppError> {
        let keys = attempt.keys();
        self.0
            .store
            .record_failure(&keys, now, self.0.policy.lock_seconds)
            .await?;
        self.0.mark_hot(&keys, now);
        let mut locked = None;
        for (scope, record) in SCOPES.iter().zip(check.records.iter()) {
            let failures = record.map_or(0, |r| r.failures).saturating_add(1);
            if self.0.policy.starts_lock(*scope, failures) {
                lockout_started(attempt, *scope, self.0.policy.lock_seconds);
                locked = locked.or(Some(*scope));
            }
        }
        Ok(locked)
    }

    /// A successful attempt forgets its (account, address) counter, if it had one.
    pub async fn succeeded(&self, attempt: &Attempt, check: &Check) -> Result<(), AppError> {
        if check.records[0].is_none() {
            return Ok(());
        }
        let [pair, ..] = attempt.keys();
        self.0.store.reset(&pair).await
    }
}

impl Inner {
    fn mark_hot(&self, keys: &[String], now: i64) {
        self.hot.rcu(|hot| {
            if hot.saturated {
                return Arc::clone(hot);
            }
            let mut next = Hot {
                keys: hot.keys.clone(),
                saturated: false,
            };
            for key in keys {
                next.keys.insert(key.clone(), now);
            }
            next.saturated = next.keys.len() > HOT_LIMIT;
            if next.saturated {
                next.keys.clear();
            }
            Arc::new(next)
        });
    }

    /// The set after a poll: what the store reports plus this instance's own keys still
    /// within the window (a failure written after the poll's read must not drop out).
    fn merge_hot(&self, recent: Vec<(String, i64)>, now: i64) {
        let saturated = recent.len() > HOT_LIMIT;
        let lock_seconds = self.policy.lock_seconds;
        self.hot.rcu(|hot| {
            let mut keys: HashMap<String, i64> = hot
                .keys
                .iter()
                .filter(|(_, &last)| last + lock_seconds > now)
                .map(|(k, &v)| (k.clone(), v))
                .collect();
            for (key, last) in &recent {
                let entry = keys.entry(key.clone()).or_insert(*last);
                *entry = (*entry).max(*last);
            }
            let saturated = saturated || keys.len() > HOT_LIMIT;
            if saturated {
                keys.clear();
            }
            Arc::new(Hot { keys, saturated })
        });
    }
}

/// The security log line of a lockout (a counter reaching its lock); the caller records the
/// audit event, which knows the user or client.
fn lockout_started(attempt: &Attempt, scope: Scope, lock_seconds: i64) {
    tracing::info!(
        target: "security",
        event = "lockout",
        kind = ?attempt.kind,
        scope = ?scope,
        ip = %attempt.ip,
        lock_seconds,
        "too many failed attempts: locked"
    );
}

#[cfg(test)]
mod login_key_tests {
    use super::*;

    #[test]
    fn other_spellings_of_a_username_share_its_counters() {
        let ip: IpAddr = [127, 0, 0, 1].into();
        assert_eq!(
            Attempt::login("ALICE ", ip).keys(),
            Attempt::login("ａｌｉｃｅ", ip).keys()
        );
        assert_ne!(
            Attempt::login("alice", ip).keys(),
            Attempt::login("alice2", ip).keys()
        );
    }
}
