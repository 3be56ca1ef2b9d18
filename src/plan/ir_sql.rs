//! The SQL Django's and Alembic's PostgreSQL backends send for an op, rebuilt from the IR so the
//! executor can run migrations of those frameworks itself.
//!
//! What each framework writes is in the `ddl`/`editor` fields the Django and Alembic front ends
//! fill (see `crate::ir::ColumnDdl` and friends); ops read from SQL text carry none, and their
//! SQL is their statement text. Identifiers are always double-quoted, as Django quotes them;
//! SQLAlchemy quotes only the names that need it, which names the same objects. Alembic's
//! CREATE TABLE is written on one line (SQLAlchemy puts each element on a line of its own).
//!
//! Where the IR cannot say what the framework sends — code that runs at migrate time, a value
//! Python computes then, a detail the IR does not keep — the answer is an error that says so,
//! never a guess.
//!
//! Each op gives its own statements: Django runs the actions of one AlterField as a single
//! `ALTER TABLE … , …`, which comes out here as one ALTER TABLE per action, in Django's order.
//! Statements of SQL text inside Python (RunSQL, `op.execute`) keep their text in
//! `Op::embedded_sql`, which the planner runs as written; they are not asked about here.

use crate::catalog::Catalog;
use crate::ir::{
    quote_identifier as ident, quote_relation as relation, ColumnDdl, ColumnDef, ConstraintDdl, ConstraintDef,
    ConstraintKind, DataChangeKind, Editor, IndexDdl, OpKind, QualifiedName, TransactionControl,
};

/// The SQL statements Django's or Alembic's PostgreSQL backend runs for this op, or why they
/// cannot be known statically.
pub fn statements(op: &OpKind, catalog: &Catalog) -> Result<Vec<String>, String> {
    match op {
        OpKind::CreateTable { table, columns, constraints, if_not_exists, ddl, .. } => {
            let ddl = ddl.as_ref().ok_or_else(|| from_sql("CREATE TABLE"))?;
            refuse(&ddl.unknown, "CREATE TABLE")?;
            match ddl.editor {
                Editor::Django => django_create_table(table, columns, constraints),
                Editor::Alembic => alembic_create_table(table, columns, constraints, &ddl.constraints, *if_not_exists),
            }
        }
        OpKind::AddColumn { table, column } => add_column(table, column),
        OpKind::DropColumn { table, column, editor } => drop_column(table, column, *editor, catalog),
        OpKind::RenameColumn { table, column, new_name, editor } => {
            let keyword = match editor.ok_or_else(|| from_sql("RENAME COLUMN"))? {
                Editor::Django => "RENAME COLUMN",
                // Alembic's `visit_column_name`: `ALTER TABLE t RENAME c TO d`.
                Editor::Alembic => "RENAME",
            };
            Ok(vec![format!("ALTER TABLE {} {keyword} {} TO {}", relation(table), ident(column), ident(new_name))])
        }
        OpKind::AlterColumnType { table, column, ddl, .. } => {
            let ddl = ddl.as_ref().ok_or_else(|| from_sql("ALTER COLUMN … TYPE"))?;
            refuse(&ddl.unknown, &format!("the type change of `{column}`"))?;
            let using = ddl.using.as_ref().map(|u| format!(" USING {u}")).unwrap_or_default();
            Ok(vec![format!("ALTER TABLE {} ALTER COLUMN {} TYPE {}{using}", relation(table), ident(column), ddl.ty)])
        }
        OpKind::SetNotNull { table, column } => {
            Ok(vec![format!("ALTER TABLE {} ALTER COLUMN {} SET NOT NULL", relation(table), ident(column))])
        }
        OpKind::DropNotNull { table, column, editor } => {
            editor.ok_or_else(|| from_sql("DROP NOT NULL"))?;
            Ok(vec![format!("ALTER TABLE {} ALTER COLUMN {} DROP NOT NULL", relation(table), ident(column))])
        }
        OpKind::SetDefault { table, column, default, ddl } => {
            let ddl = ddl.as_ref().ok_or_else(|| from_sql("ALTER COLUMN … DEFAULT"))?;
            refuse(&ddl.unknown, &format!("the default of `{column}`"))?;
            let change = match (default, &ddl.default) {
                (None, _) => "DROP DEFAULT".to_string(),
                (Some(_), Some(sql)) => format!("SET DEFAULT {sql}"),
                (Some(_), None) => return Err(format!("the new default of `{column}` is not known as SQL")),
            };
            Ok(vec![format!("ALTER TABLE {} ALTER COLUMN {} {change}", relation(table), ident(column))])
        }
        OpKind::AddConstraint { table, constraint, ddl } => add_constraint(table, constraint, ddl.as_deref()),
        OpKind::ValidateConstraint { table, name } => {
            Ok(vec![format!("ALTER TABLE {} VALIDATE CONSTRAINT {}", relation(table), ident(name))])
        }
        OpKind::DropConstraint { table, name, editor } => drop_constraint(table, name, *editor, catalog),
        OpKind::CreateIndex { name, table, columns, unique, concurrently, partial, ddl, .. } => {
            let ddl = ddl.as_ref().ok_or_else(|| from_sql("CREATE INDEX"))?;
            let name = name.as_ref().ok_or("an index without a name: its name is chosen when the migration runs")?;
            refuse(&ddl.unknown, &format!("index `{name}`"))?;
            create_index(name, table, columns, *unique, *concurrently, *partial, ddl).map(|sql| vec![sql])
        }
        OpKind::DropIndex { indexes, concurrently, if_exists, editor } => {
            editor.ok_or_else(|| from_sql("DROP INDEX"))?;
            let [index] = &indexes[..] else { return Err(from_sql("a DROP INDEX of several indexes")) };
            let concurrently = if *concurrently { "CONCURRENTLY " } else { "" };
            let if_exists = if *if_exists { "IF EXISTS " } else { "" };
            Ok(vec![format!("DROP INDEX {concurrently}{if_exists}{}", relation(index))])
        }
        OpKind::RenameIndex { index, new_name, editor } => {
            editor.ok_or_else(|| from_sql("ALTER INDEX … RENAME"))?;
            Ok(vec![format!("ALTER INDEX {} RENAME TO {}", relation(index), ident(new_name))])
        }
        OpKind::RenameTable { table, new_name } => {
            Ok(vec![format!("ALTER TABLE {} RENAME TO {}", relation(table), ident(new_name))])
        }
        OpKind::DropTable { tables, cascade, editor } => {
            editor.ok_or_else(|| from_sql("DROP TABLE"))?;
            // Django's `delete_model` drops each table (join tables first) in a statement of its own.
            let cascade = if *cascade { " CASCADE" } else { "" };
            Ok(tables.iter().map(|t| format!("DROP TABLE {}{cascade}", relation(t))).collect())
        }
        OpKind::CreateEnum { name, labels } => {
            let labels = labels.as_ref().ok_or_else(|| {
                format!("CREATE TYPE {name} AS ENUM: its labels come from a Python enum class, known when the migration runs")
            })?;
            let labels: Vec<String> = labels.iter().map(|l| format!("'{}'", l.replace('\'', "''"))).collect();
            Ok(vec![format!("CREATE TYPE {} AS ENUM ({})", relation(name), labels.join(", "))])
        }
        OpKind::Transaction(control) => match control {
            // Alembic's autocommit_block() commits the transaction it holds and begins another.
            TransactionControl::Begin => Ok(vec!["BEGIN".into()]),
            TransactionControl::Commit => Ok(vec!["COMMIT".into()]),
            TransactionControl::Rollback => Ok(vec!["ROLLBACK".into()]),
            TransactionControl::Savepoint(_)
            | TransactionControl::Release(_)
            | TransactionControl::RollbackTo(_)
            | TransactionControl::Other => Err(from_sql("transaction control")),
        },
        OpKind::DataChange { kind: DataChangeKind::Code, .. } => {
            Err("code run at migrate time (RunPython, a DO block): what it sends is decided when it runs".into())
        }
        OpKind::DataChange { kind, .. } => Err(format!(
            "a data change ({kind:?}): its SQL is the text of the statement that wrote it, or values \
             (Django's backfill of NULLs, Alembic's bulk_insert rows) that the op does not keep"
        )),
        OpKind::Opaque { what } => Err(format!("{what}: lockgate cannot see what it runs")),
        OpKind::Unparsed { reason } => Err(format!("lockgate could not read this operation: {reason}")),
        OpKind::Other { tag } => other(tag),
        OpKind::Comment { .. } => Err("COMMENT ON: the comment's text is not kept on the op".into()),
        OpKind::AlterTable { .. } => Err(from_sql("this ALTER TABLE action")),
        other => {
            let kind = format!("{other:?}");
            Err(from_sql(kind.split([' ', '(']).next().unwrap_or("this statement")))
        }
    }
}

