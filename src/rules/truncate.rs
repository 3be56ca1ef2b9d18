//! TRUNCATE in a migration: ACCESS EXCLUSIVE and every row gone.

use super::{with_article, Category, OpContext, Rule, Severity, Violation};
use crate::ir::{OpKind, QualifiedName};

pub const RULE: Rule = Rule::on_op(
    "truncate",
    Category::Locks,
    Severity::Warning,
    "TRUNCATE deletes every row under an ACCESS EXCLUSIVE lock",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::Truncate { tables, cascade: false } = &ctx.op.kind else { return };
    let old: Vec<&QualifiedName> = tables.iter().filter(|t| !ctx.is_new_table(t)).collect();
    let Some(mode) = old.iter().filter_map(|t| ctx.lock_on(t)).map(|e| e.mode).max() else { return };
    let names: Vec<String> = old.iter().map(|t| format!("`{t}`")).collect();
    out.push(ctx.violation(
        format!(
            "TRUNCATE empties {} for good (only a backup brings the rows back), and takes {} lock on {} ({}) until the transaction ends",
            names.join(", "),
            with_article(mode),
            if old.len() == 1 { "it" } else { "each" },
            mode.blocks()
        ),
        "if the rows must go, delete them in batches (`DELETE … WHERE id BETWEEN …`, each batch committed) outside the schema migration; if this is test or seed data, keep it out of production migrations",
    ));
}
