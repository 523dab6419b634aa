//! Scenario 2, overhead: what the tool spends per row when Zoom is instant and unlimited.
//!
//! Two measurements, because the binary cannot go faster than the plan's 80 a second:
//!
//! - the binary, `run --plan business`, against an unlimited sandbox with no latency: rows a
//!   second (capped by its own pacer) and CPU-seconds per 1,000 rows;
//! - the `engine` example, the same pipeline with the pacer lifted, against an unlimited
//!   sandbox in its own process: the rows a second the machinery can carry, its CPU cost, and
//!   a `perf` profile of where that CPU goes.

use std::path::Path;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

use crate::pace::UNLIMITED_RATE;
use crate::process::{Timed, Tools, run_timed, timed_command, write_roster};

/// One run of the engine.
#[derive(Debug, Clone)]
pub struct EngineRun {
    /// Roster rows.
    pub rows: usize,
    /// Users created, as the engine counted them.
    pub created: u64,
    /// 429s received.
    pub rejected_429: u64,
    /// Rows a second, from the engine's first row to its last outcome.
    pub rows_per_second: f64,
    /// The engine's process, measured.
    pub timed: Timed,
    /// The sandbox process's CPU time over the same run, seconds.
    pub sandbox_cpu: f64,
}

impl EngineRun {
    /// The engine's CPU time per 1,000 rows, seconds.
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

/// The arguments of one engine run, in the order the engine takes them.
fn engine_arguments(sandbox: &SandboxProcess, folder: &Path, workers: usize) -> Vec<String> {
    [
        folder.join("roster.csv"),
        folder.join("results.csv"),
        folder.join("journal.sqlite3"),
    ]
    .iter()
    .map(|path| path.display().to_string())
    .chain([
        sandbox.api_url.clone(),
        sandbox.token_url.clone(),
        workers.to_string(),
    ])
    .collect()
}

/// Runs the engine over `rows` fresh hires with `workers` in flight.
pub async fn engine_run(
    tools: &Tools,
    rows: usize,
    workers: usize,
    work: &Path,
    tag: &str,
) -> EngineRun {
    let sandbox = SandboxProcess::start(tools).await;
    let folder = work.join(tag);
    std::fs::create_dir_all(&folder).expect("a folder for the run");
    write_roster(&folder.join("roster.csv"), rows, &format!("{tag}-"));
    let report = folder.join("time.txt");
    let mut command = timed_command(&tools.example("engine"), &report);
    command.args(engine_arguments(&sandbox, &folder, workers));
    let sandbox_cpu_before = sandbox.cpu_seconds();
    let timed = run_timed(command, &report).await;
    let sandbox_cpu = sandbox.cpu_seconds() - sandbox_cpu_before;
    sandbox.stop().await;
    assert_eq!(timed.exit, 0, "the engine ran: {}", timed.stderr);
    let figure = |key: &str| -> f64 {
        timed
            .stdout
            .split_whitespace()
            .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
            .and_then(|value| value.parse().ok())
            .unwrap_or(f64::NAN)
    };
    EngineRun {
        rows,
        created: figure("created") as u64,
        rejected_429: figure("rate_limited") as u64,
        rows_per_second: figure("rows_per_second"),
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

/// Records the engine under `perf record` (sampling the CPU clock, flat: no call graphs) and
/// reads the samples back. `None` when `perf` is missing or cannot record here.
pub async fn profile_engine(
    tools: &Tools,
    rows: usize,
    workers: usize,
    work: &Path,
) -> Option<Profile> {
    let sandbox = SandboxProcess::start(tools).await;
    let folder = work.join("profile");
    std::fs::create_dir_all(&folder).expect("a folder for the profile");
    write_roster(&folder.join("roster.csv"), rows, "profile-");
    let data = folder.join("perf.data");
    let recorded = Command::new("perf")
        .args(["record", "-F", "2000", "-e", "cpu-clock", "-o"])
        .arg(&data)
        .arg("--")
        .arg(tools.example("engine"))
        .args(engine_arguments(&sandbox, &folder, workers))
        .stdin(Stdio::null())
        .output()
        .await;
    sandbox.stop().await;
    if !recorded.is_ok_and(|output| output.status.success()) {
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
    profile.command = format!(
        "perf record -F 2000 -e cpu-clock -- target/release/examples/engine <{rows}-row roster> \
         ... {workers}"
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