/// The error for an op that came from SQL text rather than from a framework operation.
fn from_sql(what: &str) -> String {
    format!(
        "{what} was read from SQL text (a SQL file, RunSQL or op.execute), not from a Django or Alembic \
         operation: its SQL is that statement's text, which the op does not keep"
    )
}

fn refuse(unknown: &Option<String>, what: &str) -> Result<(), String> {
    match unknown {
        Some(why) => Err(format!("{what}: {why}")),
        None => Ok(()),
    }
}

/// ` NULLS NOT DISTINCT` / ` NULLS DISTINCT`, as both frameworks write it when asked.
fn nulls_sql(nulls_distinct: Option<bool>) -> &'static str {
    match nulls_distinct {
        Some(false) => " NULLS NOT DISTINCT",
        Some(true) => " NULLS DISTINCT",
        None => "",
    }
}

fn column_list(columns: &[String]) -> String {
    columns.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ")
}

/// Tags the front ends give operations that reach the database with no statement at all.
fn other(tag: &str) -> Result<Vec<String>, String> {
    let silent = tag.ends_with("(no database change)")
        || matches!(
            tag,
            "SeparateDatabaseAndState (state only)"
                | "alter_column with no change for PostgreSQL"
                | "AlterModelOptions"
                | "AlterModelManagers"
                | "AlterConstraint"
        );
    if silent {
        return Ok(vec![]);
    }
    match tag {
        crate::ir::CODE_CHANGING_NO_ROWS => {
            Err("code run at migrate time (RunPython): what it does is decided when it runs".into())
        }
        "AlterModelTableComment" => Err("AlterModelTableComment: the comment's text is not kept on the op".into()),
        "AlterOrderWithRespectTo" => {
            Err("AlterOrderWithRespectTo: Django adds or drops an `_order` column the op does not describe".into())
        }
        "CreateExtension" | "BloomExtension" | "BtreeGinExtension" | "BtreeGistExtension" | "CITextExtension"
        | "CryptoExtension" | "HStoreExtension" | "TrigramExtension" | "UnaccentExtension" => Err(format!(
            "{tag}: Django first asks the database whether the extension exists, and the op does not keep its name"
        )),
        "CreateCollation" | "RemoveCollation" => {
            Err(format!("{tag}: the collation's definition is not kept on the op"))
        }
        _ => Err(from_sql(&format!("`{tag}`"))),
    }
}

/// The framework-specific parts of a column, refusing when they are only known at run time.
fn column_ddl(column: &ColumnDef, editor: Editor) -> Result<&ColumnDdl, String> {
    let ddl = column.ddl.as_ref().ok_or_else(|| from_sql(&format!("column `{}`", column.name)))?;
    refuse(&ddl.unknown, &format!("column `{}`", column.name))?;
    if ddl.editor != editor || ddl.constraints.len() != column.constraints.len() {
        return Err(format!("column `{}` was lowered inconsistently", column.name));
    }
    Ok(ddl)
}

/// `CREATE TABLE "t" ("id" bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY, …)`
/// (`BSE.table_sql`), then the LIKE indexes of its unique or indexed varchar/text columns, which
/// no op of their own stands for (Django builds them at the end of the migration, with the
/// field indexes; the table is new and empty either way).
fn django_create_table(
    table: &QualifiedName,
    columns: &[ColumnDef],
    constraints: &[ConstraintDef],
) -> Result<Vec<String>, String> {
    if !constraints.is_empty() {
        return Err("a Django CREATE TABLE with table-level constraints lockgate does not write".into());
    }
    let mut definitions = vec![];
    let mut indexes = vec![];
    for column in columns {
        let ddl = column_ddl(column, Editor::Django)?;
        let mut parts = django_column(column, ddl);
        // table_sql: the column's CHECK, then the identity suffix.
        parts.extend(django_checks(column)?);
        parts.extend(ddl.identity.clone());
        definitions.push(format!("{} {}", ident(&column.name), parts.join(" ")));
        indexes.extend(pattern_index(table, column, ddl));
    }
    let mut out = vec![format!("CREATE TABLE {} ({})", relation(table), definitions.join(", "))];
    out.extend(indexes);
    Ok(out)
}

/// `<type> [COLLATE "x"] [DEFAULT …] NOT NULL|NULL [PRIMARY KEY|UNIQUE]` (`BSE._iter_column_sql`).
fn django_column(column: &ColumnDef, ddl: &ColumnDdl) -> Vec<String> {
    let mut parts = vec![ddl.ty.clone()];
    if let Some(collation) = &ddl.collation {
        parts.push(format!("COLLATE {}", ident(collation)));
    }
    if let Some(default) = &ddl.default {
        parts.push(format!("DEFAULT {default}"));
    }
    parts.push(if column.not_null { "NOT NULL" } else { "NULL" }.to_string());
    let key = column.constraints.iter().find_map(|c| match c.kind {
        ConstraintKind::PrimaryKey { .. } => Some("PRIMARY KEY"),
        ConstraintKind::Unique { .. } => Some("UNIQUE"),
        _ => None,
    });
    parts.extend(key.map(str::to_string));
    parts
}

/// The CHECK a Positive* field writes on its column.
fn django_checks(column: &ColumnDef) -> Result<Vec<String>, String> {
    let ddl = column.ddl.as_ref().map(|d| d.constraints.as_slice()).unwrap_or_default();
    column
        .constraints
        .iter()
        .zip(ddl)
        .filter(|(c, _)| matches!(c.kind, ConstraintKind::Check { .. }))
        .map(|(_, d)| {
            d.check
                .as_ref()
                .map(|check| format!("CHECK ({check})"))
                .ok_or_else(|| format!("column `{}` has a CHECK whose expression is not known", column.name))
        })
        .collect()
}

/// `CREATE INDEX "<t>_<c>_<hash>_like" ON "t" ("c" varchar_pattern_ops)`.
fn pattern_index(table: &QualifiedName, column: &ColumnDef, ddl: &ColumnDdl) -> Option<String> {
    ddl.pattern_index.as_ref().map(|index| {
        format!(
            "CREATE INDEX {} ON {} ({} {})",
            ident(&index.name),
            relation(table),
            ident(&column.name),
            index.opclass
        )
    })
}

/// `CREATE TABLE t (id SERIAL NOT NULL, …, PRIMARY KEY (id), FOREIGN KEY(a) REFERENCES r (id))`
/// (`PGDDLCompiler.get_column_specification`, `visit_create_table`).
fn alembic_create_table(
    table: &QualifiedName,
    columns: &[ColumnDef],
    constraints: &[ConstraintDef],
    constraint_ddl: &[ConstraintDdl],
    if_not_exists: bool,
) -> Result<Vec<String>, String> {
    if constraints.len() != constraint_ddl.len() {
        return Err("the table's constraints were lowered inconsistently".into());
    }
    let mut elements = vec![];
    for column in columns {
        let ddl = column_ddl(column, Editor::Alembic)?;
        if !column.constraints.is_empty() {
            return Err(format!("column `{}` has inline constraints lockgate does not write", column.name));
        }
        elements.push(format!("{} {}", ident(&column.name), alembic_column(column, ddl)));
    }
    for (constraint, ddl) in constraints.iter().zip(constraint_ddl) {
        elements.push(constraint_sql(constraint, ddl)?);
    }
    let exists = if if_not_exists { "IF NOT EXISTS " } else { "" };
    Ok(vec![format!("CREATE TABLE {exists}{} ({})", relation(table), elements.join(", "))])
}

