//! ADD PRIMARY KEY builds its index under ACCESS EXCLUSIVE; PRIMARY KEY USING INDEX on nullable
//! columns scans for NULLs under it.

use super::{takes_lock, OpContext, Rule, Severity, Violation};
use crate::ir::{ConstraintKind, OpKind};
use crate::locks::{LockMode, Work};

pub const RULE: Rule = Rule::on_op(
    "add-primary-key-builds-index",
    Severity::Error,
    "adding a primary key builds its index (or scans nullable columns) while blocking reads and writes",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let (table, columns, using_index) = match &ctx.op.kind {
        OpKind::AddConstraint { table, constraint } => match &constraint.kind {
            ConstraintKind::PrimaryKey { columns, using_index } => (table, columns.clone(), using_index.is_some()),
            _ => return,
        },
        OpKind::AddColumn { table, column }
            if column.constraints.iter().any(|c| matches!(c.kind, ConstraintKind::PrimaryKey { .. })) =>
        {
            (table, vec![column.name.clone()], false)
        }
        _ => return,
    };
    if ctx.is_new_table(table) {
        return;
    }
    let cols = columns.join(", ");
    let lock = takes_lock(LockMode::AccessExclusive, table);
    if using_index {
        if ctx.work_on(table) != Some(Work::Scan) {
            return;
        }
        out.push(ctx.violation(
            format!("PRIMARY KEY USING INDEX on nullable column(s) {cols} of `{table}` first scans the table for NULLs (an implicit SET NOT NULL), and {lock} for the whole scan"),
            format!("make the columns NOT NULL first without a scan: `ADD CONSTRAINT … CHECK ({cols} IS NOT NULL) NOT VALID`, `VALIDATE CONSTRAINT` in its own transaction, then add the primary key USING INDEX"),
        ));
    } else {
        out.push(ctx.violation(
            format!("adding a PRIMARY KEY on `{table}` ({cols}) builds its unique index and {lock} for the whole build"),
            format!(
                "`CREATE UNIQUE INDEX CONCURRENTLY {}_pkey ON {table} ({cols});` outside a transaction, make the columns NOT NULL with the CHECK … NOT VALID recipe, then `ALTER TABLE {table} ADD CONSTRAINT {}_pkey PRIMARY KEY USING INDEX {}_pkey;`",
                table.name, table.name, table.name
            ),
        ));
    }
}
