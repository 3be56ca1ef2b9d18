//! Commands whose whole purpose is to rewrite or move a table under ACCESS EXCLUSIVE.

use super::{with_article, Category, OpContext, Rule, Severity, Violation};
use crate::ir::{OpKind, TableAction};
use crate::postgres::LockMode;

pub const RULE: Rule = Rule::on_op(
    "table-rewrite-command",
    Category::Locks,
    Severity::Error,
    "VACUUM FULL, CLUSTER, SET TABLESPACE, SET LOGGED/UNLOGGED and SET ACCESS METHOD rewrite or copy the table",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let (command, help) = match &ctx.op.kind {
        OpKind::VacuumFull { .. } => ("VACUUM FULL", "use pg_repack (or pg_squeeze) to compact the table online"),
        OpKind::Cluster { .. } => ("CLUSTER", "use `pg_repack --order-by` to re-sort the table online"),
        OpKind::AlterTable { action, .. } => match action {
            TableAction::SetTablespace => (
                "SET TABLESPACE",
                "use `pg_repack --tablespace`, or create a new table in the target tablespace and copy the rows in batches",
            ),
            TableAction::SetLogged => (
                "SET LOGGED",
                "create the table LOGGED from the start; converting it later rewrites it and writes all of it to the WAL",
            ),
            TableAction::SetUnlogged => {
                ("SET UNLOGGED", "create a new UNLOGGED table and copy the rows into it in batches")
            }
            TableAction::SetAccessMethod => {
                ("SET ACCESS METHOD", "create a table with the new access method and copy the rows in batches")
            }
            _ => return,
        },
        _ => return,
    };
    let work = if command == "SET TABLESPACE" {
        "copies the table's data files (its indexes stay where they are)"
    } else {
        "rewrites every row and rebuilds every index"
    };
    let tables: Vec<String> =
        ctx.effects.iter().filter(|e| !ctx.is_new_table(&e.relation)).map(|e| format!("`{}`", e.relation)).collect();
    let target = if !tables.is_empty() {
        tables.join(", ")
    } else if ctx.effects.is_empty() {
        // `VACUUM FULL;` and `CLUSTER;` without a table name.
        match command {
            "CLUSTER" => "every table clustered before".to_string(),
            _ => "every table of the database".to_string(),
        }
    } else {
        return; // only tables created in this migration
    };
    // Without a table name the lock table names no relation; each table gets what a named one
    // gets.
    let mode = ctx.effects.iter().map(|e| e.mode).max().unwrap_or(LockMode::AccessExclusive);
    out.push(ctx.violation(
        format!(
            "{command} {work} of {target}, holding {} lock ({}) until it finishes",
            with_article(mode),
            mode.blocks()
        ),
        help,
    ));
}