/// `<TYPE> [DEFAULT …] [GENERATED … AS IDENTITY] [NOT NULL]`: SQLAlchemy leaves NOT NULL off
/// identity columns and never writes NULL for the others.
fn alembic_column(column: &ColumnDef, ddl: &ColumnDdl) -> String {
    let mut parts = vec![ddl.ty.clone()];
    if let Some(default) = &ddl.default {
        parts.push(format!("DEFAULT {default}"));
    }
    if let Some(identity) = &ddl.identity {
        parts.push(identity.clone());
    } else if column.not_null {
        parts.push("NOT NULL".into());
    }
    parts.join(" ")
}

/// A table-level constraint as written inside CREATE TABLE or after ALTER TABLE … ADD.
fn constraint_sql(constraint: &ConstraintDef, ddl: &ConstraintDdl) -> Result<String, String> {
    let name = constraint.name.as_deref().unwrap_or("(unnamed)");
    refuse(&ddl.unknown, &format!("constraint `{name}`"))?;
    let prefix = constraint.name.as_ref().map(|n| format!("CONSTRAINT {} ", ident(n))).unwrap_or_default();
    let deferral = ddl.deferral.as_ref().map(|d| format!(" {d}")).unwrap_or_default();
    let body = match &constraint.kind {
        ConstraintKind::PrimaryKey { columns, using_index: None } => format!("PRIMARY KEY ({})", column_list(columns)),
        ConstraintKind::Unique { columns, using_index: None } => {
            format!("UNIQUE{} ({})", nulls_sql(ddl.nulls_distinct), column_list(columns))
        }
        ConstraintKind::ForeignKey { columns, references, referenced_columns } => {
            let mut text = format!(
                "FOREIGN KEY{}({}) REFERENCES {} ({})",
                if ddl.django { " " } else { "" },
                column_list(columns),
                relation(references),
                column_list(referenced_columns)
            );
            if let Some(action) = &ddl.on_delete {
                text.push_str(&format!(" ON DELETE {action}"));
            }
            if let Some(action) = &ddl.on_update {
                text.push_str(&format!(" ON UPDATE {action}"));
            }
            text
        }
        ConstraintKind::Check { not_null_column } => match (&ddl.check, not_null_column) {
            (Some(check), _) => format!("CHECK ({check})"),
            (None, Some(column)) => format!("CHECK ({} IS NOT NULL)", ident(column)),
            (None, None) => return Err(format!("constraint `{name}`: its CHECK expression is not known")),
        },
        _ => return Err(format!("constraint `{name}`: a kind lockgate does not write in CREATE TABLE")),
    };
    Ok(format!("{prefix}{body}{deferral}"))
}

fn add_column(table: &QualifiedName, column: &ColumnDef) -> Result<Vec<String>, String> {
    let ddl = column.ddl.as_ref().ok_or_else(|| from_sql("ADD COLUMN"))?;
    let ddl = column_ddl(column, ddl.editor)?;
    let head = format!("ALTER TABLE {} ADD COLUMN {}", relation(table), ident(&column.name));
    match ddl.editor {
        Editor::Alembic => {
            if !column.constraints.is_empty() {
                return Err(format!("column `{}` has inline constraints lockgate does not write", column.name));
            }
            Ok(vec![format!("{head} {}", alembic_column(column, ddl))])
        }
        Editor::Django => django_add_column(table, column, ddl, head),
    }
}

/// `BSE.add_field`: the column, its identity suffix, its CHECK, then an FK written inline and
/// made IMMEDIATE (`PSE.sql_create_column_inline_fk`, which Django sends as one string of two
/// statements; they are returned as two).
fn django_add_column(
    table: &QualifiedName,
    column: &ColumnDef,
    ddl: &ColumnDdl,
    head: String,
) -> Result<Vec<String>, String> {
    let mut parts = django_column(column, ddl);
    parts.extend(ddl.identity.clone());
    parts.extend(django_checks(column)?);
    let mut after = vec![];
    for (constraint, constraint_ddl) in column.constraints.iter().zip(&ddl.constraints) {
        let ConstraintKind::ForeignKey { references, referenced_columns, .. } = &constraint.kind else { continue };
        let name = constraint.name.as_ref().ok_or("an inline foreign key without a name")?;
        refuse(&constraint_ddl.unknown, &format!("foreign key `{name}`"))?;
        let on_delete = constraint_ddl.on_delete.as_ref().map(|a| format!(" ON DELETE {a}")).unwrap_or_default();
        let deferral = constraint_ddl.deferral.as_ref().map(|d| format!(" {d}")).unwrap_or_default();
        parts.push(format!(
            "CONSTRAINT {} REFERENCES {}({}){on_delete}{deferral}",
            ident(name),
            relation(references),
            column_list(referenced_columns)
        ));
        let namespace = table.schema.as_ref().map(|s| format!("{}.", ident(s))).unwrap_or_default();
        after.push(format!("SET CONSTRAINTS {namespace}{} IMMEDIATE", ident(name)));
    }
    let mut out = vec![format!("{head} {}", parts.join(" "))];
    out.extend(after);
    out.extend(pattern_index(table, column, ddl));
    Ok(out)
}

/// Django drops the column's foreign keys first, found in the database by column
/// (`BSE.remove_field`); DROP COLUMN has no CASCADE since Django 6.0.
fn drop_column(
    table: &QualifiedName,
    column: &str,
    editor: Option<Editor>,
    catalog: &Catalog,
) -> Result<Vec<String>, String> {
    let drop = format!("ALTER TABLE {} DROP COLUMN {}", relation(table), ident(column));
    match editor.ok_or_else(|| from_sql("DROP COLUMN"))? {
        Editor::Alembic => Ok(vec![drop]),
        Editor::Django => {
            let state = catalog.table(table).filter(|t| t.complete).ok_or_else(|| {
                format!(
                    "Django looks up the foreign keys of `{column}` in the database, and the catalog does not know \
                     all of `{table}`"
                )
            })?;
            let mut out = vec![];
            for constraint in &state.constraints {
                if let ConstraintKind::ForeignKey { columns, .. } = &constraint.kind {
                    if columns.len() == 1 && columns[0] == column {
                        out.extend(django_drop_foreign_key(table, &constraint.name));
                    }
                }
            }
            out.push(drop);
            Ok(out)
        }
    }
}

/// `PSE.sql_delete_fk`, sent as one string of two statements.
fn django_drop_foreign_key(table: &QualifiedName, name: &str) -> Vec<String> {
    vec![
        format!("SET CONSTRAINTS {} IMMEDIATE", ident(name)),
        format!("ALTER TABLE {} DROP CONSTRAINT {}", relation(table), ident(name)),
    ]
}

/// Django drops what the database has under that name: a foreign key after making it
/// IMMEDIATE, an index-backed unique constraint with DROP INDEX.
fn drop_constraint(
    table: &QualifiedName,
    name: &str,
    editor: Option<Editor>,
    catalog: &Catalog,
) -> Result<Vec<String>, String> {
    let drop = format!("ALTER TABLE {} DROP CONSTRAINT {}", relation(table), ident(name));
    match editor.ok_or_else(|| from_sql("DROP CONSTRAINT"))? {
        Editor::Alembic => Ok(vec![drop]),
        Editor::Django => {
            let state = catalog.table(table);
            match state.and_then(|t| t.constraint(name)) {
                Some(c) if matches!(c.kind, ConstraintKind::ForeignKey { .. }) => {
                    Ok(django_drop_foreign_key(table, name))
                }
                Some(_) => Ok(vec![drop]),
                None => {
                    let index = QualifiedName::new(table.schema.clone(), name);
                    match catalog.index(&index) {
                        Some(i) if i.table == *table && i.unique => {
                            Ok(vec![format!("DROP INDEX IF EXISTS {}", relation(&index))])
                        }
                        _ => Err(format!(
                            "Django finds constraint `{name}` on `{table}` in the database, and the catalog has no such constraint"
                        )),
                    }
                }
            }
        }
    }
}

