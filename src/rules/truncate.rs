//! TRUNCATE in a migration: ACCESS EXCLUSIVE and every row gone.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::OpKind;
use crate::locks::LockMode;

pub const RULE: Rule = Rule::on_op(
    "truncate",
    Category::Locks,
    Severity::Warning,
    "TRUNCATE deletes every row under an ACCESS EXCLUSIVE lock",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::Truncate { tables, cascade: false } = &ctx.op.kind else { return };
    let old: Vec<String> = tables.iter().filter(|t| !ctx.is_new_table(t)).map(|t| format!("`{t}`")).collect();
    if old.is_empty() {
        return;
    }
    out.push(ctx.violation(
        format!(
            "TRUNCATE empties {} for good (only a backup brings the rows back), and takes an {} lock on {} ({}) until the transaction ends",
            old.join(", "),
            if old.len() == 1 { "it" } else { "each" },
            LockMode::AccessExclusive,
            LockMode::AccessExclusive.blocks()
        ),
        "if the rows must go, delete them in batches (`DELETE … WHERE id BETWEEN …`, each batch committed) outside the schema migration; if this is test or seed data, keep it out of production migrations",
    ));
}
