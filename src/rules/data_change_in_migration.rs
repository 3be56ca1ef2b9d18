//! Data changes (UPDATE/DELETE/INSERT … SELECT) inside a schema migration.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::{DataChangeKind, OpKind};
use crate::postgres::LockMode;

pub const RULE: Rule = Rule::on_op(
    "data-change-in-migration",
    Category::Locks,
    Severity::Warning,
    "UPDATE/DELETE/INSERT … SELECT in a migration: row locks for the whole statement, worse next to DDL",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::DataChange { kind, table, has_where } = &ctx.op.kind else { return };
    let verb = match kind {
        DataChangeKind::Update => "UPDATE",
        DataChangeKind::Delete => "DELETE",
        DataChangeKind::InsertSelect => "INSERT … SELECT",
        DataChangeKind::Merge => "MERGE",
        DataChangeKind::Code => "data-migration code (RunPython)",
        DataChangeKind::Insert | DataChangeKind::Copy => return,
    };
    if table.as_ref().is_some_and(|t| ctx.is_new_table(t)) {
        return;
    }
    let target = table.as_ref().map_or_else(|| "the tables it touches".to_string(), |t| format!("`{t}`"));
    // A lock that blocks writes, held by an earlier statement of this transaction on a table
    // that existed before the migration (locks on tables created here block no one).
    let ddl = ctx
        .transaction
        .held
        .iter()
        .filter(|h| h.mode > LockMode::RowExclusive && !ctx.is_new_table(&h.relation))
        .max_by_key(|h| h.mode);
    let help = "move the data change out of the schema migration: backfill in batches of a few thousand rows (`… WHERE id BETWEEN … AND …`), each batch in its own short transaction, after the schema change has committed";
    let unbounded = matches!(kind, DataChangeKind::Update | DataChangeKind::Delete) && !has_where;
    let mut violation = if let Some(held) = ddl {
        ctx.violation(
            format!(
                "{verb} on {target} runs in the same transaction that already holds {} on `{}` ({}): that lock stays held for as long as the data change takes",
                held.mode,
                held.relation,
                held.mode.blocks()
            ),
            help,
        )
        .with_severity(Severity::Error)
    } else {
        ctx.violation(
            format!("{verb} on {target} in a schema migration holds a row lock on every row it changes until its transaction ends, bloats the table and floods the WAL"),
            help,
        )
    };
    if unbounded {
        violation.message =
            format!("{verb} without WHERE changes every row of {target} in one statement: {}", violation.message);
        violation.severity = Some(Severity::Error);
    }
    out.push(violation);
}
