//! The account the sandbox plays: its tokens, its users, its limits and its counters, behind
//! one lock.
//!
//! Handlers take the lock for a few map operations at a time and never across an `.await`, so
//! one plain mutex serves every connection.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use jiff::Timestamp;
use rand::Rng;
use rand::distr::Alphanumeric;
use rand::rngs::StdRng;
use tokio::time::Instant;

use super::clock::Clock;
use super::config::SandboxArgs;
use super::faults::{FaultDice, unpredictable_rng};
use super::limits::{DailyQuota, PerSecondLimit};
use super::stats::Counters;
use crate::zoom::rules::Action;

/// A user of the sandbox's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxUser {
    /// The id the sandbox gave it.
    pub id: String,
    /// The email, as received.
    pub email: String,
    /// The action it was created with, or `None` for a user listed in `--existing`.
    pub action: Option<Action>,
    /// The `user_info` object exactly as received (empty for `--existing` users).
    pub user_info: serde_json::Value,
    /// When it was created, on the sandbox's clock.
    pub created_at: Timestamp,
}

impl SandboxUser {
    /// `pending` for a user invited with `create` (nobody accepts invitations in the sandbox),
    /// `active` otherwise.
    #[must_use]
    pub fn status(&self) -> &'static str {
        if self.action == Some(Action::Create) {
            "pending"
        } else {
            "active"
        }
    }

    /// A text field of the `user_info` as received, if it was a string.
    #[must_use]
    pub fn text_field(&self, name: &str) -> Option<String> {
        self.user_info
            .get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    }
}

/// What a bearer token turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenCheck {
    /// Issued and still live.
    Live,
    /// Issued but past its lifetime.
    Expired,
    /// Never issued, revoked, or absent.
    Unknown,
}

/// Everything shared by the handlers of one sandbox.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The options it was started with.
    pub(crate) args: SandboxArgs,
    /// Its calendar.
    pub(crate) clock: Clock,
    /// Its fault dice.
    pub(crate) dice: FaultDice,
    /// When it started, for the arrival log.
    pub(crate) started: Instant,
    /// `http://host:port`, what the token answer calls `api_url`.
    pub(crate) api_host: String,
    /// Numbers the tracking ids; atomic because it is the only state a tracking id needs.
    tracking: AtomicU64,
    /// The account.
    state: Mutex<State>,
}

impl Shared {
    /// A fresh account for these options, with the `--existing` users already in it.
    pub(crate) fn new(
        args: SandboxArgs,
        api_host: String,
        existing: &[String],
        seed: u64,
    ) -> Shared {
        let clock = Clock::default();
        let now = clock.now();
        let mut state = State {
            tokens: HashMap::new(),
            users: Vec::new(),
            by_email: HashMap::new(),
            by_id: HashMap::new(),
            per_second: PerSecondLimit::new(args.light_rate(), args.burst_size(), Instant::now()),
            daily: DailyQuota::new(args.create_quota()),
            rng: unpredictable_rng(),
            counters: Counters::default(),
        };
        for email in existing {
            let _ = state.add_user(
                email,
                None,
                serde_json::Value::Object(serde_json::Map::new()),
                now,
            );
        }
        Shared {
            dice: FaultDice::new(&args, seed),
            args,
            clock,
            started: Instant::now(),
            api_host,
            tracking: AtomicU64::new(0),
            state: Mutex::new(state),
        }
    }

    /// Takes the account's lock. A panic elsewhere cannot leave the maps half-updated in a way
    /// that matters to a fake, so a poisoned lock is simply taken over.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A fresh `x-zm-trackingid` value.
    pub(crate) fn tracking_id(&self) -> String {
        let number = self.tracking.fetch_add(1, Ordering::Relaxed);
        format!("v=2.0;clid=sandbox;rid=SANDBOX_{number:016x}")
    }
}

/// The account's mutable state.
#[derive(Debug)]
pub(crate) struct State {
    /// Live tokens and when each expires.
    tokens: HashMap<String, Timestamp>,
    /// Every user, in order of creation.
    users: Vec<SandboxUser>,
    /// Index into `users` by lowercased email.
    by_email: HashMap<String, usize>,
    /// Index into `users` by id.
    by_id: HashMap<String, usize>,
    /// The per-second limit on Light requests.
    pub(crate) per_second: PerSecondLimit,
    /// The daily quota on `create`.
    pub(crate) daily: DailyQuota,
    /// Source of token values and user ids; unpredictable, unlike the fault dice.
    rng: StdRng,
    /// What happened so far.
    pub(crate) counters: Counters,
}

impl State {
    /// Issues a token living `ttl_seconds` from `now`, revoking the others if asked.
    pub(crate) fn issue_token(
        &mut self,
        now: Timestamp,
        ttl_seconds: u64,
        revoke_old: bool,
    ) -> String {
        if revoke_old {
            self.tokens.clear();
        } else {
            self.tokens.retain(|_, expires| *expires > now);
        }
        let token: String = (&mut self.rng)
            .sample_iter(Alphanumeric)
            .take(64)
            .map(char::from)
            .collect();
        let ttl = jiff::SignedDuration::from_secs(i64::try_from(ttl_seconds).unwrap_or(i64::MAX));
        let expires = now.checked_add(ttl).unwrap_or(Timestamp::MAX);
        self.tokens.insert(token.clone(), expires);
        token
    }

    /// Every token issued and not yet revoked or expired.
    pub(crate) fn live_tokens(&self) -> Vec<String> {
        self.tokens.keys().cloned().collect()
    }

    /// Whether a bearer token is live at `now`.
    pub(crate) fn check_token(&self, token: &str, now: Timestamp) -> TokenCheck {
        match self.tokens.get(token) {
            Some(expires) if *expires > now => TokenCheck::Live,
            Some(_) => TokenCheck::Expired,
            None => TokenCheck::Unknown,
        }
    }

    /// Finds a user by id, or by email in any letter case.
    pub(crate) fn find_user(&self, id_or_email: &str) -> Option<&SandboxUser> {
        let index = self
            .by_id
            .get(id_or_email)
            .or_else(|| self.by_email.get(&id_or_email.to_lowercase()))?;
        self.users.get(*index)
    }

    /// Adds a user, unless its email is already in the account.
    pub(crate) fn add_user(
        &mut self,
        email: &str,
        action: Option<Action>,
        user_info: serde_json::Value,
        now: Timestamp,
    ) -> Option<&SandboxUser> {
        let key = email.to_lowercase();
        if self.by_email.contains_key(&key) {
            return None;
        }
        let id: String = (&mut self.rng)
            .sample_iter(Alphanumeric)
            .take(22)
            .map(char::from)
            .collect();
        let index = self.users.len();
        self.users.push(SandboxUser {
            id: id.clone(),
            email: email.to_owned(),
            action,
            user_info,
            created_at: now,
        });
        self.by_email.insert(key, index);
        self.by_id.insert(id, index);
        self.users.get(index)
    }

    /// The users created through the API, in order, leaving out `--existing` ones.
    pub(crate) fn created_users(&self) -> Vec<SandboxUser> {
        self.users
            .iter()
            .filter(|user| user.action.is_some())
            .cloned()
            .collect()
    }
}
