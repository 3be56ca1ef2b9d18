//! Commands whose whole purpose is to rewrite or move a table under ACCESS EXCLUSIVE.

use super::{takes_lock, OpContext, Rule, Severity, Violation};
use crate::ir::{OpKind, TableAction};
use crate::locks::LockMode;

pub const RULE: Rule = Rule::on_op(
    "table-rewrite-command",
    Severity::Error,
    "VACUUM FULL, CLUSTER, SET TABLESPACE, SET LOGGED/UNLOGGED and SET ACCESS METHOD rewrite or copy the table",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let (command, help) = match &ctx.op.kind {
        OpKind::VacuumFull { .. } => ("VACUUM FULL", "use pg_repack (or pg_squeeze) to compact the table online"),
        OpKind::Cluster { .. } => ("CLUSTER", "use pg_repack --order-by to re-sort the table online"),
        OpKind::AlterTable { action, .. } => match action {
            TableAction::SetTablespace => ("SET TABLESPACE", "create the new table in the target tablespace and copy the rows in batches, or use pg_repack --tablespace"),
            TableAction::SetLogged => ("SET LOGGED", "create the table LOGGED from the start; converting later rewrites it and writes it all to the WAL"),
            TableAction::SetUnlogged => ("SET UNLOGGED", "create a new UNLOGGED table and copy into it; converting rewrites the table"),
            TableAction::SetAccessMethod => ("SET ACCESS METHOD", "create a table with the new access method and copy the rows in batches"),
            _ => return,
        },
        _ => return,
    };
    let Some(effect) = ctx.effects.iter().find(|e| !ctx.is_new_table(&e.relation)) else { return };
    out.push(ctx.violation(
        format!(
            "{command} {} of `{}`, and {} until it finishes",
            if command == "SET TABLESPACE" { "copies every file" } else { "rewrites every row and index" },
            effect.relation,
            takes_lock(LockMode::AccessExclusive, &effect.relation)
        ),
        help,
    ));
}
