//! The run: roster rows in, a bounded pool of submissions, outcomes out in roster order.
//!
//! Three parts, each with one job:
//!
//! - the **reader**, a blocking thread, streams checked rows into a bounded channel;
//! - the **dispatcher**, this module's async loop, turns each row into an outcome at once (an
//!   invalid or duplicate row) or hands it to a worker task;
//! - the **writer**, a blocking thread, puts outcomes back in roster order and appends them to
//!   the results file as they complete.
//!
//! Memory stays flat however long the roster: the reader runs at most [`READ_AHEAD`] rows
//! ahead, a worker permit is taken *before* the next row is received, and the writer holds at
//! most [`REORDER_WINDOW`] finished rows waiting for a slower row before them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use super::stop::StopReason;
use super::submission::Submitter;
use crate::outcome::{Outcome, Status};
use crate::results::ResultsWriter;
use crate::roster::{RosterError, RosterRow, RosterRows, Verdict};

/// How many checked rows the reader may hold ready ahead of the dispatcher.
const READ_AHEAD: usize = 256;

/// How many rows may be finished but not yet written because an earlier row is still in flight.
const REORDER_WINDOW: usize = 4096;

/// How long submissions in flight may run on after a stop before they are cut short.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Outcomes by status.
    pub counts: BTreeMap<Status, u64>,
    /// Data rows accounted for: the sum of `counts`.
    pub rows: u64,
    /// Wall time from the first row to the last outcome.
    pub elapsed: Duration,
    /// Why the run stopped early, if it did.
    pub stop: Option<StopReason>,
    /// Create calls sent.
    pub create_requests: u64,
    /// Look-ups sent.
    pub lookups: u64,
    /// 429s received.
    pub rate_limited: u64,
}

impl RunReport {
    /// How many rows ended with `status`.
    #[must_use]
    pub fn count(&self, status: Status) -> u64 {
        self.counts.get(&status).copied().unwrap_or(0)
    }
}

/// Why a run could not account for every row.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The roster turned out unreadable part-way (it changed since it was checked).
    #[error(transparent)]
    Roster(#[from] RosterError),
    /// The results file could not be written.
    #[error("cannot write the results file {path}")]
    Results {
        /// The results file.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// An outcome tagged with its place in the roster.
type Sequenced = (u64, Outcome);

/// Runs every row of `rows` through `submitter` with at most `concurrency` submissions in
/// flight, writing each outcome to `results`.
pub async fn run(
    rows: RosterRows,
    submitter: Arc<Submitter>,
    results: ResultsWriter,
    concurrency: usize,
) -> Result<RunReport, PipelineError> {
    let started = Instant::now();
    // Rows read but not yet dispatched. Bounded, so the reader waits for the pool.
    let (row_sender, mut row_receiver) =
        mpsc::channel::<Result<RosterRow, RosterError>>(READ_AHEAD);
    // Outcomes on their way to the writer. Unbounded, but the reorder window below limits how
    // many can exist at once.
    let (outcome_sender, outcome_receiver) = mpsc::unbounded_channel::<Sequenced>();
    // Rows dispatched but not yet written. The writer returns a permit for each row it writes.
    let window = Arc::new(Semaphore::new(REORDER_WINDOW));
    // Submissions in flight. Taken before the next row is received, which gives backpressure.
    let workers = Arc::new(Semaphore::new(concurrency.max(1)));

    let reader = tokio::task::spawn_blocking(move || {
        for row in rows {
            if row_sender.blocking_send(row).is_err() {
                break;
            }
        }
    });
    let writer = spawn_writer(results, outcome_receiver, Arc::clone(&window));

    let mut in_flight: JoinSet<Sequenced> = JoinSet::new();
    let mut in_flight_rows: HashMap<tokio::task::Id, (u64, u64, String)> = HashMap::new();
    let mut next_sequence = 0_u64;
    let mut roster_error = None;
    loop {
        if let Ok(permit) = Arc::clone(&window).acquire_owned().await {
            permit.forget();
        }
        let Some(row) = row_receiver.recv().await else {
            break;
        };
        let row = match row {
            Ok(row) => row,
            Err(error) => {
                roster_error = Some(error);
                submitter.stop.stop(StopReason::Interrupted);
                break;
            }
        };
        let sequence = next_sequence;
        next_sequence += 1;
        let hire = match row.verdict {
            Verdict::Ready(hire) => hire,
            Verdict::Invalid(message) => {
                let outcome = Outcome::unsent(row.row, row.email, Status::Invalid, message);
                let _ = outcome_sender.send((sequence, outcome));
                continue;
            }
            Verdict::Duplicate { first_row } => {
                let message = format!("same email as row {first_row}: not sent again");
                let outcome = Outcome::unsent(row.row, row.email, Status::Duplicate, message);
                let _ = outcome_sender.send((sequence, outcome));
                continue;
            }
        };
        let permit = tokio::select! {
            permit = Arc::clone(&workers).acquire_owned() => permit.ok(),
            () = submitter.stop.stopped() => None,
        };
        let Some(permit) = permit else {
            let reason = submitter.stop.reason().unwrap_or(StopReason::Interrupted);
            let outcome = Outcome::unsent(
                hire.row,
                hire.user_info.email.clone(),
                Status::Deferred,
                reason.unsent_message(),
            );
            let _ = outcome_sender.send((sequence, outcome));
            continue;
        };
        let worker_submitter = Arc::clone(&submitter);
        let (row_number, email) = (hire.row, hire.user_info.email.clone());
        let handle = in_flight.spawn(async move {
            let outcome = worker_submitter.submit(&hire).await;
            drop(permit);
            (sequence, outcome)
        });
        in_flight_rows.insert(handle.id(), (sequence, row_number, email));
        while let Some(done) = in_flight.try_join_next_with_id() {
            forward(done, &mut in_flight_rows, &outcome_sender);
        }
    }
    drop(row_receiver);
    let _ = reader.await;

    drain(
        &mut in_flight,
        &mut in_flight_rows,
        &outcome_sender,
        &submitter,
    )
    .await;
    drop(outcome_sender);
    let counts = writer
        .await
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()));
    let counts = counts?;
    if let Some(error) = roster_error {
        return Err(error.into());
    }
    let tally = &submitter.tally;
    let load =
        |counter: &std::sync::atomic::AtomicU64| counter.load(std::sync::atomic::Ordering::Relaxed);
    Ok(RunReport {
        rows: counts.values().sum(),
        counts,
        elapsed: started.elapsed(),
        stop: submitter.stop.reason(),
        create_requests: load(&tally.create_requests),
        lookups: load(&tally.lookups),
        rate_limited: load(&tally.rate_limited),
    })
}

