//! Why and when the run stops taking on new submissions.
//!
//! One [`RunStop`] is shared by the dispatcher and every worker. Once it fires, no new attempt
//! starts; rows not yet sent become `deferred` with the reason, so every row still gets a line.

use std::sync::{Mutex, PoisonError};

use tokio_util::sync::CancellationToken;

/// Why the run stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// Zoom rejected the credentials or the token's scopes: the setup is wrong.
    CredentialsRejected(String),
    /// Zoom could not be reached to get a token: nothing could be sent.
    Unavailable(String),
    /// The operator asked the run to stop (Ctrl-C or SIGTERM).
    Interrupted,
}

impl StopReason {
    /// The message written for rows that were not sent because of this stop.
    #[must_use]
    pub fn unsent_message(&self) -> String {
        match self {
            StopReason::CredentialsRejected(reason) => {
                format!("not sent: zoom rejected the credentials ({reason})")
            }
            StopReason::Unavailable(reason) => format!("not sent: {reason}"),
            StopReason::Interrupted => "not sent: the run was stopped".to_owned(),
        }
    }
}

/// The shared stop signal, with the first reason given.
#[derive(Debug, Default)]
pub struct RunStop {
    token: CancellationToken,
    reason: Mutex<Option<StopReason>>,
}

impl RunStop {
    /// Stops the run. The first reason given is the one kept.
    pub fn stop(&self, reason: StopReason) {
        let mut kept = self.reason.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.is_none() {
            tracing::info!(?reason, "stopping the run");
            *kept = Some(reason);
        }
        self.token.cancel();
    }

    /// Why the run stopped, if it has.
    #[must_use]
    pub fn reason(&self) -> Option<StopReason> {
        self.reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether the run has stopped.
    #[must_use]
    pub fn is_stopped(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Resolves when the run stops.
    pub async fn stopped(&self) {
        self.token.cancelled().await;
    }
}
