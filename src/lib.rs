//! lockgate keeps PostgreSQL schema migrations from taking production down.
//!
//! The pipeline runs one way: [`source`] discovers and loads migrations into the [`ir`];
//! [`analysis`] replays them through the [`catalog`], asks [`locks`] what each op locks, and runs
//! the [`rules`]; [`report`] prints the findings. In CI, [`scope`] narrows what is reported
//! (a diff, a cutoff) while the whole history is still replayed, and [`git`] answers what
//! changed.

pub mod analysis;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod git;
pub mod ir;
pub mod locks;
pub mod report;
pub mod rules;
pub mod scope;
pub mod source;
