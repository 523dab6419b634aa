//! Counting a roster's verdicts for `zoom-onboard check`: valid, invalid by reason, duplicate
//! and left-out rows, and how many days of create quota the valid rows need.
//!
//! This module owns the counting and the grouping; it prints nothing. The CLI renders a
//! [`RosterReport`] and a [`QuotaPlan`].
//!
//! # Grouping invalid rows by reason
//!
//! An invalid row's message lists its problems, each `field: rule`, joined by `; `. Each problem
//! is counted under its reason: the problem with the row's own values taken out (anything in
//! quotes, and numbers), so that `type: "Pro" is not a user type` and `type: "Max" is not a
//! user type` are one reason. A reason is shown by the first problem of its kind and the row it
//! was on. A row with two problems counts once among the invalid rows and once under each
//! reason. At most [`MAX_REASONS`] reasons are kept; rows with any other reason are counted
//! together, so memory stays flat however varied the roster.

use std::collections::HashMap;
use std::fmt;

use super::check::{RosterRow, Verdict};
use crate::zoom::plan::Plan;
use crate::zoom::rules::Action;

/// The most distinct reasons a report keeps.
pub const MAX_REASONS: usize = 50;

/// One reason rows were invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// The first problem of this kind, as its row's message words it, e.g. `email: has no @`.
    pub problem: String,
    /// The row that problem was on.
    pub first_row: u64,
    /// How many rows had a problem of this kind.
    pub rows: u64,
}

/// The counts of a whole roster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RosterReport {
    /// Data rows kept by the row filters: `valid + invalid + duplicate`.
    pub rows: u64,
    /// Rows ready to send.
    pub valid: u64,
    /// Valid rows whose action is `create`, the only ones the daily create quota counts.
    pub create_rows: u64,
    /// Rows that break a rule.
    pub invalid: u64,
    /// Why rows were invalid, most rows first, then by first row.
    pub reasons: Vec<Reason>,
    /// Rows with a reason beyond the first [`MAX_REASONS`].
    pub other_reasons: u64,
    /// Rows whose email an earlier valid row already has.
    pub duplicate: u64,
    /// Rows that `--where` and `--skip-where` left out.
    pub left_out: u64,
}

/// Counts verdicts as rows go by.
#[derive(Debug, Default)]
pub struct Tally {
    report: RosterReport,
    /// Reason key to its index in `report.reasons`.
    reason_index: HashMap<String, usize>,
}

impl Tally {
    /// An empty tally.
    #[must_use]
    pub fn new() -> Tally {
        Tally::default()
    }

    /// Counts one checked row.
    pub fn add(&mut self, row: &RosterRow) {
        let report = &mut self.report;
        report.rows += 1;
        match &row.verdict {
            Verdict::Ready(hire) => {
                report.valid += 1;
                if hire.action == Action::Create {
                    report.create_rows += 1;
                }
            }
            Verdict::Duplicate { .. } => report.duplicate += 1,
            Verdict::Invalid(message) => {
                report.invalid += 1;
                let mut other = false;
                for problem in message.split("; ") {
                    let key = reason_key(problem);
                    if let Some(&index) = self.reason_index.get(&key) {
                        report.reasons[index].rows += 1;
                    } else if report.reasons.len() < MAX_REASONS {
                        self.reason_index.insert(key, report.reasons.len());
                        report.reasons.push(Reason {
                            problem: problem.to_owned(),
                            first_row: row.row,
                            rows: 1,
                        });
                    } else {
                        other = true;
                    }
                }
                if other {
                    report.other_reasons += 1;
                }
            }
        }
    }

    /// The report, with the count of rows the filters left out.
    #[must_use]
    pub fn finish(self, left_out: u64) -> RosterReport {
        let mut report = self.report;
        report.left_out = left_out;
        report
            .reasons
            .sort_by(|a, b| b.rows.cmp(&a.rows).then(a.first_row.cmp(&b.first_row)));
        report
    }
}

/// A problem with the row's own values taken out: quoted text and numbers.
fn reason_key(problem: &str) -> String {
    let mut key = String::with_capacity(problem.len());
    let mut quoted = false;
    let mut in_number = false;
    for c in problem.chars() {
        if c == '"' {
            quoted = !quoted;
            key.push(c);
        } else if quoted {
            continue;
        } else if c.is_ascii_digit() {
            if !in_number {
                key.push('#');
            }
            in_number = true;
            continue;
        } else {
            key.push(c);
        }
        in_number = false;
    }
    key
}

/// How many UTC days of the daily create quota the valid `create` rows need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaPlan {
    /// Valid rows whose action is `create`.
    pub create_rows: u64,
    /// The account's plan.
    pub plan: Plan,
    /// The plan's daily create quota.
    pub daily_quota: u64,
    /// Days needed, counting today as a whole day.
    pub days: u64,
}

