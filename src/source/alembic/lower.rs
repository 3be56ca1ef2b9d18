//! The steps of `upgrade()` → IR ops, in the order Alembic sends their SQL to PostgreSQL
//! (`alembic/operations/toimpl.py`), each with that SQL (`sql.rs`). One Python call is one statement for ignores and
//! transaction tracking, except `op.execute` text with several SQL statements.

use std::ops::Range;

use crate::ir::{
    ConstraintDef, ConstraintKind, DataChangeKind, DroppedObject, Ignore, Op, OpKind, QualifiedName, Span, TableAction,
    TransactionControl,
};
use crate::source::editor_sql::{ConstraintDdl, Ddl, DefaultDdl, TableDdl, TypeChangeDdl};
use crate::source::python::{Call, Expr, Value};
use crate::source::sql;

use super::entities;
use super::parse::UpgradeStep;
use super::schema::{self, flag, key_columns, list, name_of};
use super::sqltext;
use super::types::column_type;

/// The ops of one revision's `upgrade()`, with the ignores written inside its SQL strings.
#[derive(Debug, Default)]
pub struct Lowered {
    pub ops: Vec<Op>,
    pub ignores: Vec<Ignore>,
    /// Malformed `lockgate:` comments inside SQL strings.
    pub bad_directives: Vec<(Span, String)>,
}

pub fn lower(text: &str, steps: &[UpgradeStep]) -> Lowered {
    let mut lowering = Lowering {
        text,
        out: Lowered::default(),
        statement: 0,
        span: Span::default(),
        pending_begin: None,
        reopened: None,
    };
    lowering.steps(steps);
    lowering.finish()
}

struct Lowering<'a> {
    /// The revision's source, for SQL strings whose statements can be pointed at exactly.
    text: &'a str,
    out: Lowered,
    statement: usize,
    /// Where the step being lowered is.
    span: Span,
    /// An autocommit block ended: Alembic opens a new transaction before the next statement.
    pending_begin: Option<Span>,
    /// That transaction was opened; Alembic commits it after the revision.
    reopened: Option<Span>,
}

