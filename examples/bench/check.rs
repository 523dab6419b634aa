//! Scenario 3, check speed: `zoom-onboard check` on a long roster, against the csv crate alone
//! counting the same file's records.

use std::path::Path;
use std::time::Duration;

use tokio::process::Command;

use crate::process::{Timed, Tools, run_timed, timed_command};

/// The longest a run may take before it is killed.
const LIMIT: Duration = Duration::from_secs(600);

/// Whether this build has `check`. It arrived on its own branch; a build without it is measured
/// without it, and the report says so.
pub async fn check_available(tools: &Tools) -> bool {
    Command::new(&tools.binary)
        .args(["check", "--help"])
        .output()
        .await
        .is_ok_and(|output| output.status.success())
}

/// Runs `zoom-onboard check ROSTER` once.
pub async fn check_once(tools: &Tools, roster: &Path, work: &Path) -> Timed {
    let report = work.join("check-time.txt");
    let mut command = timed_command(&tools.binary, &report);
    command.arg("check").arg(roster);
    run_timed(command, &report, LIMIT).await
}

/// Runs the `csv_count` example once over the roster, and checks that it saw every row.
pub async fn csv_count_once(tools: &Tools, roster: &Path, rows: usize, work: &Path) -> Timed {
    let report = work.join("csv-count-time.txt");
    let mut command = timed_command(&tools.example("csv_count"), &report);
    command.arg(roster);
    let timed = run_timed(command, &report, LIMIT).await;
    assert_eq!(
        timed.stdout.trim(),
        rows.to_string(),
        "csv_count counted every row"
    );
    timed
}
