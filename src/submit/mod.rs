//! Submitting hires to Zoom: pacing, the daily quota, retries, and the pool that runs them.
//!
//! The files follow one submission's path: [`pacer`] and [`daily`] decide when an attempt may
//! go, [`submission`] makes the attempts and decides the outcome, [`pipeline`] runs the pool
//! from roster to results, and [`stop`] carries the signal that ends a run early. [`events`] is
//! how a run tells whoever shows its progress what is happening.

pub mod daily;
pub mod events;
pub mod pacer;
pub mod pipeline;
pub mod prior;
pub mod recorder;
pub mod stop;
pub mod submission;