impl Lowering<'_> {
    fn finish(mut self) -> Lowered {
        if let Some(span) = self.reopened.take() {
            // Alembic commits the transaction it reopened when the revision (or the run) ends;
            // written out, the transaction tracking sees it closed rather than left open.
            self.span = span;
            self.push((OpKind::Transaction(TransactionControl::Commit), Ddl::Plain));
        }
        self.out
    }

    fn steps(&mut self, steps: &[UpgradeStep]) {
        for step in steps {
            self.step(step);
        }
    }

    fn step(&mut self, step: &UpgradeStep) {
        match step {
            UpgradeStep::Call(expr) => self.at(expr.span, |l| match expr.as_call() {
                Some(call) => l.call(call),
                None => l.opaque(format!("a call lockgate cannot read ({})", describe(&expr.value))),
            }),
            UpgradeStep::With { managers, span, body } => self.with(managers, *span, body),
            UpgradeStep::Uncertain { what, span, body } => {
                self.at(*span, |l| l.opaque(what.clone()));
                self.steps(body);
            }
            UpgradeStep::Opaque { what, span } => self.at(*span, |l| l.opaque(what.clone())),
        }
    }

    /// Lowers one step at `span`; the ops it emits form one statement.
    fn at(&mut self, span: Span, lower: impl FnOnce(&mut Self)) {
        self.span = span;
        let before = self.out.ops.len();
        lower(self);
        if self.out.ops.len() > before {
            self.statement = self.out.ops.last().map_or(self.statement, |op| op.statement + 1);
        }
    }

    /// An op whose fields say all Alembic writes for it.
    fn emit(&mut self, kind: OpKind) {
        self.emit_with((kind, Ddl::Plain));
    }

    fn emit_with(&mut self, lowered: (OpKind, Ddl)) {
        self.flush_begin();
        self.push(lowered);
    }

    fn emit_at(&mut self, span: Span, kind: OpKind) {
        self.flush_begin();
        self.out.ops.push(op(kind, Ddl::Plain, span, self.statement));
    }

    fn push(&mut self, (kind, ddl): (OpKind, Ddl)) {
        self.out.ops.push(op(kind, ddl, self.span, self.statement));
    }

    /// The BEGIN Alembic issues when an autocommit block ends, placed before the next statement
    /// (there is none when the block ends the revision).
    fn flush_begin(&mut self) {
        if let Some(span) = self.pending_begin.take() {
            let begin = OpKind::Transaction(TransactionControl::Begin);
            self.out.ops.push(op(begin, Ddl::Plain, span, self.statement));
            self.statement += 1;
            self.reopened = Some(span);
        }
    }

    /// Reports code lockgate cannot see into, once per place: an unrolled loop reaches the same
    /// `if` on every pass.
    fn opaque(&mut self, what: String) {
        let kind = OpKind::Opaque { what };
        if !self.out.ops.iter().any(|op| op.span == self.span && op.kind == kind) {
            self.emit(kind);
        }
    }

    fn with(&mut self, managers: &[(Expr, Option<String>)], span: Span, body: &[UpgradeStep]) {
        let single = match managers {
            [(manager, _)] => manager.as_call(),
            _ => None,
        };
        match single.map(Call::name) {
            Some("autocommit_block") => self.autocommit(span, body),
            Some("batch_alter_table") => {
                if let Some(batch) = single {
                    self.batch_header(batch, span);
                }
                self.steps(body);
            }
            _ => {
                let names: Vec<String> = managers.iter().map(|(m, _)| manager_name(m)).collect();
                let what =
                    format!("`with {}`: what entering and leaving it does is decided at run time", names.join(", "));
                self.at(span, |l| l.opaque(what));
                self.steps(body);
            }
        }
    }

    /// `autocommit_block()` commits the transaction Alembic holds, runs the block's statements
    /// each in its own transaction, and begins a new one when it ends.
    fn autocommit(&mut self, span: Span, body: &[UpgradeStep]) {
        self.pending_begin = None;
        self.reopened = None;
        self.at(span, |l| l.emit(OpKind::Transaction(TransactionControl::Commit)));
        self.steps(body);
        self.pending_begin = Some(span);
    }

    /// On PostgreSQL a batch only queues ordinary ALTERs, unless it is told to copy the table.
    fn batch_header(&mut self, batch: &Call, span: Span) {
        let table = batch.arg("table_name", 0).and_then(Expr::as_str).unwrap_or("the table");
        if batch.kwarg("recreate").and_then(Expr::as_str) == Some("always") {
            let what = format!(
                "`batch_alter_table(\"{table}\", recreate=\"always\")` copies `{table}` into a new table (CREATE, INSERT … SELECT, DROP, RENAME) under an ACCESS EXCLUSIVE lock"
            );
            self.at(span, |l| l.opaque(what));
        }
    }

    fn call(&mut self, call: &Call) {
        // The common case first: a plain `op.<operation>(…)`.
        if let Some(name) = call.func.strip_prefix("op.").filter(|n| call.receiver.is_none() && !n.contains('.')) {
            return self.operation(name, call, None);
        }
        if let Some(executed) = executed_call(call) {
            let statement = executed.arg("statement", 0).or_else(|| executed.kwarg("sqltext"));
            return self.execute(statement, executed.name() != "exec_driver_sql");
        }
        if let Some(batch) = call.receiver_call().filter(|r| r.name() == "batch_alter_table") {
            return self.operation(call.name(), call, Some(batch));
        }
        if let Some(kind) = type_method(call) {
            return self.emit(kind);
        }
        if !is_value(call) {
            self.opaque(format!("a call to `{}`, Python code lockgate does not follow", call.func));
        }
    }

    fn operation(&mut self, name: &str, call: &Call, batch: Option<&Call>) {
        let prefix = if batch.is_some() { "batch_op" } else { "op" };
        if call.splat {
            return self.opaque(format!("`{prefix}.{name}` called with *args or **kwargs"));
        }
        let args = Args { call, batch: batch.and_then(|b| table_position(name).map(|p| (p, b))) };
        if let Some(action) = entities::Action::of(name) {
            return match entities::lower(action, args.get(&["entity"], 0)) {
                Ok(kind) => self.emit(kind),
                Err(what) => self.opaque(format!("`{prefix}.{name}` {what}")),
            };
        }
        let result = match name {
            "create_table" => self.create_table(&args),
            "drop_table" => self.drop_table(&args),
            "rename_table" => self.rename_table(&args),
            "add_column" => self.add_column(&args),
            "drop_column" => self.drop_column(&args),
            "alter_column" => self.alter_column(&args),
            "create_index" => self.create_index(&args),
            "drop_index" => self.drop_index(&args),
            "create_foreign_key" => self.create_foreign_key(&args),
            "create_unique_constraint" => {
                self.add_keys(&args, |columns| ConstraintKind::Unique { columns, using_index: None })
            }
            "create_primary_key" => {
                self.add_keys(&args, |columns| ConstraintKind::PrimaryKey { columns, using_index: None })
            }
            "create_check_constraint" => self.create_check_constraint(&args),
            "create_exclude_constraint" => self.create_exclude_constraint(&args),
            "drop_constraint" => self.drop_constraint(&args),
            "bulk_insert" => {
                let table = args.get(&["table"], 0).and_then(table_name);
                self.emit(OpKind::DataChange { kind: DataChangeKind::Insert, table, has_where: false });
                Ok(())
            }
            "create_table_comment" | "drop_table_comment" => {
                args.table(&["table_name"], 0).map(|table| self.emit(OpKind::Comment { table: Some(table) }))
            }
            "execute" => {
                let statement = args.get(&["sqltext", "statement"], 0);
                self.execute(statement, true);
                Ok(())
            }
            // Values and context: nothing reaches the database.
            "f" | "get_bind" | "get_context" | "inline_literal" | "batch_alter_table" | "implementation_for" => Ok(()),
            _ => Err("is not an Alembic operation lockgate knows (a custom or third-party operation)".to_string()),
        };
        if let Err(what) = result {
            self.opaque(format!("`{prefix}.{name}` {what}"));
        }
    }

    fn create_table(&mut self, args: &Args) -> Result<(), String> {
        let table = args.table(&["table_name", "name"], 0)?;
        let spec = schema::table(&table, args.rest(1));
        for enum_type in &spec.enums {
            self.emit(OpKind::CreateEnum {
                name: QualifiedName::new(enum_type.schema.clone(), &enum_type.name),
                labels: enum_type.labels.clone(),
            });
        }
        let extra = args
            .call
            .kwargs
            .iter()
            .map(|(k, _)| k.as_str())
            .find(|k| !matches!(*k, "table_name" | "name" | "schema" | "if_not_exists"));
        let ddl = TableDdl {
            columns: spec.column_ddl,
            constraints: spec.constraint_ddl,
            unknown: extra.map(|option| format!("`{option}=` on `create_table`, which lockgate does not write")),
        };
        let kind = OpKind::CreateTable {
            table,
            columns: spec.columns,
            constraints: spec.constraints,
            partition_of: None,
            partitioned: args.call.kwarg("postgresql_partition_by").is_some(),
            if_not_exists: flag(args.call, "if_not_exists"),
        };
        self.emit_with((kind, Ddl::Table(ddl)));
        spec.indexes.into_iter().for_each(|index| self.emit_with(index));
        for (span, what) in spec.unreadable {
            self.emit_at(span, OpKind::Opaque { what });
        }
        Ok(())
    }

    fn drop_table(&mut self, args: &Args) -> Result<(), String> {
        let table = args.table(&["table_name", "name"], 0)?;
        self.emit(OpKind::DropTable { tables: vec![table], cascade: false });
        Ok(())
    }

    fn rename_table(&mut self, args: &Args) -> Result<(), String> {
        let table = args.table(&["old_table_name"], 0)?;
        let new_name = args.text(&["new_table_name"], 1)?;
        self.emit(OpKind::RenameTable { table, new_name });
        Ok(())
    }

    /// `ALTER TABLE … ADD COLUMN`, then each constraint on the column in its own ALTER TABLE,
    /// then the `index=True` index (Alembic's `add_column`).
    fn add_column(&mut self, args: &Args) -> Result<(), String> {
        let table = args.table(&["table_name"], 0)?;
        let column = args.get(&["column"], 1).and_then(Expr::as_call).filter(|c| c.name() == "Column");
        let mut spec = schema::column(column.ok_or("with a column lockgate cannot read")?)?;
        let keys = [spec.def.name.clone()];
        if spec.primary_key && schema::autoincrement_column(std::slice::from_ref(&spec), &keys).is_some() {
            schema::make_serial(&mut spec.def, &mut spec.ddl);
        }
        let inline_references = flag(args.call, "inline_references");
        let constraint_ddl = std::mem::take(&mut spec.constraint_ddl);
        let (inline, separate): (Vec<_>, Vec<_>) = std::mem::take(&mut spec.constraints)
            .into_iter()
            .zip(constraint_ddl)
            .partition(|(c, _)| inline_references && matches!(c.kind, ConstraintKind::ForeignKey { .. }));
        spec.def.constraints = inline.into_iter().map(|(c, _)| c).collect();
        if spec.primary_key && flag(args.call, "inline_primary_key") {
            spec.def
                .constraints
                .push(keyed(None, ConstraintKind::PrimaryKey { columns: keys.to_vec(), using_index: None }));
        }
        let if_not_exists = flag(args.call, "if_not_exists");
        let ddl = &mut spec.ddl;
        if !spec.def.constraints.is_empty() {
            ddl.unknown.get_or_insert_with(|| {
                "`inline_references`/`inline_primary_key`, which lockgate does not write".to_string()
            });
        } else if if_not_exists {
            ddl.unknown.get_or_insert_with(|| "`ADD COLUMN IF NOT EXISTS`, which lockgate does not write".to_string());
        }
        let column_name = spec.def.name.clone();
        let column = OpKind::AddColumn { table: table.clone(), column: spec.def };
        self.emit_with((column, Ddl::Column(Box::new(spec.ddl))));
        for (constraint, ddl) in separate {
            self.add_constraint(&table, constraint, ddl);
        }
        if spec.unique && !spec.index {
            let unique = ConstraintKind::Unique { columns: vec![column_name.clone()], using_index: None };
            self.add_constraint(&table, keyed(None, unique), ConstraintDdl::default());
        }
        if spec.index {
            self.emit_with(schema::column_index(&table, &column_name, spec.unique));
        }
        Ok(())
    }

    fn drop_column(&mut self, args: &Args) -> Result<(), String> {
        let table = args.table(&["table_name"], 0)?;
        let column = args.text(&["column_name"], 1)?;
        self.emit(OpKind::DropColumn { table, column });
        Ok(())
    }

    /// Separate statements in Alembic's order: TYPE, NULL/NOT NULL, DEFAULT, COMMENT, RENAME.
    fn alter_column(&mut self, args: &Args) -> Result<(), String> {
        let table = args.table(&["table_name"], 0)?;
        let column = args.text(&["column_name"], 1)?;
        let call = args.call;
        let before = self.out.ops.len();
        if let Some(new_type) = call.kwarg("type_").filter(|t| !t.is_none()) {
            let using_expr = call.kwarg("postgresql_using").filter(|u| !u.is_none());
            let new_type = column_type(new_type);
            let using_sql = using_expr.map(|u| match &u.value {
                Value::Str(sql) => Ok(sql.clone()),
                Value::Call(c) if matches!(c.name(), "text" | "literal_column") => {
                    schema::sql_of(c).ok_or_else(|| "a `postgresql_using` lockgate cannot read".to_string())
                }
                _ => Err("a `postgresql_using` built at run time".to_string()),
            });
            let unknown = new_type.sql.clone().err().or_else(|| using_sql.clone().and_then(Result::err));
            let using = match (&using_sql, &new_type.sql) {
                (None, _) => false,
                (Some(Ok(using)), Ok(ty)) => sqltext::using_recomputes(&column, ty, using),
                _ => true,
            };
            let ddl = TypeChangeDdl {
                ty: new_type.sql.clone().unwrap_or_default(),
                using: using_sql.and_then(Result::ok),
                unknown,
            };
            let kind =
                OpKind::AlterColumnType { table: table.clone(), column: column.clone(), new_type: new_type.ty, using };
            self.emit_with((kind, Ddl::TypeChange(ddl)));
        }
        match call.kwarg("nullable").map(|n| &n.value) {
            Some(Value::Bool(false)) => self.emit(OpKind::SetNotNull { table: table.clone(), column: column.clone() }),
            Some(Value::Bool(true)) => self.emit(OpKind::DropNotNull { table: table.clone(), column: column.clone() }),
            Some(Value::None) | None => {}
            Some(other) => self.opaque(format!("`nullable=` decided at run time ({})", describe(other))),
        }
        if let Some(default) = call.kwarg("server_default") {
            self.alter_default(&table, &column, default);
        }
        if call.kwarg("comment").is_some_and(|c| c.as_bool() != Some(false)) {
            self.emit(OpKind::Comment { table: Some(table.clone()) });
        }
        if let Some(new_name) = call.kwarg("new_column_name").filter(|n| !n.is_none()) {
            let new_name = new_name.as_str().ok_or("with a new column name lockgate cannot read")?.to_string();
            self.emit(OpKind::RenameColumn { table, column, new_name });
        }
        if self.out.ops.len() == before {
            // Only `existing_*` arguments: on PostgreSQL Alembic sends nothing.
            self.emit(OpKind::Other { tag: "alter_column with no change for PostgreSQL".into() });
        }
        Ok(())
    }

    fn alter_default(&mut self, table: &QualifiedName, column: &str, default: &Expr) {
        let (table, column) = (table.clone(), column.to_string());
        match &default.value {
            Value::Bool(false) => {}
            Value::Call(call) if call.name() == "Identity" => {
                self.emit(OpKind::AlterTable { table, action: TableAction::Identity })
            }
            _ => {
                let (sql, unknown) = match schema::server_default_sql(default) {
                    Ok(sql) => (sql, None),
                    Err(why) => (None, Some(why)),
                };
                let kind = OpKind::SetDefault { table, column, default: schema::server_default(default) };
                self.emit_with((kind, Ddl::Default(DefaultDdl { default: sql, unknown })))
            }
        }
    }

    fn create_index(&mut self, args: &Args) -> Result<(), String> {
        let name = args.get(&["index_name", "name"], 0).and_then(name_of);
        let table = args.table(&["table_name"], 1)?;
        let keys = list(args.get(&["columns"], 2));
        let columns = key_columns(&keys);
        let call = args.call;
        let kind = OpKind::CreateIndex {
            name,
            table,
            columns,
            unique: flag(call, "unique"),
            concurrently: flag(call, "postgresql_concurrently"),
            partial: call.kwarg("postgresql_where").is_some_and(|w| !w.is_none()),
            reads: vec![],
            only: false,
        };
        self.emit_with((kind, Ddl::Index(Box::new(schema::index_ddl(&keys, call)))));
        Ok(())
    }

    fn drop_index(&mut self, args: &Args) -> Result<(), String> {
        let name =
            args.get(&["index_name", "name"], 0).and_then(name_of).ok_or("with an index name lockgate cannot read")?;
        let schema = args.call.kwarg("schema").and_then(Expr::as_str).map(str::to_string);
        let concurrently = flag(args.call, "postgresql_concurrently");
        self.emit(OpKind::DropIndex {
            indexes: vec![QualifiedName::new(schema, name)],
            concurrently,
            if_exists: flag(args.call, "if_exists"),
        });
        Ok(())
    }

    fn create_foreign_key(&mut self, args: &Args) -> Result<(), String> {
        let name = args.get(&["constraint_name", "name"], 0).and_then(name_of);
        let table = args.table_with_schema(&["source_table", "source"], 1, "source_schema")?;
        let referent = args.text(&["referent_table", "referent"], 2)?;
        let referent_schema = args.call.kwarg("referent_schema").and_then(Expr::as_str).map(str::to_string);
        let kind = ConstraintKind::ForeignKey {
            columns: key_columns(&list(args.get(&["local_cols"], 3))).into_iter().flatten().collect(),
            references: QualifiedName::new(referent_schema, referent),
            referenced_columns: key_columns(&list(args.get(&["remote_cols"], 4))).into_iter().flatten().collect(),
        };
        let constraint = ConstraintDef { name, kind, not_valid: flag(args.call, "postgresql_not_valid") };
        self.add_constraint(&table, constraint, schema::foreign_key_ddl(args.call));
        Ok(())
    }

    /// `create_unique_constraint` / `create_primary_key`: a name, a table and columns.
    fn add_keys(&mut self, args: &Args, kind: impl FnOnce(Vec<String>) -> ConstraintKind) -> Result<(), String> {
        let name = args.get(&["constraint_name", "name"], 0).and_then(name_of);
        let table = args.table(&["table_name", "source", "table"], 1)?;
        let columns = key_columns(&list(args.get(&["columns", "cols"], 2))).into_iter().flatten().collect();
        let ddl = schema::operation_keys_ddl(args.call);
        self.add_constraint(&table, keyed(name, kind(columns)), ddl);
        Ok(())
    }

    fn create_check_constraint(&mut self, args: &Args) -> Result<(), String> {
        let name = args.get(&["constraint_name", "name"], 0).and_then(name_of);
        let table = args.table(&["table_name", "source", "table"], 1)?;
        let condition = args.get(&["condition", "sqltext"], 2);
        let kind = ConstraintKind::Check { not_null_column: condition.and_then(schema::not_null_column) };
        let constraint = ConstraintDef { name, kind, not_valid: flag(args.call, "postgresql_not_valid") };
        self.add_constraint(&table, constraint, schema::condition_ddl(condition, args.call));
        Ok(())
    }

    fn create_exclude_constraint(&mut self, args: &Args) -> Result<(), String> {
        let name = args.get(&["constraint_name", "name"], 0).and_then(name_of);
        let table = args.table(&["table_name"], 1)?;
        let ddl = ConstraintDdl {
            unknown: Some("an EXCLUDE constraint, whose elements lockgate does not write".into()),
            ..ConstraintDdl::default()
        };
        self.add_constraint(&table, keyed(name, ConstraintKind::Exclusion), ddl);
        Ok(())
    }

    fn add_constraint(&mut self, table: &QualifiedName, constraint: ConstraintDef, ddl: ConstraintDdl) {
        let kind = OpKind::AddConstraint { table: table.clone(), constraint };
        self.emit_with((kind, Ddl::Constraint(Box::new(ddl))));
    }

    fn drop_constraint(&mut self, args: &Args) -> Result<(), String> {
        let name = args
            .get(&["constraint_name", "name"], 0)
            .and_then(name_of)
            .ok_or("with a constraint name lockgate cannot read")?;
        let table = args.table(&["table_name", "table"], 1)?;
        self.emit(OpKind::DropConstraint { table, name });
        Ok(())
    }

    /// `op.execute`, `conn.execute`, …: SQL text goes through the SQL front end, SQLAlchemy
    /// Core statements are read for their verb and table.
    fn execute(&mut self, statement: Option<&Expr>, binds: bool) {
        let Some(statement) = statement else { return self.opaque("`execute` without a statement".into()) };
        match &statement.value {
            Value::Str(text) => self.sql(statement, text, binds),
            Value::Call(call) => self.construct(call, binds),
            other => self.opaque(format!("`execute` of SQL built at run time ({})", describe(other))),
        }
    }

    fn construct(&mut self, call: &Call, binds: bool) {
        let chain = chain(call);
        let base = chain[0];
        let text_binds = match base.name() {
            "text" => Some(true),
            "dedent" => Some(binds),
            "DDL" | "literal_column" => Some(false),
            _ => None,
        };
        if let Some(binds) = text_binds {
            return self.execute(base.args.first(), binds);
        }
        match core_statement(&chain) {
            Some(kind) => self.emit(kind),
            None => self.opaque(format!("`execute` of `{}`, which lockgate cannot read", call.func)),
        }
    }

    fn sql(&mut self, literal: &Expr, text: &str, binds: bool) {
        self.flush_begin();
        let placeholders = if binds { sqltext::bind_parameters(text) } else { vec![] };
        let bound = !placeholders.is_empty();
        let before = self.out.ops.len();
        match self.source_range(literal, text) {
            // The string is the file's own text: statements and `-- lockgate:` comments inside
            // it keep their exact place.
            Some(range) => {
                let loaded = sql::load(self.text, range, &placeholders, self.statement);
                let text = self.text;
                // With bound parameters, what runs is known only once they are bound.
                self.out.ops.extend(loaded.ops.into_iter().map(|op| match bound {
                    true => op,
                    false => {
                        let span = op.span;
                        op.embedded_in(text, span)
                    }
                }));
                self.out.ignores.extend(loaded.directives.ignores);
                self.out.bad_directives.extend(loaded.directives.bad);
            }
            None => {
                let loaded = sql::load(text, 0..text.len(), &placeholders, self.statement);
                let span = self.span;
                self.out.ops.extend(loaded.ops.into_iter().map(|op| match bound {
                    true => Op { span, ..op },
                    false => op.embedded_in(text, span),
                }));
            }
        }
        if self.out.ops.len() == before {
            self.emit(OpKind::Other { tag: "execute of an empty SQL string".into() });
        }
    }

    /// Where a string literal's content is in the file, when it reads exactly as its value
    /// (no escapes, not concatenated).
    fn source_range(&self, literal: &Expr, value: &str) -> Option<Range<usize>> {
        let raw = self.text.get(literal.span.start..literal.span.end)?;
        let open = raw.find(['\'', '"'])?;
        if !raw[..open].chars().all(|c| c.is_ascii_alphabetic()) {
            return None;
        }
        let quote = &raw[open..];
        let width = if quote.starts_with("\"\"\"") || quote.starts_with("'''") { 3 } else { 1 };
        let start = literal.span.start + open + width;
        let end = literal.span.end.checked_sub(width)?;
        (start <= end && self.text.get(start..end) == Some(value)).then_some(start..end)
    }
}

