//! DROP TABLE / SCHEMA / DATABASE: data loss, and locks on referenced tables.

use super::{OpContext, Rule, Severity, Violation};
use crate::ir::{DroppedObject, OpKind};

pub const RULE: Rule = Rule::on_op(
    "drop-table",
    Severity::Warning,
    "dropping a table, schema or database loses data and breaks code that still uses it",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let message = match &ctx.op.kind {
        OpKind::DropTable { tables, .. } => {
            let old: Vec<String> = tables.iter().filter(|t| !ctx.is_new_table(t)).map(ToString::to_string).collect();
            if old.is_empty() {
                return;
            }
            let referenced: Vec<String> =
                ctx.effects.iter().filter(|e| !tables.contains(&e.relation)).map(|e| e.relation.to_string()).collect();
            let also = if referenced.is_empty() {
                String::new()
            } else {
                format!("; it also takes ACCESS EXCLUSIVE on {} (its foreign keys' triggers are removed), blocking every query there", referenced.join(", "))
            };
            format!("dropping {} deletes its data, and code that still queries it fails{also}", old.join(", "))
        }
        OpKind::Drop { object: DroppedObject::Schema, names } => {
            format!("dropping schema {} deletes every object in it", names.join(", "))
        }
        OpKind::Drop { object: DroppedObject::Database, names } => {
            format!("dropping database {} deletes all of it", names.join(", "))
        }
        _ => return,
    };
    out.push(ctx.violation(
        message,
        "drop it only in a release after every deployed version has stopped using it (the contract phase), with a snapshot taken first",
    ));
}
