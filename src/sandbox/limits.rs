//! The account's rate limits: Light requests per second, and `create` requests per UTC day, and
//! how a 429 says when to come back.
//!
//! # How the per-second window is counted
//!
//! Zoom says "30 Light requests a second" without saying how the second is measured, so the
//! sandbox measures it the way that is both strict and fair: a token bucket.
//!
//! - The bucket holds `burst` tokens (`--burst`; by default a quarter of a second's worth of
//!   the rate, at least 2) and starts full.
//! - It refills continuously at `rate` tokens a second, never above `burst`.
//! - Each Light request (a create or a look-up; token requests are not Light) takes one token.
//!   When less than one token is left, the request is refused with a 429 and takes nothing.
//!
//! Two consequences follow, and the integration tests check both:
//!
//! - A client that paces itself evenly at exactly `rate` requests a second is never refused,
//!   even when each request is delayed on its way by up to `(burst - 1) / rate` seconds (about
//!   a quarter of a second by default), since the bucket holds that much slack.
//! - A client 10% faster drains the bucket by a tenth of the rate every second and is refused
//!   after about `burst / (0.1 * rate)` seconds: two and a half seconds by default.
//!
//! A bucket as deep as the whole rate would forgive a burst of a full second's requests, and
//! would take ten seconds to notice a client 10% too fast; a sandbox that is stricter than Zoom
//! is the safer rehearsal.
//!
//! # The daily quota
//!
//! `create` requests that pass authentication and the per-second limit count against the
//! day's quota, whatever their answer. The day is the UTC date of the sandbox's clock; the
//! count starts again at 00:00 UTC.

use std::time::Duration;

use jiff::civil::Date;
use jiff::fmt::rfc2822::DateTimePrinter;
use jiff::{SignedDuration, Timestamp};
use tokio::time::Instant;

use super::clock::{self, ceil_to_second};
use super::config::RetryAfterForm;

/// The per-second limit: a token bucket, as the module docs describe.
#[derive(Debug)]
pub(crate) struct PerSecondLimit {
    /// Tokens added a second.
    rate: f64,
    /// The most tokens the bucket holds.
    capacity: f64,
    /// Tokens in the bucket at `updated`.
    tokens: f64,
    /// When `tokens` was last brought up to date.
    updated: Instant,
}

impl PerSecondLimit {
    /// A bucket that is full at `now`.
    pub(crate) fn new(rate: u32, burst: u32, now: Instant) -> PerSecondLimit {
        PerSecondLimit {
            rate: f64::from(rate.max(1)),
            capacity: f64::from(burst.max(1)),
            tokens: f64::from(burst.max(1)),
            updated: now,
        }
    }

    /// Takes a token for a request arriving at `now`, or says how long until one is there.
    pub(crate) fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.updated = self.updated.max(now);
        // The tolerance keeps rounding from refusing a request that arrives exactly on time.
        if self.tokens >= 1.0 - 1e-9 {
            self.tokens = (self.tokens - 1.0).max(0.0);
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }
}

/// The daily `create` quota of the current UTC day.
#[derive(Debug)]
pub(crate) struct DailyQuota {
    /// Creates allowed a day.
    limit: u32,
    /// The UTC day `used` counts.
    day: Option<Date>,
    /// Creates counted on `day`.
    used: u32,
}

/// What the daily quota says about one more `create`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DailyVerdict {
    /// Counted; this many are left today.
    Counted {
        /// The day's quota.
        limit: u32,
        /// What is left after this one.
        remaining: u32,
    },
    /// The day's quota is spent; it comes back at this instant.
    Spent {
        /// The day's quota.
        limit: u32,
        /// The next 00:00 UTC.
        resumes_at: Timestamp,
    },
}

impl DailyQuota {
    /// A quota of `limit` creates a day, none used.
    pub(crate) fn new(limit: u32) -> DailyQuota {
        DailyQuota {
            limit,
            day: None,
            used: 0,
        }
    }

    /// Counts one `create` at `now`, unless the day's quota is spent.
    pub(crate) fn try_use(&mut self, now: Timestamp) -> DailyVerdict {
        self.roll_over(now);
        if self.used >= self.limit {
            return DailyVerdict::Spent {
                limit: self.limit,
                resumes_at: clock::next_utc_midnight(now),
            };
        }
        self.used += 1;
        DailyVerdict::Counted {
            limit: self.limit,
            remaining: self.limit - self.used,
        }
    }

    /// Creates counted today, as of `now`.
    pub(crate) fn used(&mut self, now: Timestamp) -> u32 {
        self.roll_over(now);
        self.used
    }

