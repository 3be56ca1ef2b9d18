//! A statement that blocks traffic while no statement_timeout bounds how long it runs.

use super::{lock_label, Category, OpContext, Rule, Severity, Violation};
use crate::ir::OpKind;
use crate::locks::Work;

pub const RULE: Rule = Rule::on_op(
    "missing-statement-timeout",
    Category::Timeouts,
    Severity::Warning,
    "a statement that blocks traffic runs with no statement_timeout to bound it",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let tx = ctx.transaction;
    if tx.statement_timeout_guards() || tx.unbounded_blocking_statements > 0 || !ctx.first_in_statement {
        return;
    }
    // Concurrent builds, refreshes and validations are meant to run long while traffic
    // continues; a timeout would only abort them.
    if matches!(
        ctx.op.kind,
        OpKind::ValidateConstraint { .. } | OpKind::RefreshMaterializedView { concurrently: true, .. }
    ) || ctx.effects.iter().any(|e| e.work == Work::ConcurrentIndexBuild)
    {
        return;
    }
    let Some(effect) =
        ctx.effects.iter().filter(|e| e.mode.blocks_writes() && !ctx.is_new_table(&e.relation)).max_by_key(|e| e.mode)
    else {
        return;
    };
    let setting = if tx.in_transaction { "SET LOCAL" } else { "SET" };
    out.push(
        ctx.violation(
            format!(
                "this statement blocks traffic on `{}` ({}) with no statement_timeout: if it runs longer than expected, nothing stops it",
                effect.relation,
                effect.mode.blocks()
            ),
            format!(
                "{} (leave it unset only for CONCURRENTLY and VALIDATE steps); if the runner's session already sets one, declare it in lockgate.toml (`[runner] statement_timeout = \"30s\"`)",
                ctx.run_first(&format!("{setting} statement_timeout = '30s'"))
            ),
        )
        .with_lock(Some(lock_label(effect))),
    );
}
