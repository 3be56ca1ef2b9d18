//! Data changes (UPDATE/DELETE/INSERT … SELECT) inside a schema migration.

use super::{OpContext, Rule, Severity, Violation};
use crate::ir::{DataChangeKind, OpKind};
use crate::locks::LockMode;

pub const RULE: Rule = Rule::on_op(
    "data-change-in-migration",
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
        DataChangeKind::Code => "data migration code",
        DataChangeKind::Insert | DataChangeKind::Copy => return,
    };
    if table.as_ref().is_some_and(|t| ctx.is_new_table(t)) {
        return;
    }
    let target = table.as_ref().map_or_else(|| "the table".to_string(), |t| format!("`{t}`"));
    let ddl = ctx.transaction.held.iter().filter(|h| h.mode > LockMode::RowExclusive).max_by_key(|h| h.mode);
    let help = "move the data change out of the schema migration: run it as a batched backfill (`lockgate apply --phase backfill`), a few thousand rows per short transaction";
    let unbounded = matches!(kind, DataChangeKind::Update | DataChangeKind::Delete) && !has_where;
    let mut violation = if let Some(held) = ddl {
        ctx.violation(
            format!(
                "{verb} on {target} runs in the same transaction that holds {} on `{}`: that lock stays held for as long as the data change takes",
                held.mode, held.relation
            ),
            help,
        )
        .with_severity(Severity::Error)
    } else {
        ctx.violation(
            format!("{verb} on {target} in a schema migration holds row locks on every row it touches until the statement (or transaction) ends, bloats the table and floods the WAL"),
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
