//! Identifiers longer than 63 bytes, which PostgreSQL silently truncates.

use super::{declared_columns, OpContext, Rule, Severity, Violation};
use crate::ir::OpKind;

pub const RULE: Rule = Rule::on_op(
    "identifier-too-long",
    Severity::Warning,
    "names longer than 63 bytes are silently truncated, so later migrations that use the full name fail",
    check,
);

const MAX_IDENTIFIER_BYTES: usize = 63;

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let mut names: Vec<&str> = declared_columns(&ctx.op.kind).into_iter().map(|(_, c)| c.name.as_str()).collect();
    match &ctx.op.kind {
        OpKind::CreateTable { table, .. } | OpKind::CreateTableAs { table, .. } => names.push(&table.name),
        OpKind::CreateIndex { name: Some(name), .. }
        | OpKind::RenameTable { new_name: name, .. }
        | OpKind::RenameColumn { new_name: name, .. }
        | OpKind::RenameIndex { new_name: name, .. } => names.push(name),
        OpKind::AddConstraint { constraint, .. } => names.extend(constraint.name.as_deref()),
        _ => {}
    }
    for name in names.into_iter().filter(|n| n.len() > MAX_IDENTIFIER_BYTES) {
        let mut cut = MAX_IDENTIFIER_BYTES;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push(ctx.violation(
            format!("`{name}` is {} bytes; PostgreSQL silently truncates it to `{}`", name.len(), &name[..cut]),
            format!("use a name of at most {MAX_IDENTIFIER_BYTES} bytes"),
        ));
    }
}