/// The op with what writes the SQL Alembic sends for it.
fn op(kind: OpKind, ddl: Ddl, span: Span, statement: usize) -> Op {
    Op::new(kind, span, statement).sending(super::sql::sender(ddl))
}

/// Positional arguments of an operation, with the table `batch_op.*` leaves out supplied by
/// the enclosing `batch_alter_table`.
struct Args<'c> {
    call: &'c Call,
    /// The position of the table argument, and the batch that names the table.
    batch: Option<(usize, &'c Call)>,
}

impl<'c> Args<'c> {
    fn get(&self, keywords: &[&str], position: usize) -> Option<&'c Expr> {
        if let Some(value) = keywords.iter().find_map(|k| self.call.kwarg(k)) {
            return Some(value);
        }
        let index = match self.batch {
            Some((table, _)) if position == table => return None,
            Some((table, _)) if position > table => position - 1,
            _ => position,
        };
        self.call.args.get(index)
    }

    fn rest(&self, position: usize) -> &'c [Expr] {
        self.call.args.get(position..).unwrap_or_default()
    }

    fn text(&self, keywords: &[&str], position: usize) -> Result<String, String> {
        match self.get(keywords, position) {
            Some(Expr { value: Value::Str(text), .. }) => Ok(text.clone()),
            Some(other) => Err(format!("with `{}` known only at run time ({})", keywords[0], describe(&other.value))),
            None => Err(format!("without `{}`", keywords[0])),
        }
    }

    fn table(&self, keywords: &[&str], position: usize) -> Result<QualifiedName, String> {
        self.table_with_schema(keywords, position, "schema")
    }

    fn table_with_schema(&self, keywords: &[&str], position: usize, schema: &str) -> Result<QualifiedName, String> {
        let (name, owner) = match self.batch {
            Some((_, batch)) => (batch.arg("table_name", 0), batch),
            None => (self.get(keywords, position), self.call),
        };
        let schema = owner.kwarg(schema).or_else(|| owner.kwarg("schema")).and_then(Expr::as_str).map(str::to_string);
        match name.map(|n| &n.value) {
            Some(Value::Str(name)) => Ok(QualifiedName::new(schema, name)),
            Some(other) => Err(format!("on a table named at run time ({})", describe(other))),
            None => Err("without a table name".into()),
        }
    }
}