    /// The day's quota.
    pub(crate) fn limit(&self) -> u32 {
        self.limit
    }

    /// Starts a fresh count when `now` is on a later UTC day than the one counted.
    fn roll_over(&mut self, now: Timestamp) {
        let today = clock::utc_day(now);
        if self.day != Some(today) {
            self.day = Some(today);
            self.used = 0;
        }
    }
}

/// The `Retry-After` value for a wait of `wait` from `now`, in the selected form.
///
/// Delay-seconds are rounded up, so that a client that waits exactly as told is accepted;
/// instants are rounded up to the whole second for the same reason.
pub(crate) fn retry_after_value(
    form: RetryAfterForm,
    now: Timestamp,
    wait: Duration,
) -> Option<String> {
    let at = || {
        let wait = SignedDuration::try_from(wait).unwrap_or(SignedDuration::MAX);
        ceil_to_second(now.checked_add(wait).unwrap_or(Timestamp::MAX))
    };
    match form {
        RetryAfterForm::None => None,
        RetryAfterForm::Seconds => {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            Some(seconds.to_string())
        }
        RetryAfterForm::Iso8601 => Some(at().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
        RetryAfterForm::HttpDate => DateTimePrinter::new()
            .timestamp_to_rfc9110_string(&at())
            .ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refuses_past_its_burst_and_refills_at_the_rate() {
        let start = Instant::now();
        let mut limit = PerSecondLimit::new(10, 3, start);
        for _ in 0..3 {
            assert_eq!(limit.try_take(start), Ok(()));
        }
        let wait = limit.try_take(start).unwrap_err();
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-9, "{wait:?}");
        assert_eq!(limit.try_take(start + Duration::from_millis(100)), Ok(()));
        assert!(limit.try_take(start + Duration::from_millis(150)).is_err());
    }

    #[test]
    fn even_pacing_at_the_rate_with_late_arrivals_is_never_refused() {
        let start = Instant::now();
        let mut limit = PerSecondLimit::new(20, 5, start);
        for k in 0..2_000_u64 {
            // Every third request is 180 ms late; the bucket's slack is 200 ms.
            let late = if k % 3 == 0 { 180 } else { 0 };
            let arrival = start + Duration::from_millis(k * 50 + late);
            assert_eq!(limit.try_take(arrival), Ok(()), "request {k}");
        }
    }

    #[test]
    fn ten_percent_too_fast_is_refused_within_three_seconds() {
        let start = Instant::now();
        let mut limit = PerSecondLimit::new(20, 5, start);
        let first_refusal = (0..200_u64)
            .find(|k| {
                let arrival = start + Duration::from_secs_f64(*k as f64 / 22.0);
                limit.try_take(arrival).is_err()
            })
            .unwrap();
        assert!(first_refusal < 66, "first refused: {first_refusal}");
    }

    #[test]
    fn daily_quota_counts_to_its_limit_and_resets_at_midnight() {
        let noon: Timestamp = "2026-02-28T12:00:00Z".parse().unwrap();
        let mut quota = DailyQuota::new(2);
        assert_eq!(
            quota.try_use(noon),
            DailyVerdict::Counted {
                limit: 2,
                remaining: 1
            }
        );
        assert_eq!(
            quota.try_use(noon),
            DailyVerdict::Counted {
                limit: 2,
                remaining: 0
            }
        );
        let midnight: Timestamp = "2026-03-01T00:00:00Z".parse().unwrap();
        assert_eq!(
            quota.try_use(noon),
            DailyVerdict::Spent {
                limit: 2,
                resumes_at: midnight
            }
        );
        assert_eq!(
            quota.try_use(midnight),
            DailyVerdict::Counted {
                limit: 2,
                remaining: 1
            }
        );
    }

    #[test]
    fn retry_after_forms() {
        let now: Timestamp = "2026-02-28T23:59:58.5Z".parse().unwrap();
        let wait = Duration::from_millis(1_500);
        let value = |form| retry_after_value(form, now, wait);
        assert_eq!(value(RetryAfterForm::None), None);
        assert_eq!(value(RetryAfterForm::Seconds).as_deref(), Some("2"));
        assert_eq!(
            value(RetryAfterForm::Iso8601).as_deref(),
            Some("2026-03-01T00:00:00Z")
        );
        assert_eq!(
            value(RetryAfterForm::HttpDate).as_deref(),
            Some("Sun, 01 Mar 2026 00:00:00 GMT")
        );
    }
}
