//! Scenario 2, overhead: what the tool spends per row when Zoom is instant and unlimited.
//!
//! Two measurements of the binary against an unlimited sandbox in its own process:
//!
//! - `run --plan business`, held to 80 a second by its own pacer: CPU-seconds per 1,000 rows
//!   at the pace a real business account allows;
//! - `run --plan business --unchecked-rate N` (a hidden option for exactly this), which lifts
//!   the pacer: the rows a second the machinery can carry and its CPU cost.
//!
//! Each gets a `perf` profile of where its CPU goes.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

use crate::pace::UNLIMITED_RATE;
use crate::process::{Timed, Tools, run_timed, timed_command, write_roster};

/// One run of the binary with its pacer lifted.
#[derive(Debug, Clone)]
pub struct UncheckedRun {
    /// Roster rows.
    pub rows: usize,
    /// Rows a second, process start to exit.
    pub rows_per_second: f64,
    /// The tool's process, measured.
    pub timed: Timed,
    /// The sandbox process's CPU time over the same run, seconds.
    pub sandbox_cpu: f64,
}

impl UncheckedRun {
    /// The tool's CPU time per 1,000 rows, seconds.
    pub fn cpu_per_thousand(&self) -> f64 {
        self.timed.cpu * 1000.0 / self.rows as f64
    }
}

/// A sandbox served by the binary in its own process, so that its CPU is not the engine's.
pub struct SandboxProcess {
    child: Child,
    /// Its API base URL.
    pub api_url: String,
    /// Its token URL.
    pub token_url: String,
}

impl SandboxProcess {
    /// Starts `zoom-onboard sandbox` on a free port with no per-second limit and no daily quota
    /// in reach, and waits until it says where it is.
    pub async fn start(tools: &Tools) -> SandboxProcess {
        let unlimited = UNLIMITED_RATE.to_string();
        let mut child = Command::new(&tools.binary)
            .arg("sandbox")
            .args(["--listen", "127.0.0.1:0", "--plan", "business"])
            .args(["--rate", &unlimited, "--burst", &unlimited])
            .args(["--daily-quota", "4000000000", "--seed", "7"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the sandbox starts");
        let stdout = child.stdout.take().expect("the sandbox's stdout");
        let mut lines = BufReader::new(stdout).lines();
        let (mut api_url, mut token_url) = (String::new(), String::new());
        while let Some(line) = lines.next_line().await.expect("the sandbox's stdout reads") {
            if let Some(url) = line.trim().strip_prefix("API base URL:") {
                url.trim().clone_into(&mut api_url);
            } else if let Some(url) = line.trim().strip_prefix("token URL:") {
                url.trim().clone_into(&mut token_url);
                break;
            }
        }
        assert!(
            !api_url.is_empty() && !token_url.is_empty(),
            "the sandbox said where it is"
        );
        // Keep reading its stdout so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        SandboxProcess {
            child,
            api_url,
            token_url,
        }
    }

    /// The CPU time it has used so far, seconds, from `/proc`.
    pub fn cpu_seconds(&self) -> f64 {
        let Some(pid) = self.child.id() else {
            return f64::NAN;
        };
        proc_cpu_seconds(pid).unwrap_or(f64::NAN)
    }

    /// Stops it: this process started it, and it ends with it.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// User plus system time of a process, from `/proc/PID/stat` (fields 14 and 15, in clock
/// ticks, which Linux reports at 100 a second).
fn proc_cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, field 2, is in parentheses and may hold spaces.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / 100.0)
}

/// The pace of a run: the plan's, or lifted with the hidden `--unchecked-rate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// `--plan business`: 80 a second.
    Business,
    /// `--plan business --unchecked-rate 100000000`, with `workers` in flight.
    Unchecked {
        /// `--concurrency`.
        workers: usize,
    },
}

/// The arguments of `zoom-onboard run` over the roster in `folder`, against `sandbox`.
fn run_arguments(sandbox: &SandboxProcess, folder: &Path, pace: Pace) -> Vec<String> {
    let path = |name: &str| folder.join(name).display().to_string();
    let mut arguments = vec![
        "run".to_owned(),
        path("roster.csv"),
        "--out".to_owned(),
        path("results.csv"),
        "--state".to_owned(),
        path("journal.sqlite3"),
        "--plan".to_owned(),
        "business".to_owned(),
        "--daily-quota".to_owned(),
        "4000000000".to_owned(),
        "--api-url".to_owned(),
        sandbox.api_url.clone(),
        "--oauth-url".to_owned(),
        sandbox.token_url.clone(),
    ];
    if let Pace::Unchecked { workers } = pace {
        arguments.extend([
            "--unchecked-rate".to_owned(),
            UNLIMITED_RATE.to_string(),
            "--concurrency".to_owned(),
            workers.to_string(),
        ]);
    }
    arguments
}

/// The sandbox's default credentials, which `zoom-onboard sandbox` accepts.
fn with_default_credentials(command: &mut Command) -> &mut Command {
    command
        .env("ZOOM_ACCOUNT_ID", "sandbox")
        .env("ZOOM_CLIENT_ID", "sandbox")
        .env("ZOOM_CLIENT_SECRET", "sandbox")
}

