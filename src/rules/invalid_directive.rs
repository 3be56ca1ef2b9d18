//! A `lockgate:` comment lockgate cannot read.

use super::{Category, Rule, Severity};

pub const ID: &str = "invalid-directive";

/// Reported by the lint driver from what the loaders found.
pub const RULE: Rule = Rule {
    id: ID,
    severity: Severity::Warning,
    category: Category::Coverage,
    summary: "a `lockgate:` comment that is malformed or not attached to any statement",
    check: None,
    end_of_migration: None,
    end_of_run: None,
};
