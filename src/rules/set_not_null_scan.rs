//! ALTER COLUMN … SET NOT NULL (or, on PostgreSQL 18, ADD CONSTRAINT … NOT NULL without NOT
//! VALID) scans the whole table under ACCESS EXCLUSIVE.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::{ConstraintKind, Framework, OpKind, QualifiedName};
use crate::locks::Work;
use crate::postgres::Feature;

pub const RULE: Rule = Rule::on_op(
    "set-not-null-scan",
    Category::Locks,
    Severity::Error,
    "SET NOT NULL scans the whole table while blocking reads and writes",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    match &ctx.op.kind {
        OpKind::SetNotNull { table, column } => set_not_null(ctx, table, column, out),
        OpKind::AddConstraint { table, constraint, .. } => {
            let ConstraintKind::NotNull { column } = &constraint.kind else { return };
            if constraint.not_valid || ctx.is_new_table(table) || already_not_null(ctx, table, column) {
                return;
            }
            let name = constraint.name.clone().unwrap_or_else(|| format!("{}_{column}_not_null", table.name));
            out.push(ctx.violation(
                format!(
                    "adding NOT NULL constraint `{name}` validates `{table}.{column}` by scanning every row, and {} for the whole scan",
                    ctx.takes_lock_on(table)
                ),
                format!(
                    "add it with NOT VALID: `ALTER TABLE {table} ADD CONSTRAINT {name} NOT NULL {column} NOT VALID;` (catalog-only; new rows are checked at once), then in a separate transaction `ALTER TABLE {table} VALIDATE CONSTRAINT {name};` ({}: reads and writes continue)",
                    validate_lock(ctx, table, &name)
                ),
            ));
        }
        _ => {}
    }
}

fn set_not_null(ctx: &OpContext, table: &QualifiedName, column: &str, out: &mut Vec<Violation>) {
    if ctx.is_new_table(table) || ctx.work_on(table) != Some(Work::Scan) || already_not_null(ctx, table, column) {
        return;
    }
    let pg = ctx.settings.pg_version;
    let sql_recipe = if pg.supports(Feature::NotNullNotValid) {
        format!(
            "on PostgreSQL 18: `ALTER TABLE {table} ADD CONSTRAINT {column}_not_null NOT NULL {column} NOT VALID;` then, in a separate transaction, `ALTER TABLE {table} VALIDATE CONSTRAINT {column}_not_null;` ({}: reads and writes continue)",
            validate_lock(ctx, table, &format!("{column}_not_null"))
        )
    } else if pg.supports(Feature::SetNotNullFromCheck) {
        format!(
            "`ALTER TABLE {table} ADD CONSTRAINT {column}_not_null CHECK ({column} IS NOT NULL) NOT VALID;` then, in a separate transaction, `VALIDATE CONSTRAINT {column}_not_null;`, then `SET NOT NULL` (no scan: the valid CHECK proves it) and `DROP CONSTRAINT {column}_not_null`"
        )
    } else {
        "before PostgreSQL 12 SET NOT NULL always scans; keep a validated `CHECK (col IS NOT NULL)` constraint instead of NOT NULL until you upgrade".to_string()
    };
    let help = match ctx.framework() {
        Framework::Sql => sql_recipe,
        Framework::Django => format!(
            "add `CheckConstraint(condition=Q({column}__isnull=False), ...)` with `AddConstraintNotValid`, `ValidateConstraint` in a later migration, then the AlterField to null=False ({sql_recipe})"
        ),
        Framework::Alembic => format!(
            "`op.create_check_constraint(..., postgresql_not_valid=True)`, VALIDATE it in a later revision with `op.execute`, then `op.alter_column(..., nullable=False)` ({sql_recipe})"
        ),
    };
    out.push(ctx.violation(
        format!(
            "SET NOT NULL on `{table}.{column}` scans every row to check for NULLs, and {} for the whole scan",
            ctx.takes_lock_on(table)
        ),
        help,
    ));
}

/// The lock of the VALIDATE CONSTRAINT the help proposes, as the lock table gives it.
fn validate_lock(ctx: &OpContext, table: &QualifiedName, name: &str) -> String {
    ctx.lock_of(&OpKind::ValidateConstraint { table: table.clone(), name: name.to_string() })
}

/// A validated PostgreSQL 18 NOT NULL constraint already makes the column NOT NULL: SET NOT
/// NULL is then a no-op that reads no rows.
fn already_not_null(ctx: &OpContext, table: &QualifiedName, column: &str) -> bool {
    ctx.catalog.table(table).is_some_and(|t| {
        t.column(column).is_some_and(|c| c.not_null)
            || t.constraints
                .iter()
                .any(|c| c.validated && matches!(&c.kind, ConstraintKind::NotNull { column: col } if col == column))
    })
}