/// Waits for the submissions still in flight. After a stop they get [`STOP_GRACE`] to finish;
/// those still running then are cut short and written as `deferred`.
async fn drain(
    in_flight: &mut JoinSet<Sequenced>,
    in_flight_rows: &mut HashMap<tokio::task::Id, (u64, u64, String)>,
    outcome_sender: &mpsc::UnboundedSender<Sequenced>,
    submitter: &Submitter,
) {
    loop {
        let next = tokio::select! {
            next = in_flight.join_next_with_id() => next,
            () = stopped_then_grace(submitter) => {
                in_flight.abort_all();
                in_flight.join_next_with_id().await
            }
        };
        let Some(done) = next else {
            return;
        };
        forward(done, in_flight_rows, outcome_sender);
    }
}

async fn stopped_then_grace(submitter: &Submitter) {
    submitter.stop.stopped().await;
    tokio::time::sleep(STOP_GRACE).await;
}

/// Sends a finished submission's outcome to the writer. A submission that was cut short or
/// panicked still gets a line: `deferred`, saying it may have been sent.
fn forward(
    done: Result<(tokio::task::Id, Sequenced), tokio::task::JoinError>,
    in_flight_rows: &mut HashMap<tokio::task::Id, (u64, u64, String)>,
    outcome_sender: &mpsc::UnboundedSender<Sequenced>,
) {
    let sequenced = match done {
        Ok((id, sequenced)) => {
            in_flight_rows.remove(&id);
            sequenced
        }
        Err(error) => {
            let Some((sequence, row, email)) = in_flight_rows.remove(&error.id()) else {
                return;
            };
            let message = if error.is_cancelled() {
                "stopped while in flight: it may have been created; the next run looks it up \
                 before sending"
            } else {
                "internal error while submitting: it may have been created; please report this"
            };
            let outcome = Outcome::unsent(row, email, Status::Deferred, message.to_owned());
            (sequence, outcome)
        }
    };
    let _ = outcome_sender.send(sequenced);
}

/// Starts the writer thread. It returns the counts by status once every outcome is written.
fn spawn_writer(
    mut results: ResultsWriter,
    mut outcomes: mpsc::UnboundedReceiver<Sequenced>,
    window: Arc<Semaphore>,
) -> tokio::task::JoinHandle<Result<BTreeMap<Status, u64>, PipelineError>> {
    tokio::task::spawn_blocking(move || {
        let mut counts = BTreeMap::new();
        let mut waiting: BTreeMap<u64, Outcome> = BTreeMap::new();
        let mut next_to_write = 0_u64;
        let failed = |source, results: &ResultsWriter| PipelineError::Results {
            path: results.path().to_owned(),
            source,
        };
        while let Some((sequence, outcome)) = outcomes.blocking_recv() {
            waiting.insert(sequence, outcome);
            // Take whatever else has arrived, then write and flush once for the lot.
            while let Ok((sequence, outcome)) = outcomes.try_recv() {
                waiting.insert(sequence, outcome);
            }
            while let Some(outcome) = waiting.remove(&next_to_write) {
                results
                    .write(&outcome)
                    .map_err(|error| failed(error, &results))?;
                *counts.entry(outcome.status).or_insert(0) += 1;
                next_to_write += 1;
                window.add_permits(1);
            }
            results.flush().map_err(|error| failed(error, &results))?;
        }
        Ok(counts)
    })
}
