//! A schema change that `lockgate apply` would run through a safe recipe, in a Django or
//! Alembic migration that also holds code only the framework can run (RunPython, SQL built by
//! Python): apply runs such a migration whole with the framework's own command, so the change
//! runs as the framework writes it.

use super::{takes_lock, Category, OpContext, Rule, Severity, Violation};
use crate::ir::{ConstraintDef, ConstraintKind, DataChangeKind, Framework, Op, OpKind};

pub const RULE: Rule = Rule::on_op(
    "schema-change-beside-code",
    Category::Locks,
    Severity::Info,
    "a schema change that has a safe recipe, in a migration whose code only the framework can run: it runs as written",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    if ctx.framework() == Framework::Sql || !has_recipe(&ctx.op.kind) {
        return;
    }
    let Some(table) = ctx.op.kind.table().filter(|t| !ctx.is_new_table(t)) else { return };
    let Some(code) = ctx.migration.ops.iter().find(|op| is_code(op)) else { return };
    let Some(effect) = ctx.lock_on(table) else { return };
    let (line, _) = ctx.migration.source.line_col(code.span.start);
    let (runner, split) = match ctx.framework() {
        Framework::Django => ("`manage.py migrate`", "a migration of its own"),
        _ => ("`alembic upgrade`", "a revision of its own"),
    };
    out.push(ctx.violation(
        format!(
            "this migration also runs code lockgate cannot see into (line {line}), so `lockgate apply` runs it whole with \
             {runner}, where this change runs as the framework writes it and {} instead of going through \
             lockgate's safe recipe",
            takes_lock(effect.mode, table)
        ),
        format!("move the schema change into {split}, before or after the code, so `lockgate apply` plans it"),
    ));
}

/// Code the framework runs at migrate time, which lockgate cannot write as SQL (a RunPython
/// that changes no rows included: only the framework can run it either).
fn is_code(op: &Op) -> bool {
    matches!(op.kind, OpKind::DataChange { kind: DataChangeKind::Code, .. } | OpKind::Opaque { .. })
        || matches!(&op.kind, OpKind::Other { tag } if tag == crate::ir::CODE_CHANGING_NO_ROWS)
}

/// Changes the executor rewrites on an existing table (src/plan/recipes.rs): indexes built and
/// dropped concurrently, constraints added NOT VALID then validated, NOT NULL through a
/// validated CHECK, type changes through a new column.
fn has_recipe(kind: &OpKind) -> bool {
    matches!(
        kind,
        OpKind::CreateIndex { concurrently: false, .. }
            | OpKind::DropIndex { concurrently: false, .. }
            | OpKind::SetNotNull { .. }
            | OpKind::AlterColumnType { .. }
    ) || matches!(kind, OpKind::AddConstraint { constraint, .. } if constraint_has_recipe(constraint))
}

/// Foreign keys and CHECKs not yet NOT VALID are added NOT VALID then validated; UNIQUE and
/// PRIMARY KEY not over an existing index get their index built concurrently first. The rest
/// (EXCLUDE, NOT VALID already, USING INDEX) run as written.
fn constraint_has_recipe(constraint: &ConstraintDef) -> bool {
    match &constraint.kind {
        ConstraintKind::ForeignKey { .. } | ConstraintKind::Check { .. } => !constraint.not_valid,
        ConstraintKind::Unique { using_index, .. } | ConstraintKind::PrimaryKey { using_index, .. } => {
            using_index.is_none()
        }
        ConstraintKind::Exclusion | ConstraintKind::NotNull { .. } => false,
    }
}
