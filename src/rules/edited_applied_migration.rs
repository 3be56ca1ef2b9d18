//! A migration changed after it was merged. Runners record which migrations a database has
//! applied and never run one again, so every database that applied the old text keeps the old
//! schema while fresh databases get the new one.

use std::path::Path;

use super::{Category, Rule, Severity};
use crate::ir::{Framework, Problem, ProblemKind, Span};
use crate::tokens;

pub const ID: &str = "edited-applied-migration";

/// Reported by `--diff` and `--staged`, which know the file's text at the base.
pub const RULE: Rule = Rule {
    id: ID,
    severity: Severity::Warning,
    category: Category::Transactions,
    summary: "a migration changed after it was merged: databases that already applied it never run the change",
    check: None,
    end_of_migration: None,
    end_of_run: None,
};

/// A migration's text at the base the run compares against.
pub struct Merged<'a> {
    pub text: &'a str,
    /// How to name the base in the message: `origin/main`, `HEAD`.
    pub base: &'a str,
    /// Its path at the base, when it has moved since.
    pub renamed_from: Option<&'a Path>,
}

/// A problem when the code of a migration differs from its merged version, located at the
/// first token that changed. Comments and layout may change freely: adding a comment or a
/// `lockgate: ignore` to an old migration changes nothing any database runs.
pub fn check(framework: Framework, merged: &Merged, now: &str) -> Option<Problem> {
    let at = tokens::first_difference(framework, merged.text, now)?;
    let moved = merged.renamed_from.map(|from| format!(" (as {})", from.display())).unwrap_or_default();
    Some(Problem {
        kind: ProblemKind::EditedAppliedMigration,
        span: Span::new(at.start, at.end),
        message: format!(
            "this migration is already in `{}`{moved} and its code has changed since: databases that applied it will not run it again, so their schema no longer matches this file",
            merged.base
        ),
        help: help(framework).into(),
    })
}

fn help(framework: Framework) -> &'static str {
    match framework {
        Framework::Sql => {
            "restore the merged text and make the change in a new migration file; only if no database has applied this one yet is the edit safe (this warning shows only while the edit is in the diff)"
        }
        Framework::Django => {
            "restore the merged migration and make the change in a new one (`python manage.py makemigrations`); only if no database has applied it yet is the edit safe"
        }
        Framework::Alembic => {
            "restore the merged revision and make the change in a new one (`alembic revision`); only if no database has applied it yet is the edit safe"
        }
    }
}
