//! The progress display: a bar on stderr drawn from the run's events.
//!
//! It shows rows done of the total, the rate, the time left, the rows by status so far, and,
//! in plain words, why the run is slow when it is waiting:
//!
//! ```text
//! [=============>                ] 1200/3000 rows · 9.8 rows/s · ETA 3m
//! created 1180 · exists 12 · invalid 8
//! waiting 2s (Zoom per-second limit)
//! ```
//!
//! The display is drawn only when stderr is a terminal and neither `--quiet` nor `-v` was given;
//! otherwise it is hidden and costs next to nothing. Log lines written meanwhile go through the
//! same [`MultiProgress`] (see `logging`), so they appear above the bar instead of through it.
//! The bar uses no colour at all, so `NO_COLOR` has nothing to turn off here.
//!
//! The waiting line is worked out each time the bar is drawn, from when the wait ends, so it
//! counts down and goes away by itself; the bar is redrawn a few times a second for that.

use std::io::IsTerminal as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{HumanDuration, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::outcome::Status;
use crate::submit::events::Progress;

/// How often the bar is redrawn when nothing else happens, so waits count down.
const REDRAW: Duration = Duration::from_millis(200);

/// The screen the display and log lines share: stderr when it shows a bar, hidden otherwise.
#[must_use]
pub fn screen(quiet: bool, verbose: u8) -> MultiProgress {
    let shown = !quiet && verbose == 0 && std::io::stderr().is_terminal();
    let target = if shown {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    MultiProgress::with_draw_target(target)
}

/// What the display knows beyond the bar's position.
#[derive(Debug, Default)]
struct View {
    /// Rows written, by status, in [`Status::ALL`] order.
    counts: [u64; Status::ALL.len()],
    /// The pool is paused by Zoom's per-second limit until then.
    paused_until: Option<Instant>,
    /// The pool waits for the daily quota until then (`--wait-for-quota`).
    quota_back_at: Option<Instant>,
    /// Rows deferred because the day's create quota is spent.
    deferred_for_quota: u64,
}

impl View {
    /// The rows by status so far, leaving out statuses no row has.
    fn counts_line(&self) -> String {
        let parts: Vec<String> = Status::ALL
            .iter()
            .zip(self.counts)
            .filter(|(_, count)| *count > 0)
            .map(|(status, count)| format!("{status} {count}"))
            .collect();
        parts.join(" · ")
    }

    /// Why the run is waiting, if it is, at `now`.
    fn notice_line(&self, now: Instant) -> String {
        let mut parts = Vec::new();
        if let Some(until) = self.quota_back_at.filter(|until| *until > now) {
            parts.push(format!(
                "waiting until 00:00 UTC for the daily quota ({} left)",
                HumanDuration(until - now)
            ));
        } else if let Some(until) = self.paused_until.filter(|until| *until > now) {
            let seconds = (until - now).as_secs_f64().ceil() as u64;
            parts.push(format!("waiting {seconds}s (Zoom per-second limit)"));
        }
        if self.deferred_for_quota > 0 {
            let rows = if self.deferred_for_quota == 1 {
                "row"
            } else {
                "rows"
            };
            parts.push(format!(
                "daily create quota reached: {} {rows} deferred to 00:00 UTC",
                self.deferred_for_quota
            ));
        }
        parts.join(" · ")
    }
}

/// The progress bar, fed by the run's events.
pub struct Display {
    screen: MultiProgress,
    bar: ProgressBar,
    view: Arc<Mutex<View>>,
}

impl Display {
    /// A display drawn on `screen`. Nothing shows until the run starts.
    #[must_use]
    pub fn new(screen: &MultiProgress) -> Display {
        let view = Arc::new(Mutex::new(View::default()));
        let bar = screen.add(ProgressBar::no_length());
        bar.set_style(style(&view));
        Display {
            screen: screen.clone(),
            bar,
            view,
        }
    }

    /// Writes `text` on stderr above the bar, whether or not the bar is shown.
    pub fn eprint(&self, text: &str) {
        self.screen.suspend(|| eprint!("{text}"));
    }

    fn update(&self, change: impl FnOnce(&mut View)) {
        change(&mut self.view.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

impl Progress for Display {
    fn started(&self, rows: Option<u64>) {
        if let Some(rows) = rows {
            self.bar.set_length(rows);
        }
        self.bar.reset_elapsed();
        if !self.screen.is_hidden() {
            self.bar.enable_steady_tick(REDRAW);
        }
    }

    fn row_done(&self, status: Status) {
        if let Some(at) = Status::ALL.iter().position(|each| *each == status) {
            self.update(|view| view.counts[at] += 1);
        }
        self.bar.inc(1);
    }

    fn paused(&self, wait: Duration) {
        let until = Instant::now() + wait;
        self.update(|view| {
            view.paused_until = Some(view.paused_until.map_or(until, |now| now.max(until)));
        });
        self.bar.tick();
    }

    fn deferred_for_quota(&self, _until_reset: Duration) {
        self.update(|view| view.deferred_for_quota += 1);
    }

    fn waiting_for_quota(&self, until_reset: Duration) {
        self.update(|view| view.quota_back_at = Some(Instant::now() + until_reset));
        self.bar.tick();
    }

    fn finished(&self) {
        let notice = {
            let mut view = self.view.lock().unwrap_or_else(PoisonError::into_inner);
            view.paused_until = None;
            view.quota_back_at = None;
            view.notice_line(Instant::now())
        };
        // The summary that follows has the counts; what it does not say in these words, the
        // quota line, stays on screen above it.
        self.bar.finish_and_clear();
        self.screen.remove(&self.bar);
        if !notice.is_empty() && !self.screen.is_hidden() {
            self.eprint(&format!("{notice}\n"));
        }
    }
}

/// The bar's look: three lines, the last two drawn from `view`.
fn style(view: &Arc<Mutex<View>>) -> ProgressStyle {
    let counts = Arc::clone(view);
    let notice = Arc::clone(view);
    ProgressStyle::with_template(
        "[{bar:30}] {pos}/{len} rows · {rate} · ETA {eta}\n{counts}\n{notice}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
    .with_key(
        "rate",
        |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
            let _ = write!(out, "{:.1} rows/s", state.per_sec());
        },
    )
    .with_key(
        "counts",
        move |_: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
            let view = counts.lock().unwrap_or_else(PoisonError::into_inner);
            let _ = out.write_str(&view.counts_line());
        },
    )
    .with_key(
        "notice",
        move |_: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
            let view = notice.lock().unwrap_or_else(PoisonError::into_inner);
            let _ = out.write_str(&view.notice_line(Instant::now()));
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_leave_out_statuses_no_row_has() {
        let mut view = View::default();
        view.counts[0] = 3;
        view.counts[4] = 1;
        assert_eq!(view.counts_line(), "created 3 · invalid 1");
    }

    #[test]
    fn waits_count_down_and_go_away() {
        let now = Instant::now();
        let view = View {
            paused_until: Some(now + Duration::from_millis(1500)),
            ..View::default()
        };
        assert_eq!(view.notice_line(now), "waiting 2s (Zoom per-second limit)");
        assert_eq!(view.notice_line(now + Duration::from_secs(2)), "");
    }

    #[test]
    fn the_quota_line_stays_and_says_how_many_rows() {
        let now = Instant::now();
        let view = View {
            deferred_for_quota: 150,
            ..View::default()
        };
        assert_eq!(
            view.notice_line(now),
            "daily create quota reached: 150 rows deferred to 00:00 UTC"
        );
        let waiting = View {
            quota_back_at: Some(now + Duration::from_secs(3 * 3600)),
            ..View::default()
        };
        assert!(
            waiting
                .notice_line(now)
                .starts_with("waiting until 00:00 UTC for the daily quota")
        );
    }
}
