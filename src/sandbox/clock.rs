//! The sandbox's notion of the calendar: the machine's UTC time shifted by an offset that tests
//! (and `POST /_sandbox/clock`) can move forward.
//!
//! The calendar decides token expiry and the daily quota's UTC day. The per-second limit does
//! not read it: it runs on tokio's monotonic clock, so moving the calendar never refills it
//! (and a test that pauses tokio's time moves the bucket with it).

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

/// The machine's clock plus an offset in milliseconds.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    /// How far the sandbox's calendar is ahead of the machine's. Atomic because every request
    /// reads it and only the clock endpoint writes it; no other state depends on it atomically.
    offset_millis: AtomicI64,
}

impl Clock {
    /// The sandbox's current instant.
    pub(crate) fn now(&self) -> Timestamp {
        let offset = SignedDuration::from_millis(self.offset_millis.load(Ordering::Relaxed));
        Timestamp::now()
            .checked_add(offset)
            .unwrap_or(Timestamp::MAX)
    }

    /// Moves the calendar forward.
    pub(crate) fn advance(&self, by: Duration) {
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        // Saturate rather than wrap: an absurd advance pins the clock at the end of time.
        let _ = self
            .offset_millis
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |offset| {
                Some(offset.saturating_add(millis))
            });
    }
}

pub(crate) use crate::zoom::rate_limit::{next_utc_midnight, utc_day};

/// Rounds an instant up to the next whole second, as `Retry-After` instants are written.
pub(crate) fn ceil_to_second(instant: Timestamp) -> Timestamp {
    if instant.subsec_nanosecond() == 0 {
        return instant;
    }
    Timestamp::from_second(instant.as_second().saturating_add(1)).unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midnight_is_the_start_of_the_next_utc_day() {
        let evening: Timestamp = "2026-02-28T23:59:59.5Z".parse().unwrap();
        assert_eq!(
            next_utc_midnight(evening).to_string(),
            "2026-03-01T00:00:00Z"
        );
        let midnight: Timestamp = "2026-03-01T00:00:00Z".parse().unwrap();
        assert_eq!(
            next_utc_midnight(midnight).to_string(),
            "2026-03-02T00:00:00Z"
        );
        assert_eq!(ceil_to_second(evening).to_string(), "2026-03-01T00:00:00Z");
    }

    #[test]
    fn advancing_moves_the_calendar() {
        let clock = Clock::default();
        let before = clock.now();
        clock.advance(Duration::from_secs(86_400));
        let moved = clock.now().duration_since(before);
        assert!(moved >= SignedDuration::from_hours(24), "{moved:?}");
    }
}
