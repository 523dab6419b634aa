//! The sandbox's options: the `zoom-onboard sandbox` flags, their defaults, and the numbers
//! derived from them (the plan's limits, the bucket size).
//!
//! This module only describes a sandbox; [`super::Sandbox::start`] builds one from it.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

pub use crate::zoom::plan::Plan;

/// The options of `zoom-onboard sandbox`, also used to start a sandbox in-process.
///
/// [`Default`] gives the command line's defaults, except that it listens on `127.0.0.1:0`, so
/// that an in-process sandbox never collides with another one.
#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8808")]
    pub listen: SocketAddr,

    /// Account id the token endpoint accepts.
    #[arg(long, default_value = "sandbox")]
    pub account_id: String,

    /// Client id the token endpoint accepts.
    #[arg(long, default_value = "sandbox")]
    pub client_id: String,

    /// Client secret the token endpoint accepts.
    #[arg(long, default_value = "sandbox")]
    pub client_secret: String,

    /// Lifetime of an access token, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 3599)]
    pub token_ttl: u64,

    /// Invalidate every earlier token whenever a new one is issued, as Zoom has at times done.
    #[arg(long)]
    pub revoke_old_tokens: bool,

    /// Zoom plan whose limits apply.
    #[arg(long, value_enum, default_value_t = Plan::Pro)]
    pub plan: Plan,

    /// Light requests a second, overriding the plan's.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: Option<u32>,

    /// Light requests that may arrive at once on top of the steady rate (default: a quarter of
    /// the rate, at least 2).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub burst: Option<u32>,

    /// `create` requests a UTC day, overriding the plan's.
    #[arg(long, value_name = "N")]
    pub daily_quota: Option<u32>,

    /// Form of the `Retry-After` header on 429 answers, or `none` to leave it out.
    #[arg(long, value_enum, default_value_t = RetryAfterForm::Seconds)]
    pub retry_after: RetryAfterForm,

    /// Delay added to every API answer, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,

    /// Spread of the delay: each answer waits the latency plus or minus up to this many
    /// milliseconds, uniformly.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub jitter_ms: u64,

    /// Fraction of API requests answered 500 or 503 before anything is done.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0, value_parser = fraction)]
    pub error_rate: f64,

    /// Fraction of creates that create the user and then answer 502 or 504, or stall.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0, value_parser = fraction)]
    pub ambiguous_rate: f64,

    /// Fraction of API requests whose connection is closed without an answer.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0, value_parser = fraction)]
    pub drop_rate: f64,

    /// How long an ambiguous stall holds the answer before giving a 504, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 120_000)]
    pub stall_ms: u64,

    /// Seed of the fault dice, so that a run can be repeated (default: a random seed, printed).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// File of emails, one a line, that are already users of the account.
    #[arg(long, value_name = "FILE")]
    pub existing: Option<PathBuf>,
}

impl Default for SandboxArgs {
    fn default() -> Self {
        SandboxArgs {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            account_id: "sandbox".to_owned(),
            client_id: "sandbox".to_owned(),
            client_secret: "sandbox".to_owned(),
            token_ttl: 3599,
            revoke_old_tokens: false,
            plan: Plan::Pro,
            rate: None,
            burst: None,
            daily_quota: None,
            retry_after: RetryAfterForm::Seconds,
            latency_ms: 0,
            jitter_ms: 0,
            error_rate: 0.0,
            ambiguous_rate: 0.0,
            drop_rate: 0.0,
            stall_ms: 120_000,
            seed: None,
            existing: None,
        }
    }
}

impl SandboxArgs {
    /// The Light requests a second in force: `--rate`, or the plan's.
    #[must_use]
    pub fn light_rate(&self) -> u32 {
        self.rate.unwrap_or_else(|| self.plan.light_per_second())
    }

    /// How many Light requests the per-second bucket holds: `--burst`, or a quarter of a
    /// second's worth of the rate, at least 2.
    #[must_use]
    pub fn burst_size(&self) -> u32 {
        self.burst
            .unwrap_or_else(|| self.light_rate().div_ceil(4).max(2))
    }

    /// The `create` requests a UTC day in force: `--daily-quota`, or the plan's.
    #[must_use]
    pub fn create_quota(&self) -> u32 {
        self.daily_quota
            .unwrap_or_else(|| u32::try_from(self.plan.daily_create_quota()).unwrap_or(u32::MAX))
    }

    /// The stall of an ambiguous create.
    #[must_use]
    pub fn stall(&self) -> Duration {
        Duration::from_millis(self.stall_ms)
    }

    /// Checks what clap cannot see when the options are built in code rather than parsed.
    pub(crate) fn check(&self) -> Result<(), String> {
        for (name, value) in [
            ("--error-rate", self.error_rate),
            ("--ambiguous-rate", self.ambiguous_rate),
            ("--drop-rate", self.drop_rate),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(format!("{name} {value} is not a fraction between 0 and 1"));
            }
        }
        if self.rate == Some(0) || self.burst == Some(0) {
            return Err("--rate and --burst must be at least 1".to_owned());
        }
        Ok(())
    }
}

/// How a 429 answer says when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RetryAfterForm {
    /// No `Retry-After` header at all.
    None,
    /// Whole seconds to wait, rounded up: `Retry-After: 2`.
    Seconds,
    /// An ISO-8601 UTC instant: `Retry-After: 2026-03-01T00:00:00Z`.
    Iso8601,
    /// An HTTP date: `Retry-After: Sun, 01 Mar 2026 00:00:00 GMT`.
    HttpDate,
}

/// Parses a fraction between 0 and 1 for the fault rates.
fn fraction(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is not between 0 and 1"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_set_limits_and_flags_override_them() {
        let mut args = SandboxArgs::default();
        assert_eq!(
            (args.light_rate(), args.create_quota(), args.burst_size()),
            (30, 1500, 8)
        );
        args.plan = Plan::Free;
        assert_eq!(
            (args.light_rate(), args.create_quota(), args.burst_size()),
            (4, 50, 2)
        );
        args.rate = Some(100);
        args.daily_quota = Some(7);
        assert_eq!(
            (args.light_rate(), args.create_quota(), args.burst_size()),
            (100, 7, 25)
        );
    }

    #[test]
    fn fractions_are_checked() {
        assert_eq!(fraction("0.25"), Ok(0.25));
        assert!(fraction("1.5").is_err());
        assert!(fraction("lots").is_err());
        let args = SandboxArgs {
            drop_rate: -0.1,
            ..SandboxArgs::default()
        };
        assert!(args.check().is_err());
    }
}