/// `ALTER TABLE … ADD CONSTRAINT …`: Django's `_create_*_sql` templates and Alembic's
/// `AddConstraint` write the constraint as in CREATE TABLE.
fn add_constraint(
    table: &QualifiedName,
    constraint: &ConstraintDef,
    ddl: Option<&ConstraintDdl>,
) -> Result<Vec<String>, String> {
    let ddl = ddl.ok_or_else(|| from_sql("ADD CONSTRAINT"))?;
    let not_valid = if constraint.not_valid { " NOT VALID" } else { "" };
    Ok(vec![format!("ALTER TABLE {} ADD {}{not_valid}", relation(table), constraint_sql(constraint, ddl)?)])
}

/// `CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] "n" ON "t" [USING m] (keys)
/// [INCLUDE (…)] [WHERE …]` — Django's templates and SQLAlchemy's `visit_create_index` agree
/// on this order.
fn create_index(
    name: &str,
    table: &QualifiedName,
    columns: &[Option<String>],
    unique: bool,
    concurrently: bool,
    partial: bool,
    ddl: &IndexDdl,
) -> Result<String, String> {
    if ddl.keys.len() != columns.len() {
        return Err(format!("index `{name}` was lowered inconsistently"));
    }
    let keys = columns
        .iter()
        .zip(&ddl.keys)
        .map(|(column, key)| {
            let mut text = match (column, &key.expression) {
                (Some(column), _) => ident(column),
                (None, Some(expression)) => expression.clone(),
                (None, None) => return Err(format!("index `{name}` has a key whose SQL is not known")),
            };
            if let Some(opclass) = &key.opclass {
                text.push(' ');
                text.push_str(opclass);
            }
            if key.descending {
                text.push_str(" DESC");
            }
            Ok(text)
        })
        .collect::<Result<Vec<_>, String>>()?;
    let mut sql = String::from("CREATE ");
    if unique {
        sql.push_str("UNIQUE ");
    }
    sql.push_str("INDEX ");
    if concurrently {
        sql.push_str("CONCURRENTLY ");
    }
    if ddl.if_not_exists {
        sql.push_str("IF NOT EXISTS ");
    }
    sql.push_str(&format!("{} ON {} ", ident(name), relation(table)));
    if let Some(method) = &ddl.method {
        sql.push_str(&format!("USING {method} "));
    }
    sql.push_str(&format!("({})", keys.join(", ")));
    if !ddl.include.is_empty() {
        sql.push_str(&format!(" INCLUDE ({})", column_list(&ddl.include)));
    }
    sql.push_str(nulls_sql(ddl.nulls_distinct));
    match (&ddl.predicate, partial) {
        (Some(predicate), true) => sql.push_str(&format!(" WHERE {predicate}")),
        (None, true) => return Err(format!("index `{name}`: its WHERE clause is not known")),
        _ => {}
    }
    Ok(sql)
}

#[cfg(test)]
mod tests {
    //! Every expected statement below is what Django 6.1 or Alembic 1.20 with SQLAlchemy 2.1 sent
    //! to PostgreSQL for the same migration, with SQLAlchemy's bare identifiers double-quoted.

    use std::path::Path;

    use super::statements;
    use crate::analysis::{self, Step, Visitor};
    use crate::catalog::Catalog;
    use crate::config::Config;
    use crate::postgres::PgVersion;
    use crate::source::{self, Inputs};

    /// One op: its migration, its kind, and what `statements` says about it.
    type Rendered = (String, String, Result<Vec<String>, String>);

    /// Replays the migrations, asking `statements` about each op against the catalog as it
    /// stands just before that op.
    struct Collect(Vec<Rendered>);

    impl Visitor for Collect {
        fn op(&mut self, step: &Step) {
            let kind = format!("{:?}", step.op.kind);
            let tag = kind.split([' ', '(']).next().unwrap_or_default().to_string();
            // The planner runs a statement of RunSQL / `op.execute` as its own text.
            let sql = match &step.op.embedded_sql {
                Some(sql) => Ok(vec![sql.to_string()]),
                None => statements(&step.op.kind, step.catalog),
            };
            self.0.push((step.migration.id.clone(), tag, sql));
        }
    }

    fn render(path: &Path) -> Vec<Rendered> {
        let config = Config::default();
        let paths = [path.to_path_buf()];
        let inputs = Inputs { paths: &paths, stdin_name: "<stdin>" };
        let discovered = source::discover(&inputs, &config).expect("discovers");
        let migrations = source::load_all(&discovered, &config);
        let mut collect = Collect(vec![]);
        analysis::replay(&migrations, Catalog::default(), PgVersion::default(), &mut collect);
        collect.0
    }

    fn render_files(files: &[(String, String)]) -> Vec<Rendered> {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        render(dir.path())
    }

    /// Django migrations `shop/migrations/0001_step.py`, … in a chain: `(atomic, operations)`.
    fn django(migrations: &[(bool, &str)]) -> Vec<Rendered> {
        let files: Vec<(String, String)> = migrations
            .iter()
            .enumerate()
            .map(|(i, (atomic, operations))| {
                let dependencies = if i == 0 { String::new() } else { format!("(\"shop\", \"{i:04}_step\")") };
                let atomic = if *atomic { "" } else { "    atomic = False\n" };
                let text = format!(
                    "from django.db import migrations, models\n\
                     import django.db.models.deletion\n\
                     from django.db.models import Q\n\
                     from django.db.models.functions import Now\n\
                     from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently\n\
                     from django.contrib.postgres.indexes import GinIndex\n\n\n\
                     class Migration(migrations.Migration):\n\
                     {atomic}    dependencies = [{dependencies}]\n    operations = [\n{operations}\n    ]\n"
                );
                (format!("shop/migrations/{:04}_step.py", i + 1), text)
            })
            .collect();
        render_files(&files)
    }

    /// Alembic revisions `r1`, `r2`, … in a chain, each given as the body of `upgrade()`.
    fn alembic(revisions: &[&str]) -> Vec<Rendered> {
        let mut files = vec![("alembic.ini".to_string(), "[alembic]\nscript_location = migrations\n".to_string())];
        for (i, body) in revisions.iter().enumerate() {
            let down = if i == 0 { "None".to_string() } else { format!("\"r{i}\"") };
            let text = format!(
                "from alembic import op\nimport sqlalchemy as sa\nfrom sqlalchemy.dialects import postgresql\n\n\
                 revision = \"r{}\"\ndown_revision = {down}\n\n\ndef upgrade():\n{body}\n",
                i + 1
            );
            files.push((format!("migrations/versions/r{}_step.py", i + 1), text));
        }
        render_files(&files)
    }

