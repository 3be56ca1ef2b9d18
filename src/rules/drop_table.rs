//! DROP TABLE / SCHEMA / DATABASE: data loss, and locks on referenced tables.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::{DroppedObject, OpKind, QualifiedName};

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
            let mut others: Vec<&QualifiedName> = vec![];
            for e in ctx.effects.iter().filter(|e| !tables.contains(&e.relation)) {
                if !others.contains(&&e.relation) {
                    others.push(&e.relation);
                }
            }
            let strongest = others.iter().filter_map(|r| ctx.lock_on(r)).map(|e| e.mode).max();
            let also = match strongest {
                None => String::new(),
                Some(mode) => format!(
                    "; it also takes {} (the foreign keys between them go, with their triggers), which {} there",
                    ctx.locks_on(others.iter().copied()),
                    mode.blocks()
                ),
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
