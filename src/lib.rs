//! zoom-onboard creates Zoom users in bulk from a CSV roster, as fast as the account's rate
//! limits allow and never faster, and says row by row what happened.
//!
//! # Vocabulary
//!
//! These words mean one thing each, in types, log fields, `--help` and the results CSV:
//!
//! - *roster*: the input file, one hire per data row.
//! - *hire*: one data row of the roster, checked and ready to submit.
//! - *submission*: the create call made for one hire, however many tries it takes.
//! - *attempt*: one HTTP try within a submission.
//! - *outcome*: a row's final status and the facts behind it.
//! - *journal*: the durable record of what was done, kept between runs.
//!
//! # The data's path
//!
//! [`roster`] reads and checks rows; [`submit`] paces and sends the create calls through
//! [`zoom`]'s client; [`outcome`] names what became of each row; [`results`] writes them out,
//! and [`failures`] writes again the rows a person must fix, in the roster's own columns.
//! [`journal`] remembers what was done between runs.
//! [`sandbox`] is a stand-in for Zoom's endpoints that tests and demos run against.

pub mod cli;
pub mod failures;
pub mod journal;
pub mod outcome;
pub mod results;
pub mod roster;
pub mod sandbox;
pub mod submit;
pub mod zoom;
