//! What a run reports while it goes: the events a progress display is built from.
//!
//! The pipeline calls a [`Progress`] at the moments a person watching would care about: how
//! many rows there are, each row as its line is written, a pool-wide pause, the daily quota.
//! It never draws anything itself; the command line implements [`Progress`] with a progress bar,
//! and library users and tests who want nothing use [`NoProgress`].
//!
//! Calls come from several threads (workers, and the recorder's blocking thread), so an
//! implementation must be cheap and must not block: the recorder calls it between writes.
//! Events carry no emails or names, so an implementation cannot leak them by accident.

use std::time::Duration;

use crate::outcome::Status;

/// Receives a run's events. Every method does nothing unless overridden.
pub trait Progress: Send + Sync {
    /// The run starts, with `rows` data rows to account for when the caller counted them.
    fn started(&self, rows: Option<u64>) {
        let _ = rows;
    }

    /// A row's outcome is settled and recorded (in the journal, when there is one). Called
    /// once per data row, as outcomes arrive: a row's line in the results may still wait for a
    /// slower row before it, since lines are written in roster order.
    fn row_done(&self, status: Status) {
        let _ = status;
    }

    /// Zoom's per-second limit answered 429 and the whole pool holds back for `wait` from now.
    /// A longer pause already in force may be reported again as it is extended.
    fn paused(&self, wait: Duration) {
        let _ = wait;
    }

    /// A row was deferred because the day's create quota is spent; it can go once the UTC day
    /// turns, `until_reset` from now. Called once per row so deferred.
    fn deferred_for_quota(&self, until_reset: Duration) {
        let _ = until_reset;
    }

    /// The day's create quota is spent and the pool waits `until_reset` for 00:00 UTC
    /// (`--wait-for-quota`). Called once a day.
    fn waiting_for_quota(&self, until_reset: Duration) {
        let _ = until_reset;
    }

    /// Every row has its line; no more events follow.
    fn finished(&self) {}
}

/// A [`Progress`] that ignores every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}
