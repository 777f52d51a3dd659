//! The brute-force policy, pure: given the failures counted under a key and the time, how
//! long the next attempt must wait. No I/O and no clock here, so every rule is unit-tested.
//!
//! Three counters see each attempt: the (account, address) pair, the address alone (one
//! address trying many accounts) and the account alone (many addresses trying one account).
//! The pair and the address get growing delays and then a lock; the account only ever gets a
//! bounded delay, so an attacker's failures can slow the real user but never lock them out.

/// Which counter a key belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// One account (username or client id) from one address.
    Pair,
    /// One address, whatever the account.
    Address,
    /// One account, whatever the address: delayed, never locked.
    Account,
}

impl Scope {
    /// The audit log's reason for a lock of this counter.
    pub fn lock_reason(self) -> &'static str {
        match self {
            Scope::Pair => "account_and_address",
            Scope::Address => "address",
            Scope::Account => "account",
        }
    }
}

/// The limits of one scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Failures after which each further attempt waits 1 s, 2 s, 4 s, ... (at most `max_delay`).
    pub delay_after: u32,
    /// Failures after which attempts are refused for `lock_seconds`; None: never locked.
    pub lock_after: Option<u32>,
    /// Longest delay, in seconds.
    pub max_delay: i64,
}

/// The whole policy, as configured (`TESSERA_LOGIN_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub pair: Limits,
    pub address: Limits,
    pub account: Limits,
    /// How long a lock lasts, and how long a counter is remembered after its last failure.
    pub lock_seconds: i64,
}

/// What a counter holds: `failures` within the window, the latest at `last_failure`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    pub failures: u32,
    pub last_failure: i64,
}

/// An attempt refused for now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait {
    /// Seconds until an attempt is let through again (at least 1).
    pub retry_after: i64,
    /// A lock rather than a delay.
    pub locked: bool,
}

impl Policy {
    pub fn limits(&self, scope: Scope) -> Limits {
        match scope {
            Scope::Pair => self.pair,
            Scope::Address => self.address,
            Scope::Account => self.account,
        }
    }

    /// Whether a counter with `record` still counts at `now` (else it is forgotten, as if
    /// there had been no failure).
    pub fn is_live(&self, record: &Record, now: i64) -> bool {
        record.last_failure + self.lock_seconds > now
    }

    /// How long an attempt under `scope` must wait at `now`, given its counter; None: go.
    pub fn wait(&self, scope: Scope, record: &Record, now: i64) -> Option<Wait> {
        if !self.is_live(record, now) {
            return None;
        }
        let limits = self.limits(scope);
        let locked = limits.lock_after.is_some_and(|n| record.failures >= n);
        let until = if locked {
            record.last_failure + self.lock_seconds
        } else {
            record.last_failure + delay(&limits, record.failures)
        };
        (until > now).then_some(Wait {
            retry_after: until - now,
            locked,
        })
    }

    /// The longest wait over all of an attempt's counters; a lock wins over a delay of the
    /// same length.
    pub fn wait_all<'a>(
        &self,
        records: impl IntoIterator<Item = (Scope, &'a Record)>,
        now: i64,
    ) -> Option<Wait> {
        records
            .into_iter()
            .filter_map(|(scope, record)| self.wait(scope, record, now))
            .max_by_key(|w| (w.retry_after, w.locked))
    }

    /// True when the failure that brought `scope`'s counter to `failures` started a lock.
    pub fn starts_lock(&self, scope: Scope, failures: u32) -> bool {
        self.limits(scope).lock_after == Some(failures)
    }
}

/// The delay after `failures`: none below `delay_after`, then doubling from 1 s.
fn delay(limits: &Limits, failures: u32) -> i64 {
    if failures < limits.delay_after {
        return 0;
    }
    let doublings = (failures - limits.delay_after).min(30);
    (1i64 << doublings).min(limits.max_delay.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            pair: Limits {
                delay_after: 5,
                lock_after: Some(20),
                max_delay: 60,
            },
            address: Limits {
                delay_after: 20,
                lock_after: Some(100),
                max_delay: 60,
            },
            account: Limits {
                delay_after: 10,
                lock_after: None,
                max_delay: 30,
            },
            lock_seconds: 900,
        }
    }

    fn at(failures: u32, last_failure: i64) -> Record {
        Record {
            failures,
            last_failure,
        }
    }

    #[test]
    fn no_delay_before_the_fifth_failure_then_doubling_delays() {
        let p = policy();
        assert_eq!(p.wait(Scope::Pair, &at(4, 1000), 1000), None);
        let w = |n| {
            p.wait(Scope::Pair, &at(n, 1000), 1000)
                .map(|w| w.retry_after)
        };
        assert_eq!(w(5), Some(1));
        assert_eq!(w(6), Some(2));
        assert_eq!(w(7), Some(4));
        assert_eq!(w(11), Some(60), "capped");
        assert_eq!(w(19), Some(60));
        // The delay runs from the last failure.
        assert_eq!(
            p.wait(Scope::Pair, &at(7, 1000), 1003)
                .map(|w| w.retry_after),
            Some(1)
        );
        assert_eq!(p.wait(Scope::Pair, &at(7, 1000), 1004), None);
    }

    #[test]
    fn the_twentieth_failure_locks_for_the_lock_time_then_all_is_forgotten() {
        let p = policy();
        let wait = p.wait(Scope::Pair, &at(20, 1000), 1000).expect("locked");
        assert_eq!(
            wait,
            Wait {
                retry_after: 900,
                locked: true
            }
        );
        assert_eq!(
            p.wait(Scope::Pair, &at(20, 1000), 1899)
                .map(|w| w.retry_after),
            Some(1)
        );
        assert_eq!(p.wait(Scope::Pair, &at(20, 1000), 1900), None);
        assert!(!p.is_live(&at(20, 1000), 1900));
        assert!(p.starts_lock(Scope::Pair, 20));
        assert!(!p.starts_lock(Scope::Pair, 21));
    }

    #[test]
    fn the_account_alone_is_delayed_boundedly_and_never_locked() {
        let p = policy();
        for failures in [10, 20, 100, 10_000, u32::MAX] {
            let wait = p
                .wait(Scope::Account, &at(failures, 1000), 1000)
                .expect("delayed");
            assert!(!wait.locked);
            assert!(wait.retry_after <= 30, "{failures}: {wait:?}");
        }
        assert!(!p.starts_lock(Scope::Account, 20));
        assert_eq!(p.wait(Scope::Account, &at(9, 1000), 1000), None);
    }

    #[test]
    fn the_longest_wait_of_all_counters_applies() {
        let p = policy();
        let pair = at(6, 1000);
        let account = at(30, 1000);
        let address = at(3, 1000);
        let wait = p
            .wait_all(
                [
                    (Scope::Pair, &pair),
                    (Scope::Address, &address),
                    (Scope::Account, &account),
                ],
                1000,
            )
            .expect("wait");
        assert_eq!(wait.retry_after, 30);
        let fresh = at(1, 1000);
        assert_eq!(p.wait_all([(Scope::Pair, &fresh)], 1000), None);
    }
}