/// Where an operation takes its table; `batch_op.*` leaves that argument out.
fn table_position(name: &str) -> Option<usize> {
    match name {
        "add_column" | "drop_column" | "alter_column" | "create_table_comment" | "drop_table_comment" => Some(0),
        "create_index"
        | "drop_index"
        | "create_foreign_key"
        | "create_unique_constraint"
        | "create_check_constraint"
        | "create_primary_key"
        | "create_exclude_constraint"
        | "drop_constraint" => Some(1),
        _ => None,
    }
}

fn keyed(name: Option<String>, kind: ConstraintKind) -> ConstraintDef {
    ConstraintDef { name, kind, not_valid: false }
}

/// What a value lockgate could not read is, for messages.
fn describe(value: &Value) -> String {
    match value {
        Value::Dynamic(what) => what.clone(),
        Value::Name(name) => format!("`{name}`"),
        Value::Call(call) => format!("the result of `{}`", call.func),
        _ => "a value lockgate cannot read".into(),
    }
}

fn manager_name(manager: &Expr) -> String {
    match &manager.value {
        Value::Call(call) => format!("{}(…)", call.func),
        other => describe(other),
    }
}

/// A method chain from its innermost call outwards: `sa.update(t).where(…)` → [update, where].
fn chain(call: &Call) -> Vec<&Call> {
    let mut links = vec![call];
    while let Some(receiver) = links.last().and_then(|c| c.receiver_call()) {
        links.push(receiver);
    }
    links.reverse();
    links
}

