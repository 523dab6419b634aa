//! Zoom's account plans and the limits that come with them.

/// A Zoom account plan, as far as rate limits go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    /// Free accounts: 4 Light requests a second, 50 creates a day.
    Free,
    /// Pro accounts: 30 Light requests a second, 1,500 creates a day.
    #[default]
    Pro,
    /// Business, Education and Enterprise accounts: 80 a second, 10,000 creates a day.
    Business,
}

impl Plan {
    /// The plan's name as `--plan` takes it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Pro => "pro",
            Plan::Business => "business",
        }
    }

    /// Light requests a second, shared by every app on the account.
    #[must_use]
    pub fn light_per_second(self) -> u32 {
        match self {
            Plan::Free => 4,
            Plan::Pro => 30,
            Plan::Business => 80,
        }
    }

    /// `action=create` calls a UTC day.
    #[must_use]
    pub fn daily_create_quota(self) -> u64 {
        match self {
            Plan::Free => 50,
            Plan::Pro => 1_500,
            Plan::Business => 10_000,
        }
    }
}
