//! DROP TABLE / SCHEMA / DATABASE: data loss, and locks on referenced tables.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::{DroppedObject, OpKind};

pub const RULE: Rule = Rule::on_op(
    "drop-table",
    Category::Compatibility,
    Severity::Warning,
    "dropping a table, schema or database loses data and breaks code that still uses it",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let message = match &ctx.op.kind {
        OpKind::DropTable { tables, .. } => {
            let old: Vec<String> = tables.iter().filter(|t| !ctx.is_new_table(t)).map(|t| format!("`{t}`")).collect();
            if old.is_empty() {
                return;
            }
            let mut others: Vec<String> = vec![];
            for e in ctx.effects.iter().filter(|e| !tables.contains(&e.relation)) {
                let name = format!("`{}`", e.relation);
                if !others.contains(&name) {
                    others.push(name);
                }
            }
            let also = if others.is_empty() {
                String::new()
            } else {
                format!("; it also takes ACCESS EXCLUSIVE on {} (the foreign keys between them go, with their triggers), blocking every query there", others.join(", "))
            };
            format!("dropping {} deletes its data, and code that still queries it fails{also}", old.join(", "))
        }
        OpKind::Drop { object: DroppedObject::Schema, names } => {
            format!("dropping schema `{}` deletes every object in it", names.join("`, `"))
        }
        OpKind::Drop { object: DroppedObject::Database, names } => {
            format!("dropping database `{}` deletes all of it", names.join("`, `"))
        }
        _ => return,
    };
    out.push(ctx.violation(
        message,
        "drop it only in a release after every deployed version has stopped using it (the contract phase), with a snapshot taken first",
    ));
}
