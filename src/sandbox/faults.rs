//! Seeded trouble: latency, server errors, ambiguous creates and dropped connections.
//!
//! Every API request (`/v2/...`) draws one [`FaultPlan`] from a single seeded generator before
//! it is handled; token requests and `/_sandbox/*` never do. Each draw takes the same number
//! of values whatever the rates are, so a request's fate depends only on the seed and on its
//! place in the order of arrival: a run whose requests arrive in the same order is repeated
//! exactly.

use std::sync::Mutex;
use std::time::Duration;

use axum::http::StatusCode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::config::SandboxArgs;

/// What befalls one API request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FaultPlan {
    /// Close the connection without an answer, and do nothing else.
    pub(crate) drop: bool,
    /// Answer this server error before doing anything.
    pub(crate) error: Option<StatusCode>,
    /// For a create that succeeds: create the user, then answer like this.
    pub(crate) ambiguity: Option<Ambiguity>,
    /// How long to hold the answer.
    pub(crate) latency: Duration,
}

/// How an ambiguous create hides its success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ambiguity {
    /// 502 Bad Gateway.
    BadGateway,
    /// 504 Gateway Timeout.
    GatewayTimeout,
    /// No answer for `--stall-ms`, then a 504.
    Stall,
}

/// The kinds of fault, as counted in the stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultKind {
    /// A connection closed without an answer.
    Dropped,
    /// A 500 before anything was done.
    Error500,
    /// A 503 before anything was done.
    Error503,
    /// A created user answered with 502.
    Ambiguous502,
    /// A created user answered with 504.
    Ambiguous504,
    /// A created user answered with a stall.
    AmbiguousStall,
}

/// The seeded generator and the rates it is rolled against.
#[derive(Debug)]
pub(crate) struct FaultDice {
    /// One generator for every request, so that the sequence of fates is the seed's alone.
    /// Held only for the few draws of one plan.
    rng: Mutex<StdRng>,
    /// The seed it started from, reported so a run can be repeated.
    seed: u64,
    error_rate: f64,
    ambiguous_rate: f64,
    drop_rate: f64,
    latency_ms: u64,
    jitter_ms: u64,
}

impl FaultDice {
    /// Dice for these options, seeded with `seed`.
    pub(crate) fn new(args: &SandboxArgs, seed: u64) -> FaultDice {
        FaultDice {
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            seed,
            error_rate: args.error_rate,
            ambiguous_rate: args.ambiguous_rate,
            drop_rate: args.drop_rate,
            latency_ms: args.latency_ms,
            jitter_ms: args.jitter_ms,
        }
    }

    /// The seed in use.
    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }

    /// Draws the fate of the next API request.
    pub(crate) fn roll(&self) -> FaultPlan {
        let draws: [f64; 6] = {
            let mut rng = self
                .rng
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            std::array::from_fn(|_| rng.random::<f64>())
        };
        let [drop, error, error_kind, ambiguous, ambiguous_kind, jitter] = draws;

        let error = (error < self.error_rate).then_some(if error_kind < 0.5 {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        });
        let ambiguity = (ambiguous < self.ambiguous_rate).then_some(match ambiguous_kind {
            kind if kind < 1.0 / 3.0 => Ambiguity::BadGateway,
            kind if kind < 2.0 / 3.0 => Ambiguity::GatewayTimeout,
            _ => Ambiguity::Stall,
        });
        // Uniform in [latency - jitter, latency + jitter], never below zero.
        let spread = (jitter * 2.0 - 1.0) * self.jitter_ms as f64;
        let latency_ms = (self.latency_ms as f64 + spread).max(0.0);

        FaultPlan {
            drop: drop < self.drop_rate,
            error,
            ambiguity,
            latency: Duration::from_secs_f64(latency_ms / 1000.0),
        }
    }
}

/// A seed for a run that was not given one, from the process's hashing keys, which the
/// standard library draws from the operating system.
pub(crate) fn fresh_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

/// A generator for values that must not be guessable or repeatable (tokens, user ids): seeded
/// from fresh hashing keys, never from `--seed`.
pub(crate) fn unpredictable_rng() -> StdRng {
    let mut seed = [0_u8; 32];
    for chunk in seed.chunks_mut(8) {
        chunk.copy_from_slice(&fresh_seed().to_le_bytes());
    }
    StdRng::from_seed(seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_fates() {
        let args = SandboxArgs {
            error_rate: 0.3,
            drop_rate: 0.2,
            ambiguous_rate: 0.4,
            latency_ms: 10,
            jitter_ms: 5,
            ..SandboxArgs::default()
        };
        let first = FaultDice::new(&args, 7);
        let second = FaultDice::new(&args, 7);
        for _ in 0..100 {
            let plan = first.roll();
            assert_eq!(plan, second.roll());
            assert!(plan.latency >= Duration::from_millis(5));
            assert!(plan.latency <= Duration::from_millis(15));
        }
    }

    #[test]
    fn zero_rates_never_fault() {
        let dice = FaultDice::new(&SandboxArgs::default(), 1);
        for _ in 0..1000 {
            let plan = dice.roll();
            assert!(!plan.drop && plan.error.is_none() && plan.ambiguity.is_none());
            assert_eq!(plan.latency, Duration::ZERO);
        }
    }

    #[test]
    fn fresh_seeds_differ() {
        assert_ne!(fresh_seed(), fresh_seed());
    }
}