/// The `execute` in a chain (`conn.execute(…).fetchall()`).
fn executed_call(call: &Call) -> Option<&Call> {
    chain(call).into_iter().rev().find(|c| matches!(c.name(), "execute" | "exec_driver_sql"))
}

/// SQLAlchemy Core statements: `sa.update(t).where(…)`, `t.insert().values(…)`, `sa.select(…)`,
/// `CreateSequence(…)`.
fn core_statement(chain: &[&Call]) -> Option<OpKind> {
    let position = chain.iter().position(|c| matches!(c.name(), "update" | "insert" | "delete" | "select"));
    let Some(position) = position else {
        return match chain[0].name() {
            "CreateSequence" => Some(OpKind::CreateSequence { name: sequence_name(chain[0])? }),
            "DropSequence" => Some(OpKind::Drop {
                object: DroppedObject::Sequence,
                names: vec![sequence_name(chain[0])?.to_string()],
            }),
            _ => None,
        };
    };
    let table = match position {
        0 => chain[0].args.first().and_then(table_name),
        _ => table_of_call(chain[position - 1]),
    };
    let has_where = chain.iter().any(|c| matches!(c.name(), "where" | "filter" | "filter_by"));
    let kind = match chain[position].name() {
        "select" => return Some(OpKind::Other { tag: "SELECT".into() }),
        "update" => DataChangeKind::Update,
        "delete" => DataChangeKind::Delete,
        _ if chain.iter().any(|c| c.name() == "from_select") => DataChangeKind::InsertSelect,
        _ => DataChangeKind::Insert,
    };
    let has_where = has_where && kind != DataChangeKind::Insert;
    Some(OpKind::DataChange { kind, table, has_where })
}

