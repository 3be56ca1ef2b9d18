//! new-rule-template: what it reports, and why that hurts a live database, in a sentence.
//!
//! `scripts/new-rule <id>` copies this file (it is compiled with the crate's tests, so what the
//! scaffold writes always builds). As written it reports `LOCK TABLE` in a mode that blocks
//! writes on a table that existed before the migration, which is what its page's examples show:
//! change the check, the summary and the page together.

use super::{takes_lock, Category, OpContext, Rule, Severity, Violation};
use crate::ir::OpKind;

pub const RULE: Rule = Rule::on_op(
    "new-rule-template",
    Category::Locks,
    Severity::Warning,
    "what the rule flags, in one line: `lockgate rules` and docs/rules.md's table show it",
    check,
);

/// Runs on every op, with the schema just before it (`ctx.catalog`) and the locks the lock model
/// gives it (`ctx.lock_on`, `ctx.work_on`). Word a lock mode from those, never by hand, so the
/// message cannot disagree with the lock table.
fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::LockTable { tables, .. } = &ctx.op.kind else { return };
    for table in tables {
        // A table created earlier in the same migration is still empty: locking it hurts no one.
        if ctx.is_new_table(table) {
            continue;
        }
        let Some(lock) = ctx.lock_on(table).filter(|lock| lock.mode.blocks_writes()) else { continue };
        out.push(ctx.violation(
            format!("`LOCK TABLE` {} until the transaction ends", takes_lock(lock.mode, table)),
            "the safe alternative, in the words of the migration's framework (`ctx.framework()`)",
        ));
    }
}
