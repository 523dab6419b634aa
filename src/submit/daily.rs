//! The daily create quota, counted per UTC day on the client side.
//!
//! governor cannot express "1,500 a calendar day", so this is a plain counter keyed by the UTC
//! date. Every create attempt takes one unit before it is sent; an attempt Zoom turned away
//! before counting it (a per-second 429, a refused token) gives its unit back. Counting attempts
//! rather than successes errs on the side of sending less than Zoom would allow.
//!
//! A daily 429 from Zoom overrides the count: the day is spent, whatever the counter says.
//! Zoom does not say whether actions other than `create` have a daily limit, so they are not
//! counted; if one of them meets a daily 429 anyway, that action stops for the day.
//!
//! With a journal, every change to the count is also recorded, so that the next run on the
//! same day starts with what is left. A unit taken is on disk before its create goes out (the
//! submission writes it with the in-flight mark), so a crash can only overstate what was spent.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::Date;

use super::recorder::RecordSender;
use crate::journal::{JournalWrite, utc_day};
use crate::zoom::rate_limit::next_utc_midnight;
use crate::zoom::rules::Action;

/// The time source for day boundaries. Tests shift it to cross midnight without waiting.
#[derive(Debug, Clone, Copy, Default)]
pub struct UtcClock {
    /// Added to the system time, in seconds.
    pub offset_seconds: i64,
}

impl UtcClock {
    /// The current instant as this clock sees it.
    #[must_use]
    pub fn now(&self) -> Timestamp {
        Timestamp::now()
            .checked_add(jiff::SignedDuration::from_secs(self.offset_seconds))
            .unwrap_or_else(|_| Timestamp::now())
    }
}

/// Whether an attempt may spend a unit of the day's quota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// Go ahead. If the attempt is not counted by Zoom, give the unit back with
    /// [`DailyBudget::give_back`].
    Granted {
        /// The UTC day the unit was taken from.
        day: Date,
    },
    /// Nothing left today.
    Spent {
        /// The day whose quota is spent.
        day: Date,
        /// How long until the next UTC day begins.
        until_reset: Duration,
    },
}

struct DayCount {
    day: Date,
    spent: u64,
    stopped_actions: HashSet<Action>,
    /// Whether a worker has already said that it waits for this day's quota to come back.
    wait_announced: bool,
}

/// The day's create budget, shared by the pool.
pub struct DailyBudget {
    limit: u64,
    clock: UtcClock,
    count: Mutex<DayCount>,
    /// Where changes to the count are recorded, when there is a journal.
    ledger: Option<RecordSender>,
}

impl DailyBudget {
    /// A budget of `limit` creates a UTC day, of which `spent_today` are already used. Changes
    /// to the count are sent to `ledger`, when given.
    #[must_use]
    pub fn new(
        limit: u64,
        clock: UtcClock,
        spent_today: u64,
        ledger: Option<RecordSender>,
    ) -> DailyBudget {
        DailyBudget {
            limit,
            clock,
            count: Mutex::new(DayCount {
                day: utc_day(clock.now()),
                spent: spent_today,
                stopped_actions: HashSet::new(),
                wait_announced: false,
            }),
            ledger,
        }
    }

    /// The clock that decides the day.
    #[must_use]
    pub fn clock(&self) -> UtcClock {
        self.clock
    }

    /// The daily limit.
    #[must_use]
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// The current UTC day and how much of its quota is used.
    #[must_use]
    pub fn today(&self) -> (Date, u64) {
        let count = self.count_for_today();
        (count.day, count.spent)
    }

    /// Takes one unit for an attempt with `action`, if the day has one left.
    pub fn take(&self, action: Action) -> Grant {
        let mut count = self.count_for_today();
        let stopped = count.stopped_actions.contains(&action);
        if stopped || (action.uses_daily_quota() && count.spent >= self.limit) {
            return Grant::Spent {
                day: count.day,
                until_reset: self.until_reset(),
            };
        }
        if action.uses_daily_quota() {
            // The journal hears of this unit from the submission, in the same durable write as
            // its in-flight mark, before the create goes out.
            count.spent += 1;
        }
        Grant::Granted { day: count.day }
    }