fn sequence_name(call: &Call) -> Option<QualifiedName> {
    let sequence = call.args.first()?.as_call()?;
    let name = sequence.args.first()?.as_str()?;
    Some(QualifiedName::new(sequence.kwarg("schema").and_then(Expr::as_str).map(str::to_string), name))
}

/// A table given as `sa.table("t", …)`, `sa.Table("t", metadata, …)` or a name.
fn table_name(expr: &Expr) -> Option<QualifiedName> {
    match &expr.value {
        Value::Str(name) => Some(QualifiedName::unqualified(name.clone())),
        Value::Call(call) => table_of_call(call),
        _ => None,
    }
}

fn table_of_call(call: &Call) -> Option<QualifiedName> {
    if !matches!(call.name(), "table" | "Table") {
        return None;
    }
    let name = call.args.first()?.as_str()?;
    Some(QualifiedName::new(call.kwarg("schema").and_then(Expr::as_str).map(str::to_string), name))
}

/// `sa.Enum(…).create(bind)`, `postgresql.ENUM(…).drop(bind)`, `sa.Sequence(…).create(bind)`.
fn type_method(call: &Call) -> Option<OpKind> {
    let receiver = call.receiver_call()?;
    let create = match call.name() {
        "create" => true,
        "drop" => false,
        _ => return None,
    };
    match receiver.name() {
        "Enum" | "ENUM" => {
            let name = receiver.kwarg("name").and_then(Expr::as_str)?;
            let schema = receiver.kwarg("schema").and_then(Expr::as_str).map(str::to_string);
            let name = QualifiedName::new(schema, name);
            let labels = receiver.args.iter().map(|a| a.as_str().map(str::to_string)).collect::<Option<Vec<_>>>();
            Some(match create {
                true => OpKind::CreateEnum { name, labels: labels.filter(|l| !l.is_empty()) },
                false => OpKind::Drop { object: DroppedObject::Type, names: vec![name.to_string()] },
            })
        }
        "Sequence" => {
            let name = QualifiedName::unqualified(receiver.args.first()?.as_str()?);
            Some(match create {
                true => OpKind::CreateSequence { name },
                false => OpKind::Drop { object: DroppedObject::Sequence, names: vec![name.to_string()] },
            })
        }
        _ => None,
    }
}

