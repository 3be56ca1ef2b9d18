//! Integer keys that will overflow: 32-bit (or 16-bit) primary keys, identities and foreign keys.

use super::{declared_columns, OpContext, Rule, Severity, Violation};
use crate::ir::ConstraintKind;

pub const RULE: Rule = Rule::on_op(
    "prefer-bigint",
    Severity::Info,
    "integer/smallint primary keys, identity and foreign-key columns overflow; widening them later rewrites the table",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    for (table, column) in declared_columns(&ctx.op.kind) {
        if !matches!(column.ty.name.as_str(), "integer" | "smallint") {
            continue;
        }
        let key = column.identity
            || column
                .constraints
                .iter()
                .any(|c| matches!(c.kind, ConstraintKind::PrimaryKey { .. } | ConstraintKind::ForeignKey { .. }))
            || column.name == "id"
            || column.name.ends_with("_id");
        if !key {
            continue;
        }
        out.push(ctx.violation(
            format!(
                "`{table}.{}` is a key column of type {}: it runs out at {}, and changing it to bigint later rewrites the table (and every table referencing it) under ACCESS EXCLUSIVE",
                column.name,
                column.ty,
                if column.ty.name == "smallint" { "32,767" } else { "2,147,483,647" }
            ),
            format!("declare it `bigint` now{}", if column.serial { " (`bigint GENERATED ALWAYS AS IDENTITY`)" } else { "" }),
        ));
    }
}
