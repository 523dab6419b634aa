//! The pool's one pace-keeper: the per-second limit, and pauses that Zoom's 429s impose.
//!
//! Every attempt, create or look-up, waits here first. The pacer holds two things:
//!
//! - a governor rate limiter at the account's Light per-second rate, shared by all workers;
//! - a "not before" instant: after a per-second 429 the whole pool waits until then, not only
//!   the worker that was refused.
//!
//! governor cannot change a quota at run time, so lowering the rate swaps in a new limiter.
//! The rate is only ever lowered within a run: a 429 means someone else on the account is
//! using the budget, and rising again would risk more refusals for little gain.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

/// Paces attempts for the whole pool.
pub struct Pacer {
    /// The limiter in force; replaced whole when the rate is lowered.
    limiter: Mutex<Arc<DefaultDirectRateLimiter>>,
    /// The rate in force, per second.
    rate: Mutex<u32>,
    /// No attempt starts before this instant. Set by per-second 429s.
    not_before: Mutex<Option<Instant>>,
}

impl Pacer {
    /// A pacer at `rate` attempts per second.
    #[must_use]
    pub fn new(rate: NonZeroU32) -> Pacer {
        Pacer {
            limiter: Mutex::new(Arc::new(limiter_for(rate))),
            rate: Mutex::new(rate.get()),
            not_before: Mutex::new(None),
        }
    }

    /// The rate in force, per second.
    #[must_use]
    pub fn rate(&self) -> u32 {
        *self.rate.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until one more attempt may start.
    pub async fn ready(&self) {
        loop {
            if let Some(until) = self.pause_end() {
                let now = Instant::now();
                if until > now {
                    tokio::time::sleep_until(until).await;
                    continue;
                }
            }
            let limiter = Arc::clone(&self.limiter.lock().unwrap_or_else(PoisonError::into_inner));
            limiter.until_ready().await;
            // A pause may have begun while this attempt waited its turn; it must wait it out too.
            if self.pause_end().is_none_or(|until| until <= Instant::now()) {
                return;
            }
        }
    }

    /// Holds the whole pool back for `wait` from now. A longer pause already in force stays.
    pub fn pause_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut not_before = self
            .not_before
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if not_before.is_none_or(|current| current < until) {
            *not_before = Some(until);
        }
    }

    /// Lowers the rate to `rate` per second. A rate at or above the one in force changes
    /// nothing.
    pub fn lower_rate(&self, rate: u32) {
        let Some(new_rate) = NonZeroU32::new(rate.max(1)) else {
            return;
        };
        let mut current = self.rate.lock().unwrap_or_else(PoisonError::into_inner);
        if new_rate.get() >= *current {
            return;
        }
        tracing::debug!(
            from = *current,
            to = new_rate.get(),
            "lowering the request rate"
        );
        *current = new_rate.get();
        *self.limiter.lock().unwrap_or_else(PoisonError::into_inner) =
            Arc::new(limiter_for(new_rate));
    }

    fn pause_end(&self) -> Option<Instant> {
        *self
            .not_before
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A limiter that spreads `rate` evenly over each second.
///
/// A burst of `rate` at once would be within the average but unkind to Zoom's counters, so the
/// burst is a twentieth of the rate: enough that a worker woken a millisecond late does not
/// cost the pool its slot, small enough that no second sees much more than `rate`.
fn limiter_for(rate: NonZeroU32) -> DefaultDirectRateLimiter {
    let burst = NonZeroU32::new(rate.get().div_ceil(20)).unwrap_or(NonZeroU32::MIN);
    RateLimiter::direct(Quota::per_second(rate).allow_burst(burst))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_only_goes_down() {
        let pacer = Pacer::new(NonZeroU32::new(30).unwrap());
        pacer.lower_rate(40);
        assert_eq!(pacer.rate(), 30);
        pacer.lower_rate(10);
        assert_eq!(pacer.rate(), 10);
        pacer.lower_rate(0);
        assert_eq!(pacer.rate(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_back_the_next_attempt() {
        let pacer = Pacer::new(NonZeroU32::new(1000).unwrap());
        pacer.pause_for(Duration::from_secs(2));
        let started = Instant::now();
        pacer.ready().await;
        assert!(Instant::now() - started >= Duration::from_secs(2));
        pacer.pause_for(Duration::from_millis(1));
        pacer.pause_for(Duration::ZERO);
        assert!(pacer.pause_end().unwrap() > Instant::now());
    }
}
