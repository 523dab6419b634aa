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
use std::sync::atomic::{AtomicU64, Ordering};
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
    let (row_sender, row_receiver) = mpsc::channel::<Result<RosterRow, RosterError>>(READ_AHEAD);
    // Outcomes on their way to the writer. Unbounded, but the reorder window limits how many
    // can exist at once.
    let (outcome_sender, outcome_receiver) = mpsc::unbounded_channel::<Sequenced>();
    // Rows dispatched but not yet written. The writer returns a permit for each row it writes.
    let window = Arc::new(Semaphore::new(REORDER_WINDOW));

    let reader = tokio::task::spawn_blocking(move || {
        for row in rows {
            if row_sender.blocking_send(row).is_err() {
                break;
            }
        }
    });
    let writer = spawn_writer(results, outcome_receiver, Arc::clone(&window));

    let mut dispatcher = Dispatcher {
        submitter: Arc::clone(&submitter),
        workers: Arc::new(Semaphore::new(concurrency.max(1))),
        window,
        outcomes: outcome_sender,
        in_flight: JoinSet::new(),
        in_flight_rows: HashMap::new(),
        next_sequence: 0,
    };
    let roster_error = dispatcher.dispatch_all(row_receiver).await;
    let _ = reader.await;
    dispatcher.drain().await;
    drop(dispatcher);

    let counts = writer
        .await
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()))?;
    if let Some(error) = roster_error {
        return Err(error.into());
    }
    let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
    Ok(RunReport {
        rows: counts.values().sum(),
        counts,
        elapsed: started.elapsed(),
        stop: submitter.stop.reason(),
        create_requests: load(&submitter.tally.create_requests),
        lookups: load(&submitter.tally.lookups),
        rate_limited: load(&submitter.tally.rate_limited),
    })
}

/// Which row a submission in flight belongs to: its sequence, row number and email.
type InFlightRow = (u64, u64, String);

/// Hands rows to workers in roster order and forwards every outcome to the writer.
struct Dispatcher {
    submitter: Arc<Submitter>,
    /// Submissions in flight. A permit is taken before the next row is received, which is
    /// what gives the reader backpressure.
    workers: Arc<Semaphore>,
    /// Rows dispatched but not yet written; see [`REORDER_WINDOW`].
    window: Arc<Semaphore>,
    outcomes: mpsc::UnboundedSender<Sequenced>,
    in_flight: JoinSet<Sequenced>,
    in_flight_rows: HashMap<tokio::task::Id, InFlightRow>,
    next_sequence: u64,
}

impl Dispatcher {
    /// Dispatches rows until the roster ends, returning a whole-roster error met on the way.
    async fn dispatch_all(
        &mut self,
        mut rows: mpsc::Receiver<Result<RosterRow, RosterError>>,
    ) -> Option<RosterError> {
        loop {
            if let Ok(permit) = Arc::clone(&self.window).acquire_owned().await {
                permit.forget();
            }
            match rows.recv().await {
                None => return None,
                Some(Err(error)) => {
                    self.submitter.stop.stop(StopReason::Interrupted);
                    return Some(error);
                }
                Some(Ok(row)) => self.dispatch(row).await,
            }
            while let Some(done) = self.in_flight.try_join_next_with_id() {
                self.forward(done);
            }
        }
    }

    /// Turns one row into an outcome at once, or starts its submission.
    async fn dispatch(&mut self, row: RosterRow) {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let hire = match row.verdict {
            Verdict::Ready(hire) => hire,
            Verdict::Invalid(message) => {
                let outcome = Outcome::unsent(row.row, row.email, Status::Invalid, message);
                let _ = self.outcomes.send((sequence, outcome));
                return;
            }
            Verdict::Duplicate { first_row } => {
                let message = format!("same email as row {first_row}: not sent again");
                let outcome = Outcome::unsent(row.row, row.email, Status::Duplicate, message);
                let _ = self.outcomes.send((sequence, outcome));
                return;
            }
        };
        let permit = tokio::select! {
            permit = Arc::clone(&self.workers).acquire_owned() => permit.ok(),
            () = self.submitter.stop.stopped() => None,
        };
        let Some(permit) = permit else {
            let reason = self
                .submitter
                .stop
                .reason()
                .unwrap_or(StopReason::Interrupted);
            let outcome = Outcome::unsent(
                hire.row,
                hire.user_info.email.clone(),
                Status::Deferred,
                reason.unsent_message(),
            );
            let _ = self.outcomes.send((sequence, outcome));
            return;
        };
        let submitter = Arc::clone(&self.submitter);
        let row_facts = (sequence, hire.row, hire.user_info.email.clone());
        let handle = self.in_flight.spawn(async move {
            let outcome = submitter.submit(&hire).await;
            drop(permit);
            (sequence, outcome)
        });
        self.in_flight_rows.insert(handle.id(), row_facts);
    }

    /// Waits for the submissions still in flight. After a stop they get [`STOP_GRACE`] to
    /// finish; those still running then are cut short and written as `deferred`.
    async fn drain(&mut self) {
        let submitter = Arc::clone(&self.submitter);
        let grace_over = async {
            submitter.stop.stopped().await;
            tokio::time::sleep(STOP_GRACE).await;
        };
        tokio::pin!(grace_over);
        let mut cut_short = false;
        loop {
            let next = if cut_short {
                self.in_flight.join_next_with_id().await
            } else {
                tokio::select! {
                    next = self.in_flight.join_next_with_id() => next,
                    () = &mut grace_over => {
                        cut_short = true;
                        self.in_flight.abort_all();
                        continue;
                    }
                }
            };
            let Some(done) = next else {
                return;
            };
            self.forward(done);
        }
    }

    /// Sends a finished submission's outcome to the writer. A submission that was cut short or
    /// panicked still gets a line: `deferred`, saying it may have been sent.
    fn forward(&mut self, done: Result<(tokio::task::Id, Sequenced), tokio::task::JoinError>) {
        let sequenced = match done {
            Ok((id, sequenced)) => {
                self.in_flight_rows.remove(&id);
                sequenced
            }
            Err(error) => {
                let Some((sequence, row, email)) = self.in_flight_rows.remove(&error.id()) else {
                    return;
                };
                let message = if error.is_cancelled() {
                    "stopped while in flight: it may have been created; the next run looks it \
                     up before sending"
                } else {
                    "internal error while submitting: it may have been created; please report \
                     this"
                };
                let outcome = Outcome::unsent(row, email, Status::Deferred, message.to_owned());
                (sequence, outcome)
            }
        };
        let _ = self.outcomes.send(sequenced);
    }
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