/// Runs the binary with its pacer lifted over `rows` fresh hires with `workers` in flight.
pub async fn unchecked_run(
    tools: &Tools,
    rows: usize,
    workers: usize,
    work: &Path,
    tag: &str,
) -> UncheckedRun {
    let sandbox = SandboxProcess::start(tools).await;
    let folder = work.join(tag);
    std::fs::create_dir_all(&folder).expect("a folder for the run");
    write_roster(&folder.join("roster.csv"), rows, &format!("{tag}-"));
    let report = folder.join("time.txt");
    let mut command = timed_command(&tools.binary, &report);
    command.args(run_arguments(
        &sandbox,
        &folder,
        Pace::Unchecked { workers },
    ));
    with_default_credentials(&mut command);
    let sandbox_cpu_before = sandbox.cpu_seconds();
    let timed = run_timed(command, &report, Duration::from_secs(600)).await;
    let sandbox_cpu = sandbox.cpu_seconds() - sandbox_cpu_before;
    sandbox.stop().await;
    UncheckedRun {
        rows,
        rows_per_second: rows as f64 / timed.wall,
        timed,
        sandbox_cpu,
    }
}

/// Where the engine's CPU time went, by component and by function.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    /// The command that recorded it.
    pub command: String,
    /// Share of samples by component, largest first.
    pub components: Vec<(String, f64)>,
    /// The functions with the most samples of their own, largest first.
    pub functions: Vec<(String, f64)>,
    /// Samples recorded.
    pub samples: u64,
}

/// Records `zoom-onboard run` at `pace` under `perf record` (sampling the CPU clock, flat: no
/// call graphs) and reads the samples back. `None` when `perf` is missing or cannot record.
pub async fn profile_run(tools: &Tools, rows: usize, pace: Pace, work: &Path) -> Option<Profile> {
    let sandbox = SandboxProcess::start(tools).await;
    let folder = work.join(format!("profile-{rows}-{pace:?}").replace([' ', '{', '}', ':'], ""));
    std::fs::create_dir_all(&folder).expect("a folder for the profile");
    write_roster(&folder.join("roster.csv"), rows, "profile-");
    let data = folder.join("perf.data");
    let mut command = Command::new("perf");
    command
        .args(["record", "-F", "2000", "-e", "cpu-clock", "-o"])
        .arg(&data)
        .arg("--")
        .arg(&tools.binary)
        .args(run_arguments(&sandbox, &folder, pace))
        .stdin(Stdio::null());
    with_default_credentials(&mut command);
    let recorded = command.output().await;
    sandbox.stop().await;
    if !recorded.is_ok_and(|output| output.status.success() || output.status.code() == Some(4)) {
        return None;
    }
    let report = Command::new("perf")
        .args(["report", "--stdio", "--no-children", "--sort", "dso,sym"])
        .args(["--percent-limit", "0", "-i"])
        .arg(&data)
        .stdin(Stdio::null())
        .output()
        .await
        .ok()?;
    let text = String::from_utf8_lossy(&report.stdout);
    let mut profile = read_perf_report(&text);
    let pace_arguments = match pace {
        Pace::Business => String::new(),
        Pace::Unchecked { workers } => {
            format!(" --unchecked-rate {UNLIMITED_RATE} --concurrency {workers}")
        }
    };
    profile.command = format!(
        "perf record -F 2000 -e cpu-clock -- zoom-onboard run <{rows}-row roster> --plan \
         business{pace_arguments} ..."
    );
    Some(profile)
}

/// Reads `perf report --stdio --sort dso,sym` output.
fn read_perf_report(text: &str) -> Profile {
    let mut profile = Profile::default();
    let mut components: Vec<(String, f64)> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(count) = line
            .strip_prefix("# Samples: ")
            .and_then(|rest| rest.split_whitespace().next())
        {
            profile.samples = parse_count(count);
        }
        let Some((percent, rest)) = line.split_once("% ") else {
            continue;
        };
        let Ok(percent) = percent.trim().parse::<f64>() else {
            continue;
        };
        let rest = rest.trim();
        let (dso, symbol) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let symbol = symbol.trim();
        let kernel = symbol.starts_with("[k]");
        let symbol = symbol
            .trim_start_matches("[k]")
            .trim_start_matches("[.]")
            .trim()
            .to_owned();
        let component = component_of(dso, &symbol, kernel);
        match components.iter_mut().find(|(name, _)| name == component) {
            Some((_, total)) => *total += percent,
            None => components.push((component.to_owned(), percent)),
        }
        profile.functions.push((symbol, percent));
    }
    components.sort_by(|a, b| b.1.total_cmp(&a.1));
    profile.components = components;
    profile.functions.truncate(15);
    profile
}

/// Reads perf's sample count, which it may abbreviate as `12K`.
fn parse_count(text: &str) -> u64 {
    match text.strip_suffix('K') {
        Some(thousands) => thousands.parse::<u64>().unwrap_or(0) * 1000,
        None => text.parse().unwrap_or(0),
    }
}

/// Which part of the program a sampled function belongs to.
fn component_of(dso: &str, symbol: &str, kernel: bool) -> &'static str {
    let starts = |prefixes: &[&str]| {
        prefixes
            .iter()
            .any(|prefix| symbol.starts_with(prefix) || symbol.starts_with(&format!("<{prefix}")))
    };
    if kernel || dso.starts_with("[kernel") {
        "kernel (system calls: network, files, scheduling)"
    } else if symbol.contains("sqlite3") {
        "SQLite (the journal)"
    } else if starts(&[
        "hyper",
        "h2::",
        "http::",
        "reqwest",
        "hyper_util",
        "httparse",
    ]) {
        "HTTP client (reqwest, hyper)"
    } else if starts(&["tokio", "mio", "parking_lot"]) {
        "tokio runtime"
    } else if starts(&["serde_json", "serde::"]) {
        "JSON (serde_json)"
    } else if starts(&["csv", "encoding_rs"]) {
        "CSV reading and writing"
    } else if starts(&["zoom_onboard"]) {
        "zoom-onboard's own code"
    } else if dso.starts_with("libc") || starts(&["alloc::", "core::", "std::", "__rust"]) {
        "libc and Rust std (allocation, copying, threads)"
    } else {
        "other"
    }
}
