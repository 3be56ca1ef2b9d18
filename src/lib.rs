//! lockgate keeps PostgreSQL schema migrations from taking production down.
//!
//! The pipeline runs one way: [`source`] discovers and loads migrations into the [`ir`];
//! [`analysis`] replays them through the [`catalog`], asks [`locks`] what each op locks, and runs
//! the [`rules`]; [`report`] prints the findings. In CI, [`scope`] narrows what is reported
//! (a diff, a cutoff) while the whole history is still replayed, and [`git`] answers what
//! changed. [`lint`] is that whole run behind one call: paths and configuration in,
//! migrations, findings and coverage out.
//!
//! The gate (`lockgate check`) reads the target database through [`live`] (schema, sizes,
//! history tables, sessions), replays only the pending migrations on top of it, and
//! [`estimate`] turns each op's lock and work into a hold time; [`gate`] places every
//! migration in a tier.
//!
//! The executor: [`plan`] turns the pending migrations into expand, backfill and contract
//! steps with their safe recipes; [`exec`] runs a phase of a plan, after [`snapshot`] has
//! taken the database's snapshot.
//!
//! Below them all: [`units`] (durations and counts), [`postgres`] (versions, lock modes, type
//! names), [`tokens`] (a file's code tokens) and [`replay`] (the transaction and settings a
//! replayed statement runs under). Each layer imports only the ones below it; the table in
//! `tests/boundaries.rs` says which, and fails on an import that points back up.

pub mod analysis;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod estimate;
pub mod exec;
pub mod gate;
pub mod git;
pub mod ir;
pub mod lint;
pub mod live;
pub mod locks;
pub mod plan;
pub mod postgres;
pub mod replay;
pub mod report;
pub mod rules;
pub mod scope;
pub mod snapshot;
pub mod source;
pub mod tokens;
pub mod trace;
pub mod units;
pub mod volatility;