/// Modules and functions whose calls compute values without touching the database.
const VALUE_MODULES: &[&str] = &[
    "sa",
    "sqlalchemy",
    "postgresql",
    "pg",
    "psql",
    "json",
    "datetime",
    "uuid",
    "logging",
    "logger",
    "log",
    "LOG",
    "LOGGER",
    "warnings",
    "re",
    "os",
    "textwrap",
    "time",
    "math",
    "itertools",
    "functools",
    "collections",
    "typing",
    "decimal",
    "hashlib",
    "random",
    "string",
    "copy",
    "enum",
    "context",
];
const VALUE_FUNCTIONS: &[&str] = &[
    "print",
    "len",
    "str",
    "int",
    "float",
    "bool",
    "list",
    "dict",
    "set",
    "frozenset",
    "tuple",
    "range",
    "enumerate",
    "zip",
    "sorted",
    "reversed",
    "isinstance",
    "getattr",
    "hasattr",
    "min",
    "max",
    "sum",
    "any",
    "all",
    "repr",
    "format",
    "dedent",
    "text",
    "table",
    "column",
    "select",
    "literal",
    "literal_column",
    "bindparam",
    "and_",
    "or_",
    "not_",
    "Table",
    "Column",
    "MetaData",
    "Enum",
    "ENUM",
    "Sequence",
    "ForeignKey",
    "Index",
    "func",
    "cast",
    "case",
    "null",
    "true",
    "false",
    "inspect",
    "op.f",
    "op.get_bind",
    "op.get_context",
    "op.inline_literal",
    "op.batch_alter_table",
];
/// Methods that do reach the database, whatever they are called on.
const EFFECT_METHODS: &[&str] = &[
    "execute",
    "exec_driver_sql",
    "create",
    "drop",
    "create_all",
    "drop_all",
    "commit",
    "flush",
    "add",
    "add_all",
    "delete",
    "merge",
    "bulk_save_objects",
    "bulk_insert_mappings",
    "bulk_update_mappings",
    "begin",
    "rollback",
    "invoke",
    "run_async",
];

/// Methods of Python's own containers, strings and loggers.
const PURE_METHODS: &[&str] = &[
    "append",
    "extend",
    "items",
    "keys",
    "values",
    "get",
    "pop",
    "format",
    "replace",
    "join",
    "split",
    "strip",
    "lower",
    "upper",
    "startswith",
    "endswith",
    "setdefault",
    "most_common",
    "copy",
    "count",
    "index",
    "encode",
    "decode",
    "isoformat",
    "strftime",
    "debug",
    "info",
    "warning",
    "warn",
    "error",
    "exception",
];

