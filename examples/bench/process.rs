//! Child processes measured from outside, and the rosters they read.
//!
//! Every figure of CPU time and memory comes from `/usr/bin/time`, wrapped around the one
//! process being measured, so the harness's own work (the sandbox it serves in-process, the
//! plot) is never counted against the tool.

use std::fmt::Write as _;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::Command;
use zoom_onboard::sandbox::Sandbox;

/// The programs the harness runs: the release (or debug) binary and its sibling examples.
#[derive(Debug, Clone)]
pub struct Tools {
    /// `target/<profile>/zoom-onboard`.
    pub binary: PathBuf,
    /// `target/<profile>/examples`.
    pub examples: PathBuf,
}

impl Tools {
    /// The programs beside this example, in the same profile.
    pub fn beside_this_program() -> Tools {
        let example = std::env::current_exe().expect("the harness's own path");
        let examples = example
            .parent()
            .expect("target/<profile>/examples")
            .to_owned();
        let profile = examples.parent().expect("target/<profile>");
        Tools {
            binary: profile.join("zoom-onboard"),
            examples,
        }
    }

    /// An example program of the same profile.
    pub fn example(&self, name: &str) -> PathBuf {
        self.examples.join(name)
    }
}

/// What `/usr/bin/time` saw of one process.
#[derive(Debug, Clone, Default)]
pub struct Timed {
    /// Wall time, seconds, measured by the harness around the whole child.
    pub wall: f64,
    /// User plus system CPU time, seconds.
    pub cpu: f64,
    /// Peak resident set size, KiB.
    pub max_rss_kib: u64,
    /// The exit code, or -1 for a signal.
    pub exit: i32,
    /// What it printed on stdout.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
    /// It did not finish within its time limit and was killed.
    pub hung: bool,
}

impl Timed {
    /// Peak resident set size in MiB.
    pub fn max_rss_mib(&self) -> f64 {
        self.max_rss_kib as f64 / 1024.0
    }
}

/// A command for `program` run under `/usr/bin/time`, which writes its figures to `report`.
pub fn timed_command(program: &Path, report: &Path) -> Command {
    let mut command = Command::new("/usr/bin/time");
    command
        .arg("-f")
        .arg("%U %S %M")
        .arg("-o")
        .arg(report)
        .arg(program)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so that a run that hangs can be killed with its child.
        .process_group(0)
        .kill_on_drop(true);
    command
}

/// Runs a command made by [`timed_command`] to the end, or for at most `limit`, and reads its
/// figures. A command still running after `limit` is killed, with everything it started, and
/// marked as timed out.
pub async fn run_timed(mut command: Command, report: &Path, limit: Duration) -> Timed {
    let started = Instant::now();
    let child = command.spawn().expect("/usr/bin/time runs");
    let group = child.id().expect("a running child");
    let Ok(output) = tokio::time::timeout(limit, child.wait_with_output()).await else {
        // The group's id is the child's: only what this harness started is killed.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{group}")])
            .status()
            .await;
        return Timed {
            wall: started.elapsed().as_secs_f64(),
            exit: -1,
            hung: true,
            ..Timed::default()
        };
    };
    let output = output.expect("/usr/bin/time runs");
    let wall = started.elapsed().as_secs_f64();
    let figures = std::fs::read_to_string(report).unwrap_or_default();
    // A failing child adds a "Command exited with non-zero status" line before the figures.
    let last = figures.lines().last().unwrap_or_default();
    let numbers: Vec<f64> = last
        .split_whitespace()
        .filter_map(|word| word.parse().ok())
        .collect();
    let [user, system, rss] = numbers.as_slice() else {
        panic!("unexpected /usr/bin/time output {figures:?}");
    };
    Timed {
        wall,
        cpu: user + system,
        max_rss_kib: *rss as u64,
        exit: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        hung: false,
    }
}

/// Adds the sandbox's credentials to a command that runs the tool against it.
pub fn with_sandbox_credentials<'a>(
    command: &'a mut Command,
    sandbox: &Sandbox,
) -> &'a mut Command {
    command
        .env("ZOOM_ACCOUNT_ID", sandbox.account_id())
        .env("ZOOM_CLIENT_ID", sandbox.client_id())
        .env("ZOOM_CLIENT_SECRET", sandbox.client_secret())
}

/// Writes a roster of `rows` distinct, valid hires, with the columns an HR export has. Emails
/// start with `prefix`, so rosters of different runs never collide.
pub fn write_roster(path: &Path, rows: usize, prefix: &str) {
    let file = std::fs::File::create(path).expect("the roster can be created");
    let mut out = BufWriter::with_capacity(1 << 20, file);
    out.write_all(b"Email Address,First Name,Last Name,User Type,Department\n")
        .expect("the roster is written");
    let mut line = String::new();
    for index in 0..rows {
        line.clear();
        let department = ["Sales", "Engineering", "Support", "Finance"][index % 4];
        let _ = writeln!(
            line,
            "{prefix}{index}@example.com,Ada{index},Lovelace-{index},1,{department}"
        );
        out.write_all(line.as_bytes())
            .expect("the roster is written");
    }
    out.flush().expect("the roster is written");
}

/// The median of some figures (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        length if length % 2 == 1 => sorted[length / 2],
        length => f64::midpoint(sorted[length / 2 - 1], sorted[length / 2]),
    }
}

/// The run among `values` whose figure is the median (the lower middle one for an even count).
pub fn median_index(values: &[f64]) -> usize {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|a, b| values[*a].total_cmp(&values[*b]));
    order[(order.len().saturating_sub(1)) / 2]
}
