//! A foreign key whose columns lead no index by the end of the migrations.

use super::{Category, Rule, Severity, Violation};
use crate::catalog::Catalog;
use crate::ir::{ConstraintKind, Migration, Span};

pub const RULE: Rule = Rule {
    id: "unindexed-foreign-key",
    severity: Severity::Warning,
    category: Category::Locks,
    summary:
        "a foreign key with no index on its columns: deletes and key updates on the referenced table scan this one",
    check: None,
    end_of_migration: None,
    end_of_run: Some(end_of_run),
};

fn end_of_run(catalog: &Catalog, migrations: &[Migration], out: &mut Vec<(usize, Violation)>) {
    let mut tables: Vec<_> = catalog.tables().collect();
    tables.sort_by(|a, b| a.name.cmp(&b.name));
    for table in tables {
        for constraint in &table.constraints {
            let ConstraintKind::ForeignKey { columns, references, .. } = &constraint.kind else { continue };
            let Some(origin) = constraint.origin else { continue };
            if columns.is_empty() || catalog.has_index_covering(&table.name, columns) {
                continue;
            }
            let migration = &migrations[origin.migration];
            let span =
                migration.ops.iter().find(|op| op.statement == origin.statement).map_or(Span::default(), |op| op.span);
            let cols = columns.join(", ");
            let mut violation = Violation::at(
                span,
                format!(
                    "foreign key `{}` on `{}` ({cols}) has no index leading with its columns after all migrations: every DELETE or key UPDATE on `{references}` scans `{}` while holding row locks",
                    constraint.name, table.name, table.name
                ),
                format!(
                    "`CREATE INDEX CONCURRENTLY {}_{}_idx ON {} ({cols});` in a migration that runs outside a transaction",
                    table.name.name,
                    columns.join("_"),
                    table.name
                ),
            );
            violation.statement = Some(origin.statement);
            out.push((origin.migration, violation));
        }
    }
}
