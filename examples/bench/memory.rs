//! Scenario 4, memory: peak resident memory of `run` when most rows are deferred by a small
//! daily quota, so that every row goes through the reader, the journal and the results while
//! only a few are sent. (`check`'s peak comes from scenario 3's runs and one short roster.)

use std::path::Path;
use std::time::Duration;

use zoom_onboard::sandbox::{Plan, Sandbox, SandboxArgs};

use crate::process::{Timed, Tools, run_timed, timed_command, with_sandbox_credentials};

/// The longest a run may take before it is killed: a hung run is a finding, not a stall of
/// the whole harness.
pub const LIMIT: Duration = Duration::from_secs(180);

/// The daily quota the issue asks for: a hundred creates, the rest deferred.
pub const SMALL_QUOTA: u64 = 100;

/// Runs the binary over `roster` against a business-plan sandbox with no latency, the tool's
/// daily quota set to `quota`.
pub async fn run_deferring(tools: &Tools, roster: &Path, folder: &Path, quota: u64) -> Timed {
    std::fs::create_dir_all(folder).expect("a folder for the run");
    let sandbox = Sandbox::start(SandboxArgs {
        plan: Plan::Business,
        seed: Some(7),
        ..SandboxArgs::default()
    })
    .await
    .expect("the sandbox starts");
    let report = folder.join("time.txt");
    let mut command = timed_command(&tools.binary, &report);
    command
        .arg("run")
        .arg(roster)
        .arg("--out")
        .arg(folder.join("results.csv"))
        .arg("--state")
        .arg(folder.join("journal.sqlite3"))
        .args(["--plan", "business"])
        .args(["--daily-quota", &quota.to_string()])
        .args(["--api-url", &sandbox.api_url()])
        .args(["--oauth-url", &sandbox.token_url()]);
    with_sandbox_credentials(&mut command, &sandbox);
    let timed = run_timed(command, &report, LIMIT).await;
    sandbox.shutdown().await;
    timed
}
