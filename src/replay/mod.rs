//! What the rules read about a replay besides the schema: the transaction each statement runs
//! in, and the settings in force. Analysis drives the replay and fills these in; they sit below
//! the rules so that a rule depends on the state it reads, not on the pass that computes it.

pub mod transaction;

use crate::postgres::PgVersion;

/// Settings the rules read.
#[derive(Debug, Clone)]
pub struct Settings {
    pub pg_version: PgVersion,
    pub max_lock_timeout_ms: u64,
    /// What the runner's session sets before every migration (`[runner]`).
    pub runner_session: Vec<(String, String)>,
}
