//! Problems with the migration history itself: missing parents, cycles, several leaves.

use super::{Category, Rule, Severity};

pub const ID: &str = "migration-graph";

/// Reported by the loaders, which see the dependency graph.
pub const RULE: Rule = Rule {
    id: ID,
    severity: Severity::Warning,
    category: Category::Transactions,
    summary:
        "a dependency on a migration that is not there, a dependency cycle, or an app with several leaf migrations",
    check: None,
    end_of_migration: None,
    end_of_run: None,
};
