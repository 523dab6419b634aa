//! `/_sandbox/*`: the sandbox's own endpoints, for tests and rehearsals, outside Zoom's API.
//!
//! - `GET /_sandbox/stats`: the counters, as [`SandboxStats`] JSON.
//! - `POST /_sandbox/clock` with `{"advance_seconds": N}`: moves the calendar forward and
//!   answers `{"now": "<RFC 3339 instant>"}`.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::state::Shared;
use super::stats::SandboxStats;

/// The body of `POST /_sandbox/clock`.
#[derive(Debug, Deserialize)]
pub(crate) struct AdvanceClock {
    /// Seconds to move the calendar forward.
    advance_seconds: u64,
}

/// The answer of `POST /_sandbox/clock`.
#[derive(Debug, Serialize)]
pub(crate) struct ClockNow {
    /// The sandbox's now, after the move.
    now: String,
}

/// Answers `GET /_sandbox/stats`.
pub(crate) async fn stats(State(shared): State<Arc<Shared>>) -> Json<SandboxStats> {
    Json(snapshot(&shared))
}

/// Answers `POST /_sandbox/clock`.
pub(crate) async fn advance_clock(
    State(shared): State<Arc<Shared>>,
    Json(advance): Json<AdvanceClock>,
) -> Json<ClockNow> {
    shared
        .clock
        .advance(Duration::from_secs(advance.advance_seconds));
    Json(ClockNow {
        now: shared.clock.now().to_string(),
    })
}

/// The counters as of now.
pub(crate) fn snapshot(shared: &Shared) -> SandboxStats {
    let now = shared.clock.now();
    let mut account = shared.lock();
    let mut stats = account.counters.totals.clone();
    stats.daily_quota_used = u64::from(account.daily.used(now));
    stats.daily_quota_limit = u64::from(account.daily.limit());
    stats
}