/// A call that only builds a value (`sa.table(…)`, `op.get_bind()`, `logger.info(…)`,
/// `", ".join(…)`).
fn is_value(call: &Call) -> bool {
    let links = chain(call);
    let base = links[0];
    let module = base.func.split('.').next().unwrap_or_default();
    let base_is_value = VALUE_FUNCTIONS.contains(&base.func.as_str())
        || VALUE_MODULES.contains(&module)
        || entities::CLASSES.contains(&base.func.as_str());
    let pure_method = call.func.contains('.') && PURE_METHODS.contains(&call.name());
    (base_is_value || pure_method) && links[1..].iter().all(|c| !EFFECT_METHODS.contains(&c.name()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::alembic::parse;
    use crate::source::python::Module;

    fn lowered(body: &str) -> (String, Lowered) {
        let text = format!("from alembic import op\nimport sqlalchemy as sa\n\n\ndef upgrade():\n{body}\n");
        let module = Module::parse(&text).expect("parses");
        let steps = parse::upgrade(&module, None).steps.expect("upgrade");
        let lowered = lower(&text, &steps);
        (text, lowered)
    }

    fn kinds(body: &str) -> Vec<OpKind> {
        lowered(body).1.ops.into_iter().map(|op| op.kind).collect()
    }

    #[test]
    fn autocommit_block_commits_before_and_begins_after() {
        let body = "    op.add_column('t', sa.Column('a', sa.Text()))\n    with op.get_context().autocommit_block():\n        op.create_index('i', 't', ['a'], postgresql_concurrently=True)\n    op.drop_column('t', 'b')";
        let (_, lowered) = lowered(body);
        let shape: Vec<String> = lowered.ops.iter().map(|op| format!("{}:{}", op.statement, tag(&op.kind))).collect();
        assert_eq!(shape, vec!["0:AddColumn", "1:Commit", "2:CreateIndex", "3:Begin", "4:DropColumn", "5:Commit"]);
    }

    #[test]
    fn autocommit_block_at_the_end_leaves_no_transaction_to_close() {
        let body = "    with op.get_context().autocommit_block():\n        op.create_index('i', 't', ['a'], postgresql_concurrently=True)";
        let shape: Vec<&str> = kinds(body).iter().map(tag).collect();
        assert_eq!(shape, vec!["Commit", "CreateIndex"]);
    }

    fn tag(kind: &OpKind) -> &'static str {
        match kind {
            OpKind::Transaction(TransactionControl::Commit) => "Commit",
            OpKind::Transaction(TransactionControl::Begin) => "Begin",
            OpKind::AddColumn { .. } => "AddColumn",
            OpKind::CreateIndex { .. } => "CreateIndex",
            OpKind::DropColumn { .. } => "DropColumn",
            _ => "other",
        }
    }

    #[test]
    fn batch_operations_take_the_batch_table_and_shift_arguments() {
        let body = "    with op.batch_alter_table('orders', schema='shop') as batch_op:\n        batch_op.create_index(batch_op.f('ix_orders_day'), ['day'], unique=True)\n        batch_op.create_foreign_key('fk', 'users', ['user_id'], ['id'])";
        let ops = kinds(body);
        let table = QualifiedName::new(Some("shop".into()), "orders");
        assert!(
            matches!(&ops[0], OpKind::CreateIndex { name: Some(n), table: t, unique: true, .. } if n == "ix_orders_day" && *t == table)
        );
        let OpKind::AddConstraint { table: t, constraint, .. } = &ops[1] else { panic!("{ops:?}") };
        assert_eq!(*t, table);
        let ConstraintKind::ForeignKey { columns, references, .. } = &constraint.kind else { panic!("{constraint:?}") };
        assert_eq!((columns.as_slice(), references.name.as_str()), (&["user_id".to_string()][..], "users"));
    }

    #[test]
    fn lone_integer_primary_key_is_serial() {
        let ops = kinds(
            "    op.create_table('t', sa.Column('id', sa.Integer, primary_key=True), sa.Column('n', sa.Integer))",
        );
        let OpKind::CreateTable { columns, constraints, .. } = &ops[0] else { panic!("{ops:?}") };
        assert!(columns[0].serial && columns[0].not_null);
        assert!(!columns[1].serial);
        assert!(
            matches!(&constraints[0].kind, ConstraintKind::PrimaryKey { columns, .. } if columns == &["id".to_string()])
        );
        let identity =
            kinds("    op.create_table('t', sa.Column('id', sa.BigInteger, sa.Identity(), primary_key=True))");
        let OpKind::CreateTable { columns, .. } = &identity[0] else { panic!("{identity:?}") };
        assert!(columns[0].identity && !columns[0].serial);
    }

    #[test]
    fn enums_are_created_before_their_table() {
        let ops = kinds("    op.create_table('t', sa.Column('mood', sa.Enum('a', 'b', name='mood')))");
        assert!(
            matches!(&ops[0], OpKind::CreateEnum { name, labels: Some(labels) } if name.name == "mood" && labels.len() == 2)
        );
        assert!(matches!(&ops[1], OpKind::CreateTable { .. }));
    }

    #[test]
    fn alter_column_emits_alembics_statements_in_order() {
        let ops = kinds("    op.alter_column('t', 'c', type_=sa.BigInteger(), nullable=False, server_default=sa.text('gen_random_uuid()'), new_column_name='d', postgresql_using='c::bigint')");
        assert!(matches!(&ops[0], OpKind::AlterColumnType { new_type, using: false, .. } if new_type.name == "bigint"));
        assert!(matches!(&ops[1], OpKind::SetNotNull { .. }));
        assert!(matches!(&ops[2], OpKind::SetDefault { default: Some(crate::ir::DefaultExpr::Volatile(_)), .. }));
        assert!(matches!(&ops[3], OpKind::RenameColumn { new_name, .. } if new_name == "d"));
    }

    #[test]
    fn execute_text_points_into_the_string() {
        let (text, lowered) =
            lowered("    op.execute(\"\"\"\n        SET lock_timeout = '2s';\n        DROP INDEX ix_a;\n    \"\"\")");
        let spans: Vec<&str> = lowered.ops.iter().map(|op| &text[op.span.start..op.span.end]).collect();
        assert_eq!(spans, vec!["SET lock_timeout = '2s'", "DROP INDEX ix_a"]);
        assert_eq!(lowered.ops[1].statement, 1);
    }

    #[test]
    fn bind_parameters_do_not_break_the_sql() {
        let ops = kinds("    op.get_bind().execute(sa.text('UPDATE t SET a = :a WHERE id = :id'), {'a': 1, 'id': 2})");
        assert!(matches!(&ops[0], OpKind::DataChange { kind: DataChangeKind::Update, has_where: true, .. }), "{ops:?}");
    }

    #[test]
    fn dynamic_names_are_opaque() {
        let ops = kinds("    for t in get_tables():\n        op.drop_column(t, 'legacy')");
        assert!(ops.iter().all(|op| matches!(op, OpKind::Opaque { .. })), "{ops:?}");
        assert_eq!(ops.len(), 3, "the helper call, the loop, the operation: {ops:?}");
    }

    #[test]
    fn constant_loops_are_unrolled() {
        let ops = kinds("    for t in ('a', 'b'):\n        op.drop_column(t, 'legacy')");
        assert_eq!(ops.len(), 2);
        assert!(ops.iter().all(|op| matches!(op, OpKind::DropColumn { .. })));
    }
}