impl QuotaPlan {
    /// The plan for `create_rows` on `plan`.
    #[must_use]
    pub fn new(create_rows: u64, plan: Plan) -> QuotaPlan {
        let daily_quota = plan.daily_create_quota();
        QuotaPlan {
            create_rows,
            plan,
            daily_quota,
            days: create_rows.div_ceil(daily_quota.max(1)),
        }
    }
}

impl fmt::Display for QuotaPlan {
    /// E.g. `1,734 create rows: at plan pro (1,500 a day) this takes 2 days`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows = match self.create_rows {
            1 => "1 create row".to_owned(),
            count => format!("{} create rows", thousands(count)),
        };
        let at = format!(
            "at plan {} ({} a day)",
            self.plan.as_str(),
            thousands(self.daily_quota)
        );
        match self.days {
            0 => write!(formatter, "{rows}: nothing counts against the daily quota"),
            1 => write!(formatter, "{rows}: {at} this fits in 1 day"),
            days => write!(formatter, "{rows}: {at} this takes {days} days"),
        }
    }
}

/// A count with commas between thousands, e.g. `1,734`.
#[must_use]
pub fn thousands(count: u64) -> String {
    let digits = count.to_string();
    let mut text = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roster::Hire;
    use crate::zoom::wire::UserInfo;

    fn row(row: u64, verdict: Verdict) -> RosterRow {
        RosterRow {
            row,
            email: String::new(),
            cells: Vec::new(),
            verdict,
        }
    }

    fn ready(row_number: u64, action: Action) -> RosterRow {
        let hire = Hire {
            row: row_number,
            action,
            user_info: UserInfo {
                email: format!("h{row_number}@x.co"),
                user_type: 1,
                first_name: None,
                last_name: None,
                display_name: None,
                password: None,
            },
            email_key: format!("h{row_number}@x.co"),
        };
        row(row_number, Verdict::Ready(hire))
    }

    #[test]
    fn rows_are_counted_and_invalid_ones_grouped_by_reason() {
        let mut tally = Tally::new();
        tally.add(&ready(2, Action::Create));
        tally.add(&ready(3, Action::AutoCreate));
        tally.add(&row(4, Verdict::Invalid("email: has no @".into())));
        tally.add(&row(
            5,
            Verdict::Invalid(
                "type: \"Pro\" is not a user type (use 1, 2, 4 or 99); email: has no @".into(),
            ),
        ));
        tally.add(&row(
            6,
            Verdict::Invalid("type: 7 is not a user type (use 1, 2, 4 or 99)".into()),
        ));
        tally.add(&row(
            7,
            Verdict::Invalid("type: \"Max\" is not a user type (use 1, 2, 4 or 99)".into()),
        ));
        tally.add(&row(8, Verdict::Duplicate { first_row: 2 }));
        let report = tally.finish(4);

        assert_eq!((report.rows, report.valid, report.create_rows), (7, 2, 1));
        assert_eq!(
            (report.invalid, report.duplicate, report.left_out),
            (4, 1, 4)
        );
        let reasons: Vec<(&str, u64, u64)> = report
            .reasons
            .iter()
            .map(|reason| (reason.problem.as_str(), reason.first_row, reason.rows))
            .collect();
        assert_eq!(
            reasons,
            [
                ("email: has no @", 4, 2),
                ("type: \"Pro\" is not a user type (use 1, 2, 4 or 99)", 5, 2),
                ("type: 7 is not a user type (use 1, 2, 4 or 99)", 6, 1),
            ]
        );
    }

    #[test]
    fn reasons_beyond_the_cap_are_counted_together() {
        let mut tally = Tally::new();
        for index in 0..(MAX_REASONS as u64 + 3) {
            let letters: String = index
                .to_string()
                .chars()
                .map(|digit| char::from(b'a' + digit.to_digit(10).unwrap() as u8))
                .collect();
            tally.add(&row(
                index + 2,
                Verdict::Invalid(format!("email: {letters}")),
            ));
        }
        let report = tally.finish(0);
        assert_eq!(report.reasons.len(), MAX_REASONS);
        assert_eq!(report.other_reasons, 3);
    }

    #[test]
    fn quota_plans_in_words() {
        assert_eq!(
            QuotaPlan::new(1_734, Plan::Pro).to_string(),
            "1,734 create rows: at plan pro (1,500 a day) this takes 2 days"
        );
        assert_eq!(
            QuotaPlan::new(1_500, Plan::Pro).to_string(),
            "1,500 create rows: at plan pro (1,500 a day) this fits in 1 day"
        );
        assert_eq!(
            QuotaPlan::new(0, Plan::Free).to_string(),
            "0 create rows: nothing counts against the daily quota"
        );
        assert_eq!(QuotaPlan::new(120_001, Plan::Business).days, 13);
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(999), "999");
    }
}