    /// What an op should give: these statements, or a refusal whose reason contains the text.
    enum Expect<'a> {
        Sql(&'a [&'a str]),
        Refused(&'a str),
    }
    use Expect::{Refused, Sql};

    /// Compares the ops of `migration` (all ops when `None`) with `expected`, in order, and
    /// checks PostgreSQL's parser accepts every statement as exactly one statement.
    fn check(rendered: &[Rendered], migration: Option<&str>, expected: &[(&str, Expect)]) {
        let ops: Vec<&Rendered> = rendered.iter().filter(|r| migration.is_none_or(|m| r.0 == m)).collect();
        let shown: Vec<String> = ops.iter().map(|r| format!("{} {} {:?}", r.0, r.1, r.2)).collect();
        assert_eq!(ops.len(), expected.len(), "ops:\n{}", shown.join("\n"));
        for ((id, tag, result), (expected_tag, expect)) in ops.into_iter().zip(expected) {
            assert_eq!(tag, expected_tag, "{id}: {result:?}");
            match (result, expect) {
                (Ok(sql), Sql(expected)) => {
                    assert_eq!(sql, expected, "{id} {tag}");
                    for statement in sql {
                        let parsed = pg_query::parse(statement, pg_query::ParserOptions::DEFAULT);
                        let count = parsed.as_ref().map(|p| p.protobuf.stmts.len());
                        assert_eq!(count.as_ref().ok(), Some(&1), "{statement}: {parsed:?}");
                    }
                }
                (Err(why), Refused(part)) => assert!(why.contains(part), "{id} {tag}: {why}"),
                (result, _) => panic!("{id} {tag}: unexpected {result:?}"),
            }
        }
    }

    const SHOP: &[(bool, &str)] = &[
        (
            true,
            r#"        migrations.CreateModel(
            name="Author",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ("handle", models.SlugField(unique=True)),
                ("name", models.CharField(max_length=100, null=True)),
                ("age", models.PositiveIntegerField()),
                ("joined", models.DateTimeField(auto_now_add=True)),
                ("score", models.DecimalField(max_digits=10, decimal_places=2, db_default=0)),
                ("tags", models.JSONField(default=dict)),
            ],
        ),
        migrations.CreateModel(
            name="Book",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ("title", models.CharField(max_length=200, db_index=True)),
                ("pages", models.IntegerField()),
                ("author", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="shop.author")),
            ],
        ),"#,
        ),
        (
            true,
            r#"        migrations.AddField(model_name="author", name="bio", field=models.TextField(null=True)),
        migrations.AddField(model_name="author", name="nick", field=models.CharField(max_length=20, default="it's")),
        migrations.AddField(model_name="author", name="rank", field=models.PositiveSmallIntegerField(default=1)),
        migrations.AddField(model_name="author", name="seen", field=models.DateTimeField(db_default=Now())),
        migrations.AddField(
            model_name="book",
            name="editor",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, to="shop.author"),
        ),"#,
        ),
        (
            true,
            r#"        migrations.AlterField(model_name="book", name="pages", field=models.BigIntegerField()),
        migrations.AlterField(model_name="author", name="name", field=models.CharField(max_length=150, null=True)),
        migrations.AlterField(model_name="author", name="name", field=models.CharField(max_length=150)),
        migrations.AlterField(model_name="author", name="name", field=models.TextField(null=True)),
        migrations.AlterField(
            model_name="author",
            name="score",
            field=models.DecimalField(max_digits=10, decimal_places=2, db_default=5),
        ),"#,
        ),
        (
            true,
            r#"        migrations.RenameField(model_name="author", old_name="nick", new_name="nickname"),
        migrations.AlterModelTable(name="book", table="library_book"),
        migrations.AddIndex(model_name="author", index=models.Index(fields=["name"], name="author_name_idx")),
        migrations.AddIndex(
            model_name="author",
            index=models.Index(fields=["handle"], name="author_handle_inc", include=["age"]),
        ),
        migrations.RenameIndex(model_name="author", new_name="author_name_ix", old_name="author_name_idx"),
        migrations.RemoveIndex(model_name="author", name="author_handle_inc"),
        migrations.AddConstraint(
            model_name="author",
            constraint=models.UniqueConstraint(fields=["name", "age"], name="author_name_age_uniq"),
        ),
        migrations.AddConstraint(
            model_name="author",
            constraint=models.CheckConstraint(condition=Q(name__isnull=False), name="author_name_nn"),
        ),
        migrations.AddConstraint(
            model_name="author",
            constraint=models.UniqueConstraint(fields=["nickname"], name="author_nick_uniq", include=["age"]),
        ),
        migrations.RemoveConstraint(model_name="author", name="author_name_age_uniq"),
        migrations.RemoveConstraint(model_name="author", name="author_nick_uniq"),"#,
        ),
        (
            false,
            r#"        AddIndexConcurrently(
            model_name="author",
            index=GinIndex(fields=["tags"], name="author_tags_gin"),
        ),
        RemoveIndexConcurrently(model_name="author", name="author_tags_gin"),"#,
        ),
        (
            true,
            r#"        migrations.RemoveField(model_name="book", name="editor"),
        migrations.RemoveField(model_name="author", name="bio"),
        migrations.DeleteModel(name="Book"),"#,
        ),
    ];

    const FK_SHOP_BOOK_EDITOR: &str = "shop_book_editor_id_71eff3c6_fk_shop_author_id";

    #[test]
    fn django_create_model_writes_the_table_its_like_indexes_and_field_indexes() {
        let rendered = django(&SHOP[..1]);
        check(
            &rendered,
            Some("shop.0001_step"),
            &[
                (
                    "CreateTable",
                    Sql(&[
                        "CREATE TABLE \"shop_author\" (\"id\" bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY, \"handle\" varchar(50) NOT NULL UNIQUE, \"name\" varchar(100) NULL, \"age\" integer NOT NULL CHECK (\"age\" >= 0), \"joined\" timestamp with time zone NOT NULL, \"score\" numeric(10, 2) DEFAULT 0 NOT NULL, \"tags\" jsonb NOT NULL)",
                        "CREATE INDEX \"shop_author_handle_060c933f_like\" ON \"shop_author\" (\"handle\" varchar_pattern_ops)",
                    ]),
                ),
                (
                    "CreateTable",
                    Sql(&[
                        "CREATE TABLE \"shop_book\" (\"id\" bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY, \"title\" varchar(200) NOT NULL, \"pages\" integer NOT NULL, \"author_id\" bigint NOT NULL)",
                        "CREATE INDEX \"shop_book_title_1f19d72a_like\" ON \"shop_book\" (\"title\" varchar_pattern_ops)",
                    ]),
                ),
                (
                    "AddConstraint",
                    Sql(&[
                        "ALTER TABLE \"shop_book\" ADD CONSTRAINT \"shop_book_author_id_82b8ab51_fk_shop_author_id\" FOREIGN KEY (\"author_id\") REFERENCES \"shop_author\" (\"id\") DEFERRABLE INITIALLY DEFERRED",
                    ]),
                ),
                ("CreateIndex", Sql(&["CREATE INDEX \"shop_book_title_1f19d72a\" ON \"shop_book\" (\"title\")"])),
                ("CreateIndex", Sql(&["CREATE INDEX \"shop_book_author_id_82b8ab51\" ON \"shop_book\" (\"author_id\")"])),
            ],
        );
    }

    #[test]
    fn django_add_field_writes_defaults_checks_and_inline_foreign_keys() {
        let rendered = django(&SHOP[..2]);
        let fk = format!(
            "ALTER TABLE \"shop_book\" ADD COLUMN \"editor_id\" bigint NULL CONSTRAINT \"{FK_SHOP_BOOK_EDITOR}\" REFERENCES \"shop_author\"(\"id\") DEFERRABLE INITIALLY DEFERRED"
        );
        let immediate = format!("SET CONSTRAINTS \"{FK_SHOP_BOOK_EDITOR}\" IMMEDIATE");
        check(
            &rendered,
            Some("shop.0002_step"),
            &[
                ("AddColumn", Sql(&["ALTER TABLE \"shop_author\" ADD COLUMN \"bio\" text NULL"])),
                ("AddColumn", Sql(&["ALTER TABLE \"shop_author\" ADD COLUMN \"nick\" varchar(20) DEFAULT 'it''s' NOT NULL"])),
                ("SetDefault", Sql(&["ALTER TABLE \"shop_author\" ALTER COLUMN \"nick\" DROP DEFAULT"])),
                (
                    "AddColumn",
                    Sql(&["ALTER TABLE \"shop_author\" ADD COLUMN \"rank\" smallint DEFAULT 1 NOT NULL CHECK (\"rank\" >= 0)"]),
                ),
                ("SetDefault", Sql(&["ALTER TABLE \"shop_author\" ALTER COLUMN \"rank\" DROP DEFAULT"])),
                (
                    "AddColumn",
                    Sql(&["ALTER TABLE \"shop_author\" ADD COLUMN \"seen\" timestamp with time zone DEFAULT (STATEMENT_TIMESTAMP()) NOT NULL"]),
                ),
                // Django sends these two as one string: `…DEFERRED; SET CONSTRAINTS … IMMEDIATE`.
                ("AddColumn", Sql(&[fk.as_str(), immediate.as_str()])),
                ("CreateIndex", Sql(&["CREATE INDEX \"shop_book_editor_id_71eff3c6\" ON \"shop_book\" (\"editor_id\")"])),
            ],
        );
    }

    #[test]
    fn django_alter_field_casts_only_when_the_data_type_changes() {
        let rendered = django(&SHOP[..3]);
        check(
            &rendered,
            Some("shop.0003_step"),
            &[
                (
                    "AlterColumnType",
                    Sql(&["ALTER TABLE \"shop_book\" ALTER COLUMN \"pages\" TYPE bigint USING \"pages\"::bigint"]),
                ),
                ("AlterColumnType", Sql(&["ALTER TABLE \"shop_author\" ALTER COLUMN \"name\" TYPE varchar(150)"])),
                ("SetNotNull", Sql(&["ALTER TABLE \"shop_author\" ALTER COLUMN \"name\" SET NOT NULL"])),
                // Django combines one AlterField's actions into one ALTER TABLE:
                // `ALTER TABLE "shop_author" ALTER COLUMN "name" TYPE text USING "name"::text, ALTER COLUMN "name" DROP NOT NULL`.
                (
                    "AlterColumnType",
                    Sql(&["ALTER TABLE \"shop_author\" ALTER COLUMN \"name\" TYPE text USING \"name\"::text"]),
                ),
                ("DropNotNull", Sql(&["ALTER TABLE \"shop_author\" ALTER COLUMN \"name\" DROP NOT NULL"])),
                ("SetDefault", Sql(&["ALTER TABLE \"shop_author\" ALTER COLUMN \"score\" SET DEFAULT 5"])),
            ],
        );
    }

    #[test]
    fn django_renames_indexes_and_constraints_match_django() {
        let rendered = django(&SHOP[..4]);
        check(
            &rendered,
            Some("shop.0004_step"),
            &[
                ("RenameColumn", Sql(&["ALTER TABLE \"shop_author\" RENAME COLUMN \"nick\" TO \"nickname\""])),
                ("RenameTable", Sql(&["ALTER TABLE \"shop_book\" RENAME TO \"library_book\""])),
                ("CreateIndex", Sql(&["CREATE INDEX \"author_name_idx\" ON \"shop_author\" (\"name\")"])),
                (
                    "CreateIndex",
                    Sql(&["CREATE INDEX \"author_handle_inc\" ON \"shop_author\" (\"handle\") INCLUDE (\"age\")"]),
                ),
                ("RenameIndex", Sql(&["ALTER INDEX \"author_name_idx\" RENAME TO \"author_name_ix\""])),
                ("DropIndex", Sql(&["DROP INDEX IF EXISTS \"author_handle_inc\""])),
                (
                    "AddConstraint",
                    Sql(&["ALTER TABLE \"shop_author\" ADD CONSTRAINT \"author_name_age_uniq\" UNIQUE (\"name\", \"age\")"]),
                ),
                (
                    "AddConstraint",
                    Sql(&["ALTER TABLE \"shop_author\" ADD CONSTRAINT \"author_name_nn\" CHECK (\"name\" IS NOT NULL)"]),
                ),
                (
                    "CreateIndex",
                    Sql(&["CREATE UNIQUE INDEX \"author_nick_uniq\" ON \"shop_author\" (\"nickname\") INCLUDE (\"age\")"]),
                ),
                ("DropConstraint", Sql(&["ALTER TABLE \"shop_author\" DROP CONSTRAINT \"author_name_age_uniq\""])),
                ("DropConstraint", Sql(&["DROP INDEX IF EXISTS \"author_nick_uniq\""])),
            ],
        );
    }

    #[test]
    fn django_concurrent_index_operations_match_django() {
        let rendered = django(&SHOP[..5]);
        check(
            &rendered,
            Some("shop.0005_step"),
            &[
                (
                    "CreateIndex",
                    Sql(&["CREATE INDEX CONCURRENTLY \"author_tags_gin\" ON \"shop_author\" USING gin (\"tags\")"]),
                ),
                ("DropIndex", Sql(&["DROP INDEX CONCURRENTLY IF EXISTS \"author_tags_gin\""])),
            ],
        );
    }

    #[test]
    fn django_remove_field_drops_its_foreign_keys_first() {
        let rendered = django(SHOP);
        let immediate = format!("SET CONSTRAINTS \"{FK_SHOP_BOOK_EDITOR}\" IMMEDIATE");
        let drop_fk = format!("ALTER TABLE \"library_book\" DROP CONSTRAINT \"{FK_SHOP_BOOK_EDITOR}\"");
        check(
            &rendered,
            Some("shop.0006_step"),
            &[
                (
                    "DropColumn",
                    Sql(&[
                        immediate.as_str(),
                        drop_fk.as_str(),
                        "ALTER TABLE \"library_book\" DROP COLUMN \"editor_id\"",
                    ]),
                ),
                ("DropColumn", Sql(&["ALTER TABLE \"shop_author\" DROP COLUMN \"bio\""])),
                ("DropTable", Sql(&["DROP TABLE \"library_book\" CASCADE"])),
            ],
        );
    }

    #[test]
    fn django_operations_decided_at_run_time_are_refused() {
        let rendered = django(&[(
            true,
            r#"        migrations.CreateModel(
            name="Doc",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("body", app.fields.EncryptedTextField()),
            ],
        ),
        migrations.AddField(model_name="doc", name="key", field=models.UUIDField(default=uuid.uuid4)),
        migrations.AddField(model_name="doc", name="made", field=models.DateTimeField(auto_now_add=True)),
        migrations.AddConstraint(
            model_name="doc",
            constraint=models.CheckConstraint(condition=Q(id__gt=0), name="doc_id_positive"),
        ),
        migrations.AddIndex(
            model_name="doc",
            index=models.Index(fields=["key"], name="doc_key_made", condition=Q(made__isnull=False)),
        ),
        migrations.RunPython(migrations.RunPython.noop),
        migrations.RunSQL("CREATE INDEX doc_made ON shop_doc (made)"),"#,
        )]);
        check(
            &rendered,
            None,
            &[
                ("CreateTable", Refused("custom field class `EncryptedTextField`")),
                ("AddColumn", Refused("uuid.uuid4")),
                ("SetDefault", Sql(&["ALTER TABLE \"shop_doc\" ALTER COLUMN \"key\" DROP DEFAULT"])),
                ("AddColumn", Refused("auto_now_add")),
                ("SetDefault", Sql(&["ALTER TABLE \"shop_doc\" ALTER COLUMN \"made\" DROP DEFAULT"])),
                (
                    "AddConstraint",
                    Sql(&["ALTER TABLE \"shop_doc\" ADD CONSTRAINT \"doc_id_positive\" CHECK (\"id\" > 0)"]),
                ),
                ("CreateIndex", Refused("condition")),
                ("Other", Sql(&[])),
                ("CreateIndex", Sql(&["CREATE INDEX doc_made ON shop_doc (made)"])),
            ],
        );
    }

    #[test]
    fn alembic_create_table_matches_sqlalchemy() {
        let rendered = alembic(&[r#"    op.create_table(
        "author",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("handle", sa.String(50), nullable=False, unique=True),
        sa.Column("name", sa.Text()),
        sa.Column("score", sa.Numeric(10, 2), server_default=sa.text("0")),
        sa.Column("born", sa.Date()),
        sa.Column("tags", postgresql.ARRAY(sa.String(20))),
        sa.Column("seen", sa.DateTime(), server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        "book",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), primary_key=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), index=True),
        sa.ForeignKeyConstraint(["author_id"], ["author.id"], name="fk_book_author", ondelete="CASCADE", deferrable=True, initially="DEFERRED"),
        sa.CheckConstraint("length(title) > 0", name="ck_book_title"),
        sa.UniqueConstraint("author_id", "title", name="uq_book"),
    )"#]);
        check(
            &rendered,
            None,
            &[
                (
                    "CreateTable",
                    Sql(&["CREATE TABLE \"author\" (\"id\" SERIAL NOT NULL, \"handle\" VARCHAR(50) NOT NULL, \"name\" TEXT, \"score\" NUMERIC(10, 2) DEFAULT 0, \"born\" DATE, \"tags\" VARCHAR(20)[], \"seen\" TIMESTAMP WITHOUT TIME ZONE DEFAULT now() NOT NULL, PRIMARY KEY (\"id\"), UNIQUE (\"handle\"))"]),
                ),
                (
                    "CreateTable",
                    Sql(&["CREATE TABLE \"book\" (\"id\" BIGINT GENERATED ALWAYS AS IDENTITY, \"author_id\" INTEGER NOT NULL, \"title\" VARCHAR(200), PRIMARY KEY (\"id\"), CONSTRAINT \"fk_book_author\" FOREIGN KEY(\"author_id\") REFERENCES \"author\" (\"id\") ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED, CONSTRAINT \"ck_book_title\" CHECK (length(title) > 0), CONSTRAINT \"uq_book\" UNIQUE (\"author_id\", \"title\"))"]),
                ),
                ("CreateIndex", Sql(&["CREATE INDEX \"ix_book_title\" ON \"book\" (\"title\")"])),
            ],
        );
    }

    #[test]
    fn alembic_column_operations_match_alembic() {
        let rendered = alembic(&[
            r#"    op.create_table("author", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("name", sa.Text()), sa.Column("born", sa.Date()))
    op.create_table("book", sa.Column("id", sa.Integer(), primary_key=True))"#,
            r#"    op.add_column("author", sa.Column("bio", sa.Text(), server_default="n/a"))
    op.add_column("book", sa.Column("rank", sa.SmallInteger(), nullable=False, server_default="1"))
    op.drop_column("author", "born")
    op.alter_column("author", "name", type_=sa.String(100), postgresql_using="left(name, 100)")
    op.alter_column("author", "name", nullable=False)
    op.alter_column("author", "name", nullable=True)
    op.alter_column("author", "bio", server_default=sa.text("'none'"))
    op.alter_column("author", "bio", server_default=None)
    op.alter_column("author", "bio", new_column_name="about")"#,
        ]);
        check(
            &rendered,
            Some("r2"),
            &[
                ("AddColumn", Sql(&["ALTER TABLE \"author\" ADD COLUMN \"bio\" TEXT DEFAULT 'n/a'"])),
                ("AddColumn", Sql(&["ALTER TABLE \"book\" ADD COLUMN \"rank\" SMALLINT DEFAULT '1' NOT NULL"])),
                ("DropColumn", Sql(&["ALTER TABLE \"author\" DROP COLUMN \"born\""])),
                (
                    "AlterColumnType",
                    Sql(&["ALTER TABLE \"author\" ALTER COLUMN \"name\" TYPE VARCHAR(100) USING left(name, 100)"]),
                ),
                ("SetNotNull", Sql(&["ALTER TABLE \"author\" ALTER COLUMN \"name\" SET NOT NULL"])),
                ("DropNotNull", Sql(&["ALTER TABLE \"author\" ALTER COLUMN \"name\" DROP NOT NULL"])),
                ("SetDefault", Sql(&["ALTER TABLE \"author\" ALTER COLUMN \"bio\" SET DEFAULT 'none'"])),
                ("SetDefault", Sql(&["ALTER TABLE \"author\" ALTER COLUMN \"bio\" DROP DEFAULT"])),
                ("RenameColumn", Sql(&["ALTER TABLE \"author\" RENAME \"bio\" TO \"about\""])),
            ],
        );
    }

    #[test]
    fn alembic_index_and_constraint_operations_match_alembic() {
        let rendered = alembic(&[
            r#"    op.create_table("author", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("handle", sa.String(50)), sa.Column("name", sa.Text()), sa.Column("score", sa.Integer()), sa.Column("tags", postgresql.ARRAY(sa.Text())), sa.Column("seen", sa.DateTime()))
    op.create_table("book", sa.Column("id", sa.Integer(), primary_key=True))"#,
            r#"    op.create_index("ix_author_lower_handle", "author", [sa.text("lower(handle)")], unique=True)
    op.create_index("ix_author_tags", "author", ["tags"], postgresql_using="gin")
    op.create_index("ix_author_seen", "author", ["seen"], postgresql_include=["score"], postgresql_where=sa.text("seen IS NOT NULL"))
    op.create_unique_constraint("uq_author_name", "author", ["name"])
    op.create_check_constraint("ck_author_name", "author", "name IS NOT NULL")
    op.drop_constraint("uq_author_name", "author", type_="unique")
    op.rename_table("book", "volume")
    op.drop_index("ix_author_seen", table_name="author")
    op.drop_table("volume")"#,
        ]);
        check(
            &rendered,
            Some("r2"),
            &[
                (
                    "CreateIndex",
                    Sql(&["CREATE UNIQUE INDEX \"ix_author_lower_handle\" ON \"author\" (lower(handle))"]),
                ),
                ("CreateIndex", Sql(&["CREATE INDEX \"ix_author_tags\" ON \"author\" USING gin (\"tags\")"])),
                (
                    "CreateIndex",
                    Sql(&["CREATE INDEX \"ix_author_seen\" ON \"author\" (\"seen\") INCLUDE (\"score\") WHERE seen IS NOT NULL"]),
                ),
                ("AddConstraint", Sql(&["ALTER TABLE \"author\" ADD CONSTRAINT \"uq_author_name\" UNIQUE (\"name\")"])),
                // Alembic sends the condition as written.
                ("AddConstraint", Sql(&["ALTER TABLE \"author\" ADD CONSTRAINT \"ck_author_name\" CHECK (name IS NOT NULL)"])),
                ("DropConstraint", Sql(&["ALTER TABLE \"author\" DROP CONSTRAINT \"uq_author_name\""])),
                ("RenameTable", Sql(&["ALTER TABLE \"book\" RENAME TO \"volume\""])),
                ("DropIndex", Sql(&["DROP INDEX \"ix_author_seen\""])),
                ("DropTable", Sql(&["DROP TABLE \"volume\""])),
            ],
        );
    }

    #[test]
    fn alembic_operations_decided_at_run_time_are_refused() {
        let rendered = alembic(&[
            r#"    op.create_table("t", sa.Column("id", sa.BigInteger(), sa.Identity(start=5), primary_key=True))
    op.add_column("t", sa.Column("secret", app.types.Encrypted()))
    sa.Enum("a", "b", name="mood").create(op.get_bind())
    op.create_check_constraint("ck_t_id", "t", sa.column("id") > 0)
    op.create_foreign_key("fk_t_t", "t", "t", ["id"], ["id"])
    op.drop_index("ix_unknown")
    op.drop_index("ix_gone", if_exists=True, postgresql_concurrently=True)
    op.execute("UPDATE t SET id = id")"#,
        ]);
        check(
            &rendered,
            None,
            &[
                ("CreateTable", Refused("Identity() with sequence options")),
                ("AddColumn", Refused("`app.types.Encrypted`")),
                ("CreateEnum", Sql(&["CREATE TYPE \"mood\" AS ENUM ('a', 'b')"])),
                ("AddConstraint", Refused("CHECK condition built from SQLAlchemy expressions")),
                (
                    "AddConstraint",
                    Sql(&["ALTER TABLE \"t\" ADD CONSTRAINT \"fk_t_t\" FOREIGN KEY(\"id\") REFERENCES \"t\" (\"id\")"]),
                ),
                // Alembic writes IF EXISTS only when asked; the index need not be known.
                ("DropIndex", Sql(&["DROP INDEX \"ix_unknown\""])),
                ("DropIndex", Sql(&["DROP INDEX CONCURRENTLY IF EXISTS \"ix_gone\""])),
                ("DataChange", Sql(&["UPDATE t SET id = id"])),
            ],
        );
    }

    /// The bundled fixtures, op by op: what is rendered (checked against the SQL Django and
    /// Alembic sent for them) and why the rest is refused.
    #[test]
    fn bundled_fixtures_render_or_say_why() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let timeout = "SET lock_timeout = '3s'";
        let fk = "shop_order_account_id_01539d85_fk_accounts_account_id";
        let set_fk = format!("SET CONSTRAINTS \"{fk}\" IMMEDIATE");
        let drop_fk = format!("ALTER TABLE \"shop_order\" DROP CONSTRAINT \"{fk}\"");
        let add_fk = format!(
            "ALTER TABLE \"shop_order\" ADD CONSTRAINT \"{fk}\" FOREIGN KEY (\"account_id\") REFERENCES \"accounts_account\" (\"id\") DEFERRABLE INITIALLY DEFERRED"
        );
        check(
            &render(&root.join("fixtures/django")),
            None,
            &[
                (
                    "CreateTable",
                    Sql(&["CREATE TABLE \"accounts_account\" (\"id\" bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY, \"email\" varchar(100) NOT NULL, \"name\" varchar(50) NULL, \"created_at\" timestamp with time zone NOT NULL)"]),
                ),
                ("AddColumn", Sql(&["ALTER TABLE \"accounts_account\" ADD COLUMN \"bio\" text NULL"])),
                ("AlterColumnType", Sql(&["ALTER TABLE \"accounts_account\" ALTER COLUMN \"email\" TYPE varchar(255)"])),
                ("Other", Sql(&[])),
                ("SetNotNull", Sql(&["ALTER TABLE \"accounts_account\" ALTER COLUMN \"name\" SET NOT NULL"])),
                (
                    "CreateTable",
                    Sql(&[
                        "CREATE TABLE \"shop_product\" (\"id\" bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY, \"sku\" varchar(32) NOT NULL UNIQUE, \"price\" numeric(10, 2) NOT NULL)",
                        "CREATE INDEX \"shop_product_sku_20049d15_like\" ON \"shop_product\" (\"sku\" varchar_pattern_ops)",
                    ]),
                ),
                (
                    "CreateTable",
                    Sql(&["CREATE TABLE \"shop_order\" (\"id\" bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY, \"quantity\" integer NOT NULL, \"account_id\" bigint NOT NULL, \"product_id\" bigint NOT NULL)"]),
                ),
                ("AddConstraint", Sql(&[add_fk.as_str()])),
                (
                    "AddConstraint",
                    Sql(&["ALTER TABLE \"shop_order\" ADD CONSTRAINT \"shop_order_product_id_0eef2166_fk_shop_product_id\" FOREIGN KEY (\"product_id\") REFERENCES \"shop_product\" (\"id\") DEFERRABLE INITIALLY DEFERRED"]),
                ),
                ("CreateIndex", Sql(&["CREATE INDEX \"shop_order_account_id_01539d85\" ON \"shop_order\" (\"account_id\")"])),
                ("CreateIndex", Sql(&["CREATE INDEX \"shop_order_product_id_0eef2166\" ON \"shop_order\" (\"product_id\")"])),
                ("AlterColumnType", Sql(&["ALTER TABLE \"shop_product\" ALTER COLUMN \"price\" TYPE numeric(12, 2)"])),
                ("AddColumn", Sql(&["ALTER TABLE \"shop_order\" ADD COLUMN \"note\" varchar(200) DEFAULT '' NOT NULL"])),
                ("SetDefault", Sql(&["ALTER TABLE \"shop_order\" ALTER COLUMN \"note\" DROP DEFAULT"])),
                ("AddColumn", Sql(&["ALTER TABLE \"shop_order\" ADD COLUMN \"channel\" varchar(20) DEFAULT 'web' NOT NULL"])),
                (
                    "AlterColumnType",
                    Sql(&["ALTER TABLE \"shop_order\" ALTER COLUMN \"quantity\" TYPE bigint USING \"quantity\"::bigint"]),
                ),
                ("DropConstraint", Sql(&[set_fk.as_str(), drop_fk.as_str()])),
                ("DropIndex", Sql(&["DROP INDEX IF EXISTS \"shop_order_account_id_01539d85\""])),
                ("AddConstraint", Sql(&[add_fk.as_str()])),
                (
                    "CreateIndex",
                    Sql(&["CREATE INDEX CONCURRENTLY \"order_product_qty_idx\" ON \"shop_order\" (\"product_id\", \"quantity\" DESC)"]),
                ),
                ("AddColumn", Sql(&["ALTER TABLE \"shop_product\" ADD COLUMN \"stock\" integer NULL"])),
                ("DataChange", Refused("RunPython")),
                ("CreateIndex", Sql(&["CREATE INDEX \"product_stock_idx\" ON \"shop_product\" (\"stock\")"])),
                ("CreateIndex", Sql(&["CREATE INDEX accounts_account_created_idx ON accounts_account (created_at)"])),
            ],
        );
        check(
            &render(&root.join("fixtures/alembic")),
            None,
            &[
                ("CreateEnum", Sql(&["CREATE TYPE \"user_status\" AS ENUM ('active', 'disabled')"])),
                (
                    "CreateTable",
                    Sql(&["CREATE TABLE \"users\" (\"id\" SERIAL NOT NULL, \"email\" VARCHAR(255) NOT NULL, \"name\" VARCHAR(50), \"status\" \"user_status\" DEFAULT 'active' NOT NULL, \"created_at\" TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, PRIMARY KEY (\"id\"), UNIQUE (\"email\"))"]),
                ),
                (
                    "CreateTable",
                    Sql(&["CREATE TABLE \"accounts\" (\"id\" BIGINT GENERATED BY DEFAULT AS IDENTITY, \"user_id\" INTEGER NOT NULL, \"balance\" INTEGER DEFAULT '0' NOT NULL, \"settings\" JSONB, PRIMARY KEY (\"id\"), FOREIGN KEY(\"user_id\") REFERENCES \"users\" (\"id\") ON DELETE CASCADE)"]),
                ),
                ("CreateIndex", Sql(&["CREATE INDEX \"ix_accounts_user_id\" ON \"accounts\" (\"user_id\")"])),
                ("Setting", Sql(&[timeout])),
                ("AddColumn", Sql(&["ALTER TABLE \"users\" ADD COLUMN \"phone\" VARCHAR(20)"])),
                ("AlterColumnType", Sql(&["ALTER TABLE \"users\" ALTER COLUMN \"name\" TYPE VARCHAR(100)"])),
                ("Setting", Sql(&[timeout])),
                ("AlterColumnType", Sql(&["ALTER TABLE \"accounts\" ALTER COLUMN \"balance\" TYPE BIGINT"])),
                ("Transaction", Sql(&["COMMIT"])),
                ("Setting", Sql(&[timeout])),
                (
                    "CreateIndex",
                    Sql(&["CREATE INDEX CONCURRENTLY IF NOT EXISTS \"ix_users_name\" ON \"users\" (\"name\")"]),
                ),
                ("Setting", Sql(&[timeout])),
                (
                    "CreateIndex",
                    Sql(&["CREATE INDEX CONCURRENTLY \"ix_accounts_balance\" ON \"accounts\" (\"balance\") WHERE balance > 0"]),
                ),
                ("Setting", Sql(&[timeout])),
                ("DataChange", Sql(&["UPDATE users\n           SET name = split_part(email, '@', 1)\n         WHERE name IS NULL"])),
                ("SetNotNull", Sql(&["ALTER TABLE \"users\" ALTER COLUMN \"name\" SET NOT NULL"])),
                ("Setting", Sql(&[timeout])),
                ("AddColumn", Sql(&["ALTER TABLE \"accounts\" ADD COLUMN \"currency\" VARCHAR(3) DEFAULT 'EUR' NOT NULL"])),
                (
                    "AddConstraint",
                    Sql(&["ALTER TABLE \"accounts\" ADD CONSTRAINT \"fk_accounts_owner\" FOREIGN KEY(\"user_id\") REFERENCES \"users\" (\"id\") NOT VALID"]),
                ),
                (
                    "AddConstraint",
                    Sql(&["ALTER TABLE \"accounts\" ADD CONSTRAINT \"ck_accounts_currency\" CHECK (currency IS NOT NULL)"]),
                ),
                ("Setting", Sql(&[timeout])),
                ("ValidateConstraint", Sql(&["ALTER TABLE accounts VALIDATE CONSTRAINT fk_accounts_owner"])),
                (
                    "CreateTable",
                    Sql(&["CREATE TABLE \"audit_log\" (\"id\" BIGINT GENERATED ALWAYS AS IDENTITY, \"user_id\" INTEGER, \"payload\" JSONB DEFAULT '{}'::jsonb NOT NULL, \"request_id\" UUID DEFAULT gen_random_uuid(), PRIMARY KEY (\"id\"), FOREIGN KEY(\"user_id\") REFERENCES \"users\" (\"id\"))"]),
                ),
                ("AddColumn", Sql(&["ALTER TABLE \"users\" ADD COLUMN \"api_token\" UUID DEFAULT gen_random_uuid()"])),
                ("DropColumn", Sql(&["ALTER TABLE \"users\" DROP COLUMN \"phone\""])),
                ("Other", Sql(&["SELECT relname FROM pg_class WHERE relispartition"])),
                ("Opaque", Refused("fetch_partitions")),
                ("Opaque", Refused("f-string")),
            ],
        );
    }
}