    /// Whether Zoom has stopped `action` for the day with a daily 429. An attempt that took its
    /// unit before the 429 arrived asks again before it is sent.
    #[must_use]
    pub fn is_stopped(&self, action: Action) -> bool {
        self.count_for_today().stopped_actions.contains(&action)
    }

    /// Returns a unit taken on `day` for an attempt Zoom did not count. After a daily 429 the
    /// day is spent whatever was counted, so nothing is returned then.
    pub fn give_back(&self, action: Action, day: Date) {
        let mut count = self.count_for_today();
        let closed = count.stopped_actions.contains(&action);
        if action.uses_daily_quota() && count.day == day && !closed {
            count.spent = count.spent.saturating_sub(1);
            self.record(JournalWrite::QuotaReturned { day, count: 1 });
        }
    }

    /// Records Zoom's daily 429 for `action`: nothing more of it goes today.
    pub fn stop_for_today(&self, action: Action) {
        let mut count = self.count_for_today();
        if action.uses_daily_quota() {
            count.spent = count.spent.max(self.limit);
            self.record(JournalWrite::QuotaExhausted {
                day: count.day,
                limit: self.limit,
            });
        }
        count.stopped_actions.insert(action);
    }

    /// `true` for the first caller of the day only: the one that says the pool is waiting.
    pub fn first_to_wait(&self) -> bool {
        let mut count = self.count_for_today();
        !std::mem::replace(&mut count.wait_announced, true)
    }

    fn record(&self, write: JournalWrite) {
        if let Some(ledger) = &self.ledger {
            ledger.quota(write);
        }
    }

    /// How long until the next UTC day.
    #[must_use]
    pub fn until_reset(&self) -> Duration {
        let now = self.clock.now();
        Duration::try_from(next_utc_midnight(now).duration_since(now)).unwrap_or(Duration::ZERO)
    }

    /// The count, moved on to a new day if the UTC date changed since it was last read.
    fn count_for_today(&self) -> std::sync::MutexGuard<'_, DayCount> {
        let today = utc_day(self.clock.now());
        let mut count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        if count.day != today {
            tracing::info!(day = %today, "a new UTC day: the daily create quota starts again");
            *count = DayCount {
                day: today,
                spent: 0,
                stopped_actions: HashSet::new(),
                wait_announced: false,
            };
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_stop_at_the_limit_and_other_actions_do_not_count() {
        let budget = DailyBudget::new(2, UtcClock::default(), 1, None);
        assert!(matches!(budget.take(Action::Create), Grant::Granted { .. }));
        assert!(matches!(budget.take(Action::Create), Grant::Spent { .. }));
        assert!(matches!(
            budget.take(Action::AutoCreate),
            Grant::Granted { .. }
        ));
        assert_eq!(budget.today().1, 2);
    }

    #[test]
    fn a_unit_given_back_can_be_taken_again() {
        let budget = DailyBudget::new(1, UtcClock::default(), 0, None);
        let Grant::Granted { day } = budget.take(Action::Create) else {
            panic!("expected a grant")
        };
        budget.give_back(Action::Create, day);
        assert!(matches!(budget.take(Action::Create), Grant::Granted { .. }));
    }

    #[test]
    fn a_daily_429_spends_the_day_for_that_action() {
        let budget = DailyBudget::new(100, UtcClock::default(), 0, None);
        budget.stop_for_today(Action::Create);
        budget.stop_for_today(Action::SsoCreate);
        assert!(matches!(budget.take(Action::Create), Grant::Spent { .. }));
        assert!(matches!(
            budget.take(Action::SsoCreate),
            Grant::Spent { .. }
        ));
        assert!(matches!(
            budget.take(Action::AutoCreate),
            Grant::Granted { .. }
        ));
        assert!(budget.until_reset() <= Duration::from_secs(86_400));
    }
}
