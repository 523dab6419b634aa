//! Reading Zoom's rate-limit answers: which limit a 429 is about, and when to try again.
//!
//! Zoom's headers are not always there and `Retry-After` has been seen in three forms, so every
//! function here accepts what it can and treats anything else as absent.

use std::time::Duration;

use jiff::Timestamp;

/// Which of Zoom's limits a 429 reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitKind {
    /// The per-second limit for the request's category: wait and try again.
    PerSecond,
    /// The per-day limit: nothing more of this kind goes through until 00:00 UTC.
    Daily,
}

/// Decides which limit a 429 is about, from its `X-RateLimit-Type` header and its message.
///
/// Zoom marks a daily limit with `X-RateLimit-Type: Daily-limit`; when that header is missing,
/// the message's wording ("daily", "GMT 00:00:00") gives it away. Anything else is per-second.
#[must_use]
pub fn classify_429(rate_limit_type: Option<&str>, message: &str) -> RateLimitKind {
    if let Some(kind) = rate_limit_type {
        let kind = kind.trim().to_ascii_lowercase();
        if kind.starts_with("daily") {
            return RateLimitKind::Daily;
        }
        if kind == "qps" {
            return RateLimitKind::PerSecond;
        }
    }
    let message = message.to_ascii_lowercase();
    if message.contains("daily") || message.contains("00:00:00") {
        RateLimitKind::Daily
    } else {
        RateLimitKind::PerSecond
    }
}

/// Parses a `Retry-After` value into how long to wait from `now`.
///
/// Accepts delay-seconds (`2`), an ISO-8601 / RFC 3339 instant (`2026-03-01T00:00:00Z`) and an
/// HTTP date (`Sun, 01 Mar 2026 00:00:00 GMT`). An instant in the past means no wait. Anything
/// else is `None`, as if the header were absent.
#[must_use]
pub fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let instant = value
        .parse::<Timestamp>()
        .or_else(|_| jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp(value))
        .ok()?;
    let wait = instant.duration_since(now);
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// The UTC calendar day an instant falls on: the key of Zoom's daily limits.
#[must_use]
pub fn utc_day(instant: Timestamp) -> jiff::civil::Date {
    instant.to_zoned_datetime(jiff::tz::TimeZone::UTC).date()
}

/// The first instant of the next UTC day after `now`: when Zoom's daily limits reset.
#[must_use]
pub fn next_utc_midnight(now: Timestamp) -> Timestamp {
    utc_day(now)
        .tomorrow()
        .and_then(|tomorrow| tomorrow.to_zoned_datetime(jiff::tz::TimeZone::UTC))
        .map_or(Timestamp::MAX, |midnight| midnight.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn retry_after_in_all_three_forms() {
        let now = at("2026-02-28T23:59:58Z");
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("2026-03-01T00:00:00Z", now),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            parse_retry_after("Sun, 01 Mar 2026 00:00:00 GMT", now),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            parse_retry_after("2026-02-01T00:00:00Z", now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn retry_after_garbage_is_absent() {
        let now = at("2026-02-28T23:59:58Z");
        for value in ["", "soon", "-3", "NaN", "inf", "Sun, 99 Mar 2026"] {
            assert_eq!(parse_retry_after(value, now), None, "{value:?}");
        }
    }

    #[test]
    fn daily_limits_are_told_apart_by_header_or_wording() {
        assert_eq!(classify_429(Some("Daily-limit"), ""), RateLimitKind::Daily);
        assert_eq!(classify_429(Some("QPS"), "daily"), RateLimitKind::PerSecond);
        assert_eq!(
            classify_429(
                None,
                "You have exceeded the daily rate limit of user invite requests. \
                 Requests may resume at GMT 00:00:00."
            ),
            RateLimitKind::Daily
        );
        assert_eq!(
            classify_429(
                None,
                "You have reached the maximum per-second rate limit for this API."
            ),
            RateLimitKind::PerSecond
        );
    }

    #[test]
    fn midnight_is_the_next_utc_day() {
        let now = at("2026-12-31T23:10:00Z");
        assert_eq!(next_utc_midnight(now), at("2027-01-01T00:00:00Z"));
    }
}
