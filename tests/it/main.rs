//! Integration tests: one binary, a module per area, each over real HTTP on 127.0.0.1:0.

mod journal;
mod operator;
mod progress;
mod rosters;
mod run;
mod sandbox;
mod snapshots;
mod support;
