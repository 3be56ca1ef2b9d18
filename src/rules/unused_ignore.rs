//! An inline ignore that suppresses nothing (stale, or a mistyped rule id).

use super::{Category, Rule, Severity};

pub const ID: &str = "unused-ignore";

/// Reported by the lint driver, which knows which ignores were used.
pub const RULE: Rule = Rule {
    id: ID,
    severity: Severity::Warning,
    category: Category::Coverage,
    summary: "a `lockgate: ignore` comment that suppresses nothing",
    check: None,
    end_of_migration: None,
    end_of_run: None,
};
