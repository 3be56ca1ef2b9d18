//! The server did something other than the lock model says: a lock of another mode, a rewrite
//! or scan the model does not predict, or a lock on a table the model says nothing about
//! (functions, `DO` blocks, triggers, extensions). Only `lockgate trace` sees it: it runs each
//! statement and reads `pg_locks`, `relfilenode` and the transaction's scan counters.

use super::{Category, Rule, Severity};

pub const ID: &str = "lock-model-mismatch";

/// Reported by `lockgate trace`, which compares the server with the model; at error when the
/// server did more than the model says, at warning when it did less.
pub const RULE: Rule = Rule {
    id: ID,
    severity: Severity::Error,
    category: Category::Coverage,
    summary: "the server took a lock or did work the lock model does not predict (reported by `lockgate trace`)",
    check: None,
    end_of_migration: None,
    end_of_run: None,
};
