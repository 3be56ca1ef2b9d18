//! Django operations → IR ops, against the replayed model state. Each operation changes the
//! state the way Django's `state_forwards` does, and yields the ops its `database_forwards`
//! would run on PostgreSQL, each with the SQL Django's schema editor sends for it (`sql.rs`).

use super::run_python::Code;
use crate::ir::{
    quote_identifier, ColumnDef, ConstraintDef, ConstraintKind, DataChangeKind, DefaultExpr, Op, OpKind, QualifiedName,
    Span,
};
use crate::source::editor_sql::{
    ColumnDdl, ConstraintDdl, Ddl, DefaultDdl, IndexDdl, IndexKey, PatternIndex, TableDdl, TypeChangeDdl,
};
use crate::source::python::{Call, Expr, Value};
use crate::source::sql;

use super::check;
use super::state::{
    default_table, field_from_call, generated_name, model_key, DjangoSettings, Field, Model, ModelKey, ProjectState,
};

/// Lowers the operations of one migration, advancing `state`.
pub struct Lowering<'a> {
    pub app: &'a str,
    pub state: &'a mut ProjectState,
    pub settings: &'a DjangoSettings,
    pub ops: Vec<Op>,
    /// The schema editor's deferred SQL (a new model's foreign keys and indexes, an added
    /// field's index): Django runs it when the migration's operations are done, after any
    /// RunPython, so its locks are taken then. Each op keeps its operation's place for ignores.
    deferred: Vec<Op>,
    /// Each operation with the statement index its ops start at (RunSQL may span several),
    /// for placing `# lockgate: ignore` comments.
    pub operations: Vec<(Span, usize)>,
    /// The migration file's text, where RunPython's functions are read.
    text: &'a str,
    statement: usize,
    span: Span,
}

impl<'a> Lowering<'a> {
    pub fn new(app: &'a str, state: &'a mut ProjectState, settings: &'a DjangoSettings, text: &'a str) -> Self {
        Lowering {
            app,
            state,
            settings,
            ops: vec![],
            deferred: vec![],
            operations: vec![],
            text,
            statement: 0,
            span: Span::default(),
        }
    }

    /// The migration's ops, the deferred SQL last, as the schema editor runs it on leaving.
    pub fn finish(mut self) -> (Vec<Op>, Vec<(Span, usize)>) {
        self.run_deferred();
        (self.ops, self.operations)
    }

    fn run_deferred(&mut self) {
        self.ops.append(&mut self.deferred);
    }

    /// Runs now the deferred SQL on `table` (and, when the whole model is renamed or dropped,
    /// the foreign keys that reference it), before an operation renames or drops what it
    /// names there: Django rewrites or drops those statements then; running them first keeps
    /// the names they use right. The rest stays deferred.
    fn run_deferred_on(&mut self, table: &QualifiedName, whole_model: bool) {
        let names = |op: &Op| {
            op.kind.table() == Some(table)
                || (whole_model
                    && matches!(&op.kind, OpKind::AddConstraint { constraint, .. }
                        if matches!(&constraint.kind, ConstraintKind::ForeignKey { references, .. } if references == table)))
        };
        let (now, later): (Vec<Op>, Vec<Op>) = std::mem::take(&mut self.deferred).into_iter().partition(names);
        self.ops.extend(now);
        self.deferred = later;
    }

    /// The table of a model an operation renames, drops, or changes a column of, and whether
    /// it is the whole model.
    fn renamed_or_dropped(&self, call: &Call) -> Option<(QualifiedName, bool)> {
        let (keyword, whole_model) = match call.name() {
            "DeleteModel" | "AlterModelTable" => ("name", true),
            "RenameModel" => ("old_name", true),
            "RemoveField" | "AlterField" | "RenameField" => ("model_name", false),
            _ => return None,
        };
        let name = self.model_name(call, keyword)?;
        self.state.model(&self.key(name)).map(|model| (model.table_name(), whole_model))
    }

    fn defer(&mut self, (kind, ddl): (OpKind, Ddl)) {
        let op = self.op(kind, ddl);
        self.deferred.push(op);
    }

    /// The op with what writes the SQL Django sends for it.
    fn op(&self, kind: OpKind, ddl: Ddl) -> Op {
        Op::new(kind, self.span, self.statement).sending(super::sql::sender(ddl))
    }

    /// Each operation is one "statement" for ignores and transaction tracking.
    pub fn operation(&mut self, expr: &Expr) {
        self.span = expr.span;
        self.operations.push((expr.span, self.statement));
        self.apply(expr, true);
        self.statement += 1;
    }

    /// An op whose fields say all Django writes for it.
    fn emit(&mut self, kind: OpKind) {
        self.emit_with((kind, Ddl::Plain));
    }

    fn emit_with(&mut self, (kind, ddl): (OpKind, Ddl)) {
        let op = self.op(kind, ddl);
        self.ops.push(op);
    }

    fn opaque(&mut self, what: String) {
        self.emit(OpKind::Opaque { what });
    }

    /// `database`: whether the operation touches the database (false inside `state_operations`).
    fn apply(&mut self, expr: &Expr, database: bool) {
        let Some(call) = expr.as_call() else {
            let what = match &expr.value {
                Value::Dynamic(what) => format!("an operation built at run time ({what})"),
                _ => "an operation lockgate cannot read".to_string(),
            };
            return self.opaque(what);
        };
        if call.splat {
            return self.opaque(format!("`{}` called with *args/**kwargs", call.name()));
        }
        if let Some((table, whole_model)) = self.renamed_or_dropped(call) {
            self.run_deferred_on(&table, whole_model);
        }
        let before = self.ops.len() + self.deferred.len();
        match call.name() {
            "CreateModel" => self.create_model(call, database),
            "DeleteModel" => self.delete_model(call, database),
            "RenameModel" => self.rename_model(call, database),
            "AlterModelTable" => self.alter_model_table(call, database),
            "AddField" => self.add_field(call, database),
            "RemoveField" => self.remove_field(call, database),
            "AlterField" => self.alter_field(call, database),
            "RenameField" => self.rename_field(call, database),
            "AddIndex" | "AddIndexConcurrently" => self.add_index(call, database),
            "RemoveIndex" | "RemoveIndexConcurrently" => self.remove_index(call, database),
            "RenameIndex" => self.rename_index(call, database),
            "AddConstraint" | "AddConstraintNotValid" => self.add_constraint(call, database),
            "RemoveConstraint" => self.remove_constraint(call, database),
            "ValidateConstraint" => self.validate_constraint(call, database),
            "AlterUniqueTogether" | "AlterIndexTogether" => self.alter_together(call, database),
            "SeparateDatabaseAndState" => self.separate(call),
            "RunSQL" => self.run_sql(call, database),
            "RunPython" => {
                if database {
                    self.run_python(call)
                }
            }
            "AlterModelOptions"
            | "AlterModelManagers"
            | "AlterConstraint"
            | "AlterModelTableComment"
            | "AlterOrderWithRespectTo"
            | "CreateExtension"
            | "BloomExtension"
            | "BtreeGinExtension"
            | "BtreeGistExtension"
            | "CITextExtension"
            | "CryptoExtension"
            | "HStoreExtension"
            | "TrigramExtension"
            | "UnaccentExtension"
            | "CreateCollation"
            | "RemoveCollation" => {
                if database {
                    self.emit(OpKind::Other { tag: call.name().to_string() })
                }
            }
            other => {
                if database {
                    self.opaque(format!("custom operation `{other}`"))
                }
            }
        }
        let after = self.ops.len() + self.deferred.len();
        if database && after == before && !matches!(call.name(), "RunPython" | "SeparateDatabaseAndState") {
            // Nothing reaches the database (an unmanaged model, a state-only change): still counted.
            self.emit(OpKind::Other { tag: format!("{} (no database change)", call.name()) });
        }
    }

    /// RunPython, judged by what its function's body calls (see `run_python`).
    fn run_python(&mut self, call: &Call) {
        let Some(code) = call.arg("code", 0) else {
            return self.opaque("RunPython without its code".to_string());
        };
        match super::run_python::classify(self.text, code) {
            Code::Writes => self.emit(OpKind::DataChange { kind: DataChangeKind::Code, table: None, has_where: true }),
            Code::Noop => self.emit(OpKind::Other { tag: "RunPython.noop (no database change)".into() }),
            Code::ChangesNoRows => self.emit(OpKind::Other { tag: crate::ir::CODE_CHANGING_NO_ROWS.into() }),
            Code::Unreadable(why) => self.opaque(format!("RunPython {why}")),
        }
    }

    fn model_name<'c>(&self, call: &'c Call, keyword: &str) -> Option<&'c str> {
        call.arg(keyword, 0).and_then(Expr::as_str)
    }

    fn key(&self, model: &str) -> ModelKey {
        model_key(self.app, model)
    }

    /// The managed model an operation names, for database work.
    fn managed(&self, key: &ModelKey) -> Option<&Model> {
        self.state.model(key).filter(|m| !m.unmanaged)
    }

    /// The column as CreateModel writes it (`BSE.table_sql`), and how Django writes it; AddField
    /// adds its default and FK.
    fn column_def(&self, table: &str, field: &Field) -> Option<(ColumnDef, ColumnDdl)> {
        let ty = match (&field.ty, &field.relation) {
            (_, Some(relation)) if relation.many_to_many => return None,
            (_, Some(relation)) => self.state.relation_type(relation, self.app, self.settings),
            (Some(ty), None) => ty.clone(),
            (None, None) => return None,
        };
        let mut constraints = vec![];
        let mut constraint_ddl = vec![];
        if field.primary_key {
            constraints.push(ConstraintDef {
                name: None,
                kind: ConstraintKind::PrimaryKey { columns: vec![field.column.clone()], using_index: None },
                not_valid: false,
            });
        } else if field.unique {
            constraints.push(ConstraintDef {
                name: None,
                kind: ConstraintKind::Unique { columns: vec![field.column.clone()], using_index: None },
                not_valid: false,
            });
        }
        constraint_ddl.extend(constraints.iter().map(|_| ConstraintDdl::default()));
        if field.positive {
            constraints.push(ConstraintDef {
                name: None,
                kind: ConstraintKind::Check { not_null_column: None },
                not_valid: false,
            });
            // `data_type_check_constraints`: the check a Positive* field carries.
            constraint_ddl.push(ConstraintDdl {
                check: Some(format!("{} >= 0", quote_identifier(&field.column))),
                ..ConstraintDdl::default()
            });
        }
        let ddl = self.column_ddl(table, field, constraint_ddl);
        let column = ColumnDef {
            name: field.column.clone(),
            ty,
            not_null: !field.null,
            default: field.db_default.clone(),
            identity: field.auto,
            serial: false,
            generated: field.generated.then_some(crate::ir::Generated::Stored),
            constraints,
        };
        Some((column, ddl))
    }

    /// How Django's PostgreSQL schema editor writes the column (`BSE._iter_column_sql`).
    fn column_ddl(&self, table: &str, field: &Field, constraints: Vec<ConstraintDdl>) -> ColumnDdl {
        let ty = match &field.relation {
            Some(relation) => self.relation_key(relation).map(|(ty, _)| ty),
            None => field.type_sql.clone(),
        };
        let default = field.db_default_sql.clone().transpose();
        let (ty_text, type_unknown) = match ty {
            Ok(ty) => (ty, None),
            Err(why) => (String::new(), Some(why)),
        };
        // `PSE._create_like_index_sql`: varchar/text columns that are indexed or unique (a
        // primary key counts as unique) get a second index for LIKE, unless they are arrays.
        let indexed = field.db_index || field.unique || field.primary_key;
        let opclass = match ty_text.as_str() {
            t if t.contains('[') => None,
            t if t.starts_with("varchar") => Some("varchar_pattern_ops"),
            t if t.starts_with("text") => Some("text_pattern_ops"),
            _ => None,
        };
        let pattern_index = opclass.filter(|_| indexed).map(|opclass| PatternIndex {
            name: generated_name(table, std::slice::from_ref(&field.column), "_like"),
            opclass: opclass.to_string(),
        });
        let unknown = type_unknown
            .or_else(|| default.as_ref().err().cloned())
            .or_else(|| {
                field.generated.then(|| "a GeneratedField: Django compiles its expression when the migration runs".into())
            })
            .or_else(|| {
                field.comment.then(|| "db_comment: Django adds a COMMENT ON COLUMN statement lockgate does not write".into())
            })
            .or_else(|| {
                (field.collation.is_some() && pattern_index.is_some()).then(|| {
                    "a db_collation on an indexed text column: whether Django builds its LIKE index depends on the collation's determinism, read from the database".into()
                })
            });
        ColumnDdl {
            ty: ty_text,
            collation: field.collation.clone(),
            default: default.ok().flatten(),
            identity: field.auto.then(|| "GENERATED BY DEFAULT AS IDENTITY".to_string()),
            constraints,
            pattern_index,
            unknown,
        }
    }

    /// A relation's column type (the target key's `rel_db_type`) and the key's column.
    fn relation_key(&self, relation: &super::state::Relation) -> Result<(String, String), String> {
        let key = super::state::resolve(&relation.target, self.app, self.settings);
        let Some(model) = self.state.model(&key) else {
            // django.contrib.auth's User keeps the AutoField of its first migration.
            return if key == model_key("auth", "user") {
                Ok(("integer".into(), "id".into()))
            } else {
                Err(format!(
                    "a relation to `{}.{}`, which is not among the migrations read: its key type is unknown",
                    key.0, key.1
                ))
            };
        };
        let pk = model.primary_key().ok_or_else(|| {
            format!("a relation to `{}`, whose primary key the replayed history does not show", model.name)
        })?;
        let ty = match &pk.relation {
            Some(inner) => self.relation_key(inner)?.0,
            None => pk.type_sql.clone()?,
        };
        Ok((ty, pk.column.clone()))
    }

    /// Django's FK: deferred, `DEFERRABLE INITIALLY DEFERRED`, ON DELETE only for 6.1's DB_* actions.
    fn foreign_key_ddl(&self, field: &Field) -> ConstraintDdl {
        let unknown = match field.relation.as_ref().map(|r| self.relation_key(r)) {
            Some(Ok((_, column))) if column != "id" => {
                Some(format!("a relation to a primary key named `{column}`: lockgate names and points the FK at `id`"))
            }
            Some(Err(why)) => Some(why),
            _ => None,
        };
        ConstraintDdl { unknown, ..deferred_fk_ddl(field.on_delete_db.clone()) }
    }

    /// The FK Django adds for `field` after creating its column, with how it writes it.
    fn foreign_key(&self, table: &QualifiedName, field: &Field) -> Option<(ConstraintDef, ConstraintDdl)> {
        let relation = field.relation.as_ref().filter(|r| !r.many_to_many && r.db_constraint)?;
        let references = self.state.relation_table(relation, self.app, self.settings);
        let suffix = format!("_fk_{}_id", references.name);
        Some(ConstraintDef {
            name: Some(generated_name(&table.name, std::slice::from_ref(&field.column), &suffix)),
            kind: ConstraintKind::ForeignKey {
                columns: vec![field.column.clone()],
                references,
                referenced_columns: vec!["id".into()],
            },
            not_valid: false,
        })
        .map(|fk| (fk, self.foreign_key_ddl(field)))
    }

    fn field_index(&self, table: &QualifiedName, field: &Field) -> Option<(OpKind, Ddl)> {
        let has_column = field.relation.as_ref().map_or(field.ty.is_some(), |r| !r.many_to_many);
        (field.db_index && !field.unique && has_column).then(|| {
            let name = generated_name(&table.name, std::slice::from_ref(&field.column), "");
            plain_index_op(name, table, std::slice::from_ref(&field.column))
        })
    }

    fn fields_of(&self, call: &Call) -> Vec<(String, Field)> {
        let Some(items) = call.arg("fields", 1).and_then(Expr::items) else { return vec![] };
        items
            .iter()
            .filter_map(|item| {
                let pair = item.items()?;
                let name = pair.first()?.as_str()?;
                let constructor = pair.get(1)?.as_call()?;
                Some((name.to_string(), field_from_call(constructor, name, self.app, self.settings)))
            })
            .collect()
    }

    fn create_model(&mut self, call: &Call, database: bool) {
        let Some(name) = self.model_name(call, "name") else { return self.opaque("CreateModel without a name".into()) };
        let options = call.kwarg("options");
        let option = |key: &str| -> Option<&Expr> {
            match options.map(|o| &o.value) {
                Some(Value::Dict(pairs)) => pairs.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v),
                _ => None,
            }
        };
        let table_option = option("db_table").and_then(Expr::as_str).map(str::to_string);
        let unmanaged = option("managed").and_then(Expr::as_bool) == Some(false)
            || option("proxy").and_then(Expr::as_bool) == Some(true);
        let fields = self.fields_of(call);
        let model = Model {
            app: self.app.to_string(),
            name: name.to_string(),
            table_pinned: table_option.is_some(),
            table: table_option.unwrap_or_else(|| default_table(self.app, name)),
            fields,
            unmanaged,
            unique_together: option("unique_together").map(field_sets).unwrap_or_default(),
            index_together: option("index_together").map(field_sets).unwrap_or_default(),
        };
        let key = self.key(name);
        let indexes: Vec<Expr> = option("indexes").and_then(Expr::items).map(<[Expr]>::to_vec).unwrap_or_default();
        let constraints: Vec<Expr> =
            option("constraints").and_then(Expr::items).map(<[Expr]>::to_vec).unwrap_or_default();
        self.state.models.insert(key.clone(), model.clone());
        if !database || model.unmanaged {
            return;
        }
        let table = model.table_name();
        let (columns, column_ddl) = model.fields.iter().filter_map(|(_, f)| self.column_def(&model.table, f)).unzip();
        let table_comment = option("db_table_comment").is_some_and(|c| !c.is_none());
        let ddl = TableDdl {
            columns: column_ddl,
            constraints: vec![],
            unknown: table_comment.then(|| {
                "db_table_comment: Django adds a COMMENT ON TABLE statement lockgate does not write".to_string()
            }),
        };
        self.emit_with((
            OpKind::CreateTable {
                table: table.clone(),
                columns,
                constraints: vec![],
                partition_of: None,
                partitioned: false,
                if_not_exists: false,
            },
            Ddl::Table(ddl),
        ));
        for (field_name, field) in &model.fields {
            if field.relation.as_ref().is_some_and(|r| r.many_to_many && !r.through) {
                self.create_through_table(&model, field_name, field);
            }
        }
        // unique_together goes into the CREATE TABLE's run; then the deferred SQL, run at the
        // end of the migration: foreign keys, then indexes.
        for set in &model.unique_together {
            self.emit_with(unique_together_op(&table, &model.columns(set)));
        }
        for (_, field) in &model.fields {
            if let Some((fk, ddl)) = self.foreign_key(&table, field) {
                self.defer(add_constraint_op(&table, fk, ddl));
            }
        }
        for (_, field) in &model.fields {
            if let Some(index) = self.field_index(&table, field) {
                self.defer(index);
            }
        }
        for set in &model.index_together {
            self.defer(index_together_op(&table, &model.columns(set)));
        }
        for index in &indexes {
            self.index_op(&key, index, false);
        }
        for constraint in &constraints {
            self.constraint_op(&key, constraint, false);
        }
    }

    fn create_through_table(&mut self, model: &Model, field_name: &str, field: &Field) {
        let Some(relation) = &field.relation else { return };
        let target = super::state::resolve(&relation.target, self.app, self.settings);
        let through = QualifiedName::unqualified(format!("{}_{field_name}", model.table));
        let own = model.name.to_ascii_lowercase();
        let (from, to) = if target.1 == own {
            (format!("from_{own}_id"), format!("to_{own}_id"))
        } else {
            (format!("{own}_id"), format!("{}_id", target.1))
        };
        let own_type =
            model.primary_key().and_then(|pk| pk.ty.clone()).unwrap_or_else(|| crate::ir::SqlType::named("bigint"));
        let target_type = self.state.relation_type(relation, self.app, self.settings);
        let own_key = model.primary_key().map_or_else(
            || Err(format!("the join table of `{}`, whose primary key the replayed history does not show", model.name)),
            |pk| match &pk.relation {
                Some(inner) => self.relation_key(inner).map(|(ty, _)| ty),
                None => pk.type_sql.clone(),
            },
        );
        let column = |name: &str, ty: crate::ir::SqlType, ty_sql: Result<String, String>| {
            let def = ColumnDef {
                name: name.to_string(),
                ty,
                not_null: true,
                default: None,
                identity: false,
                serial: false,
                generated: None,
                constraints: vec![],
            };
            let ddl =
                ColumnDdl { ty: ty_sql.clone().unwrap_or_default(), unknown: ty_sql.err(), ..ColumnDdl::default() };
            (def, ddl)
        };
        // The join table's key is DEFAULT_AUTO_FIELD at migrate time.
        let auto = match self.settings.default_auto_field.as_str() {
            "AutoField" => "integer",
            "SmallAutoField" => "smallint",
            _ => "bigint",
        };
        let (mut id, mut id_ddl) = column("id", crate::ir::SqlType::named("bigint"), Ok(auto.to_string()));
        id.identity = true;
        id.constraints.push(ConstraintDef {
            name: None,
            kind: ConstraintKind::PrimaryKey { columns: vec!["id".into()], using_index: None },
            not_valid: false,
        });
        id_ddl.identity = Some("GENERATED BY DEFAULT AS IDENTITY".into());
        id_ddl.constraints.push(ConstraintDdl::default());
        let target_key = self.relation_key(relation).map(|(ty, _)| ty);
        let (columns, column_ddl) =
            [(id, id_ddl), column(&from, own_type, own_key), column(&to, target_type, target_key)].into_iter().unzip();
        self.emit_with((
            OpKind::CreateTable {
                table: through.clone(),
                columns,
                constraints: vec![],
                partition_of: None,
                partitioned: false,
                if_not_exists: false,
            },
            Ddl::Table(TableDdl { columns: column_ddl, ..TableDdl::default() }),
        ));
        let target_table = self.state.relation_table(relation, self.app, self.settings);
        for (col, references) in [(from.clone(), model.table_name()), (to.clone(), target_table)] {
            let suffix = format!("_fk_{}_id", references.name);
            let fk = ConstraintDef {
                name: Some(generated_name(&through.name, std::slice::from_ref(&col), &suffix)),
                kind: ConstraintKind::ForeignKey {
                    columns: vec![col.clone()],
                    references,
                    referenced_columns: vec!["id".into()],
                },
                not_valid: false,
            };
            self.emit_with(add_constraint_op(&through, fk, deferred_fk_ddl(None)));
        }
        self.emit_with(unique_together_op(&through, &[from.clone(), to.clone()]));
        let (index, mut ddl) = index_together_op(&through, &[to]);
        if let Ddl::Index(ddl) = &mut ddl {
            // Django indexes each of the two key columns under its field-index name; this op
            // stands for them only as far as the lock model needs.
            ddl.unknown = Some("the indexes of an auto-created many-to-many join table".into());
        }
        self.emit_with((index, ddl));
    }

    fn delete_model(&mut self, call: &Call, database: bool) {
        let Some(name) = self.model_name(call, "name") else { return };
        let key = self.key(name);
        if database {
            if let Some(model) = self.managed(&key) {
                let mut tables = vec![model.table_name()];
                for (field_name, field) in &model.fields {
                    if field.relation.as_ref().is_some_and(|r| r.many_to_many && !r.through) {
                        tables.insert(0, QualifiedName::unqualified(format!("{}_{field_name}", model.table)));
                    }
                }
                self.emit(OpKind::DropTable { tables, cascade: true });
            }
        }
        self.state.models.remove(&key);
    }

    fn rename_model(&mut self, call: &Call, database: bool) {
        let (Some(old), Some(new)) =
            (self.model_name(call, "old_name"), call.arg("new_name", 1).and_then(Expr::as_str))
        else {
            return;
        };
        let (old_key, new_key) = (self.key(old), self.key(new));
        let Some(mut model) = self.state.models.remove(&old_key) else { return };
        let old_table = model.table_name();
        model.name = new.to_string();
        if !model.table_pinned {
            model.table = default_table(self.app, new);
        }
        let renamed = old_table.name != model.table;
        let new_table = model.table.clone();
        let unmanaged = model.unmanaged;
        self.state.models.insert(new_key.clone(), model);
        // Relations that pointed at the old model now point at the new one.
        for other in self.state.models.values_mut() {
            for (_, field) in &mut other.fields {
                if let Some(relation) = &mut field.relation {
                    if relation.target == super::state::RelationTarget::Model(old_key.clone()) {
                        relation.target = super::state::RelationTarget::Model(new_key.clone());
                    }
                }
            }
        }
        if database && renamed && !unmanaged {
            self.emit(OpKind::RenameTable { table: old_table, new_name: new_table });
        }
    }

    fn alter_model_table(&mut self, call: &Call, database: bool) {
        let Some(name) = self.model_name(call, "name") else { return };
        let key = self.key(name);
        let table = call.arg("table", 1).and_then(Expr::as_str).map(str::to_string);
        let Some(model) = self.state.model_mut(&key) else { return };
        let old = model.table_name();
        model.table = table.clone().unwrap_or_else(|| default_table(&model.app, &model.name));
        model.table_pinned = table.is_some();
        let (new, unmanaged) = (model.table.clone(), model.unmanaged);
        if database && !unmanaged && old.name != new {
            self.emit(OpKind::RenameTable { table: old, new_name: new });
        }
    }

    fn field_args(&self, call: &Call) -> Option<(ModelKey, String, Field)> {
        let model = self.model_name(call, "model_name")?;
        let name = call.arg("name", 1).and_then(Expr::as_str)?;
        let constructor = call.arg("field", 2).and_then(Expr::as_call)?;
        Some((self.key(model), name.to_string(), field_from_call(constructor, name, self.app, self.settings)))
    }

    fn custom_field_note(&mut self, field: &Field) {
        if field.custom {
            self.opaque(format!(
                "custom field class `{}`: lockgate does not know its column type and treats it as `{}`",
                field.class, field.class
            ));
        }
    }

    fn add_field(&mut self, call: &Call, database: bool) {
        let Some((key, name, field)) = self.field_args(call) else {
            return self.opaque("AddField lockgate cannot read".into());
        };
        let preserve_default = call.kwarg("preserve_default").and_then(Expr::as_bool).unwrap_or(true);
        let table = self.managed(&key).map(Model::table_name);
        if let (true, Some(table)) = (database, table) {
            self.custom_field_note(&field);
            if field.relation.as_ref().is_some_and(|r| r.many_to_many) {
                if let Some(model) = self.state.model(&key).cloned() {
                    self.create_through_table(&model, &name, &field);
                }
            } else if let Some((mut column, mut ddl)) = self.column_def(&table.name, &field) {
                // Any `db_default=`, even `None`, takes the place of the Python default.
                let python_default = field.db_default_sql.is_none() && field.default.is_some();
                if python_default {
                    column.default = field.default.clone().map(DefaultExpr::Stable);
                }
                // AddField writes the effective default into the column (`include_default`).
                if let (None, Some(default)) = (&field.db_default_sql, &field.default_sql) {
                    match default {
                        Ok(sql) => ddl.default = Some(sql.clone()),
                        Err(why) => {
                            ddl.unknown.get_or_insert_with(|| why.clone());
                        }
                    }
                }
                if let Some((fk, fk_ddl)) = self.foreign_key(&table, &field) {
                    column.constraints.push(fk);
                    ddl.constraints.push(fk_ddl);
                }
                let column_name = column.name.clone();
                self.emit_with((OpKind::AddColumn { table: table.clone(), column }, Ddl::Column(Box::new(ddl))));
                if python_default {
                    let drop_default = OpKind::SetDefault { table: table.clone(), column: column_name, default: None };
                    self.emit_with((drop_default, Ddl::Default(DefaultDdl { default: None, unknown: None })));
                }
                if let Some(index) = self.field_index(&table, &field) {
                    self.defer(index);
                }
            }
        }
        let mut field = field;
        if !preserve_default {
            field.default = None;
        }
        if let Some(model) = self.state.model_mut(&key) {
            model.fields.retain(|(n, _)| n != &name);
            model.fields.push((name, field));
        }
    }

    fn remove_field(&mut self, call: &Call, database: bool) {
        let (Some(model), Some(name)) =
            (self.model_name(call, "model_name"), call.arg("name", 1).and_then(Expr::as_str))
        else {
            return;
        };
        let key = self.key(model);
        if database {
            if let Some(model) = self.managed(&key) {
                if let Some(field) = model.field(name) {
                    let kind = if field.relation.as_ref().is_some_and(|r| r.many_to_many && !r.through) {
                        OpKind::DropTable {
                            tables: vec![QualifiedName::unqualified(format!("{}_{name}", model.table))],
                            cascade: true,
                        }
                    } else {
                        OpKind::DropColumn { table: model.table_name(), column: field.column.clone() }
                    };
                    self.emit(kind);
                }
            }
        }
        if let Some(model) = self.state.model_mut(&key) {
            model.fields.retain(|(n, _)| n != name);
        }
    }

    fn alter_field(&mut self, call: &Call, database: bool) {
        let Some((key, name, new)) = self.field_args(call) else {
            return self.opaque("AlterField lockgate cannot read".into());
        };
        let old = self.state.model(&key).and_then(|m| m.field(&name)).cloned();
        if let (true, Some(model)) = (database, self.managed(&key)) {
            let table = model.table_name();
            self.custom_field_note(&new);
            match old {
                Some(old) => self.alter_column(&table, &old, &new),
                None => self.opaque(format!(
                    "AlterField of `{name}`, which the replayed history does not contain; its old definition is unknown"
                )),
            }
        }
        if let Some(model) = self.state.model_mut(&key) {
            match model.fields.iter_mut().find(|(n, _)| n == &name) {
                Some((_, field)) => *field = new,
                None => model.fields.push((name, new)),
            }
        }
    }

    /// What Django's `_alter_field` runs for a changed field, in its order.
    fn alter_column(&mut self, table: &QualifiedName, old: &Field, new: &Field) {
        let column = new.column.clone();
        let old_type = self.column_def(&table.name, old).map(|(c, _)| c.ty);
        let new_column = self.column_def(&table.name, new);
        let new_type = new_column.as_ref().map(|(c, _)| c.ty.clone());
        let old_fk = self.foreign_key(table, old);
        let new_fk = self.foreign_key(table, new);
        let changed = old_type != new_type
            || old.null != new.null
            || old.unique != new.unique
            || old.db_index != new.db_index
            || old.column != new.column
            || old.db_default != new.db_default
            || old_fk != new_fk;
        if !changed {
            return self.emit(OpKind::Other { tag: "AlterField (no database change)".into() });
        }
        if let Some((fk, _)) = &old_fk {
            self.emit(OpKind::DropConstraint { table: table.clone(), name: fk.name.clone().unwrap_or_default() });
        }
        if old.unique && !new.unique {
            self.emit(OpKind::DropConstraint {
                table: table.clone(),
                name: format!("{}_{}_key", table.name, old.column),
            });
        }
        if old.db_index && !new.db_index {
            if let Some((OpKind::CreateIndex { name: Some(index), .. }, _)) = self.field_index(table, old) {
                self.emit(django_drop_index(index, false));
            }
        }
        if old.column != new.column {
            self.emit(OpKind::RenameColumn {
                table: table.clone(),
                column: old.column.clone(),
                new_name: column.clone(),
            });
        }
        if let (Some(new_type), true) = (&new_type, old_type != new_type) {
            let ddl = self.type_change_ddl(old, new, new_column.map(|(_, ddl)| ddl));
            let kind = OpKind::AlterColumnType {
                table: table.clone(),
                column: column.clone(),
                new_type: new_type.clone(),
                using: false,
            };
            self.emit_with((kind, Ddl::TypeChange(ddl)));
        }
        if old.db_default != new.db_default {
            let (default, unknown) = match new.db_default_sql.clone().transpose() {
                Ok(default) => (default, None),
                Err(why) => (None, Some(why)),
            };
            let kind =
                OpKind::SetDefault { table: table.clone(), column: column.clone(), default: new.db_default.clone() };
            self.emit_with((kind, Ddl::Default(DefaultDdl { default, unknown })));
        }
        if old.null && !new.null {
            if new.default.is_some() || new.db_default.is_some() {
                // Django fills the NULLs first, in one UPDATE of every NULL row.
                self.emit(OpKind::DataChange {
                    kind: DataChangeKind::Update,
                    table: Some(table.clone()),
                    has_where: true,
                });
            }
            self.emit(OpKind::SetNotNull { table: table.clone(), column: column.clone() });
        } else if !old.null && new.null {
            self.emit(OpKind::DropNotNull { table: table.clone(), column: column.clone() });
        }
        if new.unique && !old.unique {
            self.emit_with(unique_together_op(table, std::slice::from_ref(&column)));
        }
        if new.db_index && !old.db_index {
            if let Some(index) = self.field_index(table, new) {
                self.emit_with(index);
            }
        }
        if let Some((fk, ddl)) = new_fk {
            self.emit_with(add_constraint_op(table, fk, ddl));
        }
    }

    /// `ALTER COLUMN … TYPE …[ USING "c"::type]`: Django casts when the `data_types` entry
    /// changes (`PSE._using_sql`), and handles auto fields with statements of their own.
    fn type_change_ddl(&self, old: &Field, new: &Field, column: Option<ColumnDdl>) -> TypeChangeDdl {
        let template = |field: &Field| match &field.relation {
            Some(relation) => self.relation_key(relation).ok().map(|(ty, _)| ty),
            None => field.type_template.clone(),
        };
        let (ty, mut unknown) = column.map_or_else(
            || (String::new(), Some("a field without a column".to_string())),
            |c| {
                let unknown = c.unknown.filter(|_| c.ty.is_empty());
                (c.ty, unknown)
            },
        );
        if unknown.is_none() && new.collation.is_some() {
            unknown = Some("a type change of a column with a db_collation, which lockgate does not write".into());
        }
        if unknown.is_none() && (old.auto || new.auto) {
            unknown = Some(
                "a type change to or from an auto field: Django adds or drops the identity and looks up a serial sequence in the database".into(),
            );
        }
        let (old_template, new_template) = (template(old), template(new));
        if unknown.is_none() && (old_template.is_none() || new_template.is_none()) {
            unknown = Some("whether Django casts with USING depends on field classes lockgate does not know".into());
        }
        let using = (old_template != new_template).then(|| format!("{}::{ty}", quote_identifier(&new.column)));
        TypeChangeDdl { ty, using, unknown }
    }

    fn rename_field(&mut self, call: &Call, database: bool) {
        let model = self.model_name(call, "model_name");
        let old = call.arg("old_name", 1).and_then(Expr::as_str);
        let new = call.arg("new_name", 2).and_then(Expr::as_str);
        let (Some(model), Some(old), Some(new)) = (model, old, new) else { return };
        let key = self.key(model);
        let Some(state_model) = self.state.model_mut(&key) else { return };
        let unmanaged = state_model.unmanaged;
        let table = state_model.table_name();
        let Some((name, field)) = state_model.fields.iter_mut().find(|(n, _)| n == old) else { return };
        *name = new.to_string();
        let old_column = field.column.clone();
        let pinned = old_column != old && old_column != format!("{old}_id");
        if !pinned {
            field.column = if field.relation.is_some() { format!("{new}_id") } else { new.to_string() };
        }
        let new_column = field.column.clone();
        if database && !unmanaged && old_column != new_column {
            self.emit(OpKind::RenameColumn { table, column: old_column, new_name: new_column });
        }
    }

    fn add_index(&mut self, call: &Call, database: bool) {
        let Some(model) = self.model_name(call, "model_name") else { return };
        let key = self.key(model);
        let concurrently = call.name() == "AddIndexConcurrently";
        if let (true, Some(index)) = (database, call.arg("index", 1)) {
            self.index_op(&key, index, concurrently);
        }
    }

    fn index_op(&mut self, key: &ModelKey, index: &Expr, concurrently: bool) {
        let Some(model) = self.managed(key) else { return };
        let Some(index) = index.as_call() else { return self.opaque("an index lockgate cannot read".into()) };
        let fields = index.kwarg("fields").map(strings).unwrap_or_default();
        let mut columns: Vec<Option<String>> = model.columns(&fields).into_iter().map(Some).collect();
        let expressions = index.args.len();
        columns.extend(std::iter::repeat_n(None, expressions));
        let ddl = index_ddl(model, index, &fields);
        let kind = OpKind::CreateIndex {
            name: index.kwarg("name").and_then(Expr::as_str).map(str::to_string),
            table: model.table_name(),
            columns,
            unique: false,
            concurrently,
            partial: index.kwarg("condition").is_some(),
            reads: vec![],
            only: false,
        };
        self.emit_with((kind, Ddl::Index(Box::new(ddl))));
    }

    fn remove_index(&mut self, call: &Call, database: bool) {
        let Some(name) = call.arg("name", 1).and_then(Expr::as_str) else { return };
        if database {
            let concurrently = call.name() == "RemoveIndexConcurrently";
            self.emit(django_drop_index(name.to_string(), concurrently));
        }
    }

    fn rename_index(&mut self, call: &Call, database: bool) {
        let new = call.arg("new_name", 1).and_then(Expr::as_str);
        let old = call.kwarg("old_name").and_then(Expr::as_str);
        if let (true, Some(new), Some(old)) = (database, new, old) {
            self.emit(OpKind::RenameIndex { index: QualifiedName::unqualified(old), new_name: new.to_string() });
        }
    }

    fn add_constraint(&mut self, call: &Call, database: bool) {
        let Some(model) = self.model_name(call, "model_name") else { return };
        let key = self.key(model);
        let not_valid = call.name() == "AddConstraintNotValid";
        if let (true, Some(constraint)) = (database, call.arg("constraint", 1)) {
            self.constraint_op(&key, constraint, not_valid);
        }
    }

    fn constraint_op(&mut self, key: &ModelKey, constraint: &Expr, not_valid: bool) {
        let Some(model) = self.managed(key) else { return };
        let table = model.table_name();
        let Some(call) = constraint.as_call() else { return self.opaque("a constraint lockgate cannot read".into()) };
        let name = call.kwarg("name").and_then(Expr::as_str).map(str::to_string);
        let mut ddl = ConstraintDdl::default();
        let kind = match call.name() {
            "UniqueConstraint" => {
                let fields = call.kwarg("fields").map(strings).unwrap_or_default();
                let columns = model.columns(&fields);
                let index_backed = call.kwarg("condition").is_some()
                    || !call.args.is_empty()
                    || call.kwarg("include").is_some()
                    || call.kwarg("opclasses").is_some();
                if index_backed {
                    let mut index_columns: Vec<Option<String>> = columns.into_iter().map(Some).collect();
                    index_columns.extend(std::iter::repeat_n(None, call.args.len()));
                    let ddl = index_ddl(model, call, &fields);
                    let kind = OpKind::CreateIndex {
                        name,
                        table,
                        columns: index_columns,
                        unique: true,
                        concurrently: false,
                        partial: call.kwarg("condition").is_some(),
                        reads: vec![],
                        only: false,
                    };
                    return self.emit_with((kind, Ddl::Index(Box::new(ddl))));
                }
                ddl.deferral = unique_deferral(call);
                match call.kwarg("nulls_distinct").map(|n| &n.value) {
                    None | Some(Value::None) => {}
                    Some(Value::Bool(distinct)) => ddl.nulls_distinct = Some(*distinct),
                    Some(_) => ddl.unknown = Some("`nulls_distinct` known only at run time".into()),
                }
                ConstraintKind::Unique { columns, using_index: None }
            }
            "CheckConstraint" => {
                let condition = call.kwarg("condition").or_else(|| call.kwarg("check"));
                let sql = condition.ok_or_else(|| "a CheckConstraint without a condition".to_string());
                match sql.and_then(|c| check::condition_sql(model, c)) {
                    Ok(check) => ddl.check = Some(check),
                    Err(why) => ddl.unknown = Some(format!("its condition holds {why}, which lockgate does not write")),
                }
                ConstraintKind::Check { not_null_column: condition.and_then(|c| not_null_field(model, c)) }
            }
            "ExclusionConstraint" => {
                ddl.unknown = Some("an ExclusionConstraint, whose expressions lockgate does not write".into());
                ConstraintKind::Exclusion
            }
            other => return self.opaque(format!("constraint class `{other}`")),
        };
        let constraint = ConstraintDef { name, kind, not_valid };
        self.emit_with(add_constraint_op(&table, constraint, ddl));
    }

    fn remove_constraint(&mut self, call: &Call, database: bool) {
        self.named_constraint(call, database, |table, name| OpKind::DropConstraint { table, name });
    }

    fn validate_constraint(&mut self, call: &Call, database: bool) {
        self.named_constraint(call, database, |table, name| OpKind::ValidateConstraint { table, name });
    }

    /// `RemoveConstraint` / `ValidateConstraint`: a model and a constraint name.
    fn named_constraint(&mut self, call: &Call, database: bool, kind: fn(QualifiedName, String) -> OpKind) {
        let model = self.model_name(call, "model_name");
        let name = call.arg("name", 1).and_then(Expr::as_str);
        let (Some(model), Some(name)) = (model, name) else { return };
        let key = self.key(model);
        if let (true, Some(model)) = (database, self.managed(&key)) {
            let op = kind(model.table_name(), name.to_string());
            self.emit(op);
        }
    }

    fn alter_together(&mut self, call: &Call, database: bool) {
        let Some(name) = self.model_name(call, "name") else { return };
        let key = self.key(name);
        let unique = call.name() == "AlterUniqueTogether";
        let keyword = if unique { "unique_together" } else { "index_together" };
        let new_sets = call.arg(keyword, 1).map(field_sets).unwrap_or_default();
        let Some(model) = self.state.model(&key).cloned() else { return };
        let old_sets = if unique { &model.unique_together } else { &model.index_together };
        if database && !model.unmanaged {
            let table = model.table_name();
            for removed in old_sets.iter().filter(|s| !new_sets.contains(s)) {
                let columns = model.columns(removed);
                let kind = if unique {
                    OpKind::DropConstraint {
                        table: table.clone(),
                        name: generated_name(&table.name, &columns, "_uniq"),
                    }
                } else {
                    django_drop_index(generated_name(&table.name, &columns, "_idx"), false)
                };
                self.emit(kind);
            }
            for added in new_sets.iter().filter(|s| !old_sets.contains(s)) {
                let columns = model.columns(added);
                let kind =
                    if unique { unique_together_op(&table, &columns) } else { index_together_op(&table, &columns) };
                self.emit_with(kind);
            }
        }
        if let Some(model) = self.state.model_mut(&key) {
            if unique {
                model.unique_together = new_sets;
            } else {
                model.index_together = new_sets;
            }
        }
    }

    fn separate(&mut self, call: &Call) {
        // Database operations run against the database only; state operations change only the
        // state. The SQL of database operations is derived from a scratch copy of the state.
        let mut scratch = self.state.clone();
        let database_ops: Vec<Expr> =
            call.kwarg("database_operations").and_then(Expr::items).map(<[Expr]>::to_vec).unwrap_or_default();
        let state_ops: Vec<Expr> =
            call.kwarg("state_operations").and_then(Expr::items).map(<[Expr]>::to_vec).unwrap_or_default();
        std::mem::swap(self.state, &mut scratch);
        for op in &database_ops {
            self.apply(op, true);
        }
        std::mem::swap(self.state, &mut scratch);
        for op in &state_ops {
            self.apply(op, false);
        }
        if database_ops.is_empty() {
            self.emit(OpKind::Other { tag: "SeparateDatabaseAndState (state only)".into() });
        }
    }

    fn run_sql(&mut self, call: &Call, database: bool) {
        for op in call.kwarg("state_operations").and_then(Expr::items).map(<[Expr]>::to_vec).unwrap_or_default() {
            self.apply(&op, false);
        }
        if !database {
            return;
        }
        let Some(sql) = call.arg("sql", 0) else { return self.opaque("RunSQL without sql".into()) };
        let mut pieces = vec![];
        collect_sql(sql, &mut pieces);
        if pieces.is_empty() {
            return self.opaque("RunSQL whose SQL is built at run time".into());
        }
        // Each SQL statement is a statement of its own; all point at the string they come from.
        let first_op = self.ops.len();
        let mut next = self.statement;
        for Piece { text, span, params } in pieces {
            let Some(text) = text else {
                self.span = span;
                self.opaque("RunSQL whose SQL is built at run time".into());
                continue;
            };
            let loaded = sql::load(&text, 0..text.len(), &[], next);
            // With parameters, what runs is known only once they are bound.
            self.ops.extend(loaded.ops.into_iter().map(|op| match params {
                true => Op { span, ..op },
                false => op.embedded_in(&text, span),
            }));
            next += loaded.statements;
        }
        self.statement = next.saturating_sub(1).max(self.statement);
        if let Some(reverse) = call.arg("reverse_sql", 1).and_then(reverse_text) {
            for op in &mut self.ops[first_op..] {
                op.reverse_sql = Some(reverse.clone());
            }
        }
    }
}

/// RunSQL's `reverse_sql` as the text it runs, when it is SQL text without parameters (not
/// `RunSQL.noop`, not built at run time).
fn reverse_text(expr: &Expr) -> Option<std::sync::Arc<str>> {
    let mut pieces = vec![];
    collect_sql(expr, &mut pieces);
    let texts: Option<Vec<String>> = pieces.into_iter().map(|p| p.text.filter(|_| !p.params)).collect();
    texts.filter(|t| !t.is_empty()).map(|t| {
        std::sync::Arc::from(t.iter().map(|s| s.trim().trim_end_matches(';')).collect::<Vec<_>>().join(";\n").as_str())
    })
}

/// Django drops an index with `DROP INDEX [CONCURRENTLY] IF EXISTS` (`sql_delete_index`).
fn django_drop_index(name: String, concurrently: bool) -> OpKind {
    OpKind::DropIndex { indexes: vec![QualifiedName::unqualified(name)], concurrently, if_exists: true }
}

/// One SQL string of RunSQL: its text (`None` when built at run time), where it is, and
/// whether it comes with parameters.
struct Piece {
    text: Option<String>,
    span: Span,
    params: bool,
}

/// The SQL strings of RunSQL's `sql`: a string, or a list/tuple whose items are strings or
/// `(sql, params)` pairs (Django's `_run_sql`; a pair is only ever an item, never the list).
fn collect_sql(expr: &Expr, out: &mut Vec<Piece>) {
    let runtime = |expr: &Expr| Piece { text: None, span: expr.span, params: false };
    match &expr.value {
        Value::Str(text) => out.push(Piece { text: Some(text.clone()), span: expr.span, params: false }),
        Value::List(items) | Value::Tuple(items) => out.extend(items.iter().map(|item| match &item.value {
            Value::Str(text) => Piece { text: Some(text.clone()), span: item.span, params: false },
            Value::List(pair) | Value::Tuple(pair) if pair.len() == 2 => Piece {
                text: pair[0].as_str().map(str::to_string),
                span: pair[0].span,
                // `(sql, None)` runs the text as it is, like a plain string.
                params: !matches!(pair[1].value, Value::None),
            },
            _ => runtime(item),
        })),
        _ => out.push(runtime(expr)),
    }
}

fn strings(expr: &Expr) -> Vec<String> {
    expr.items().unwrap_or_default().iter().filter_map(|e| e.as_str().map(str::to_string)).collect()
}

/// `unique_together = [("a", "b")]`, or a single tuple `("a", "b")`.
fn field_sets(expr: &Expr) -> Vec<Vec<String>> {
    let items = expr.items().unwrap_or_default();
    if items.iter().all(|i| i.as_str().is_some()) && !items.is_empty() {
        return vec![strings(expr)];
    }
    items.iter().map(strings).filter(|s| !s.is_empty()).collect()
}

/// `Q(field__isnull=False)` → the field's column.
fn not_null_field(model: &Model, condition: &Expr) -> Option<String> {
    let q = condition.as_call()?;
    if q.name() != "Q" || q.kwargs.len() != 1 || !q.args.is_empty() {
        return None;
    }
    let (lookup, value) = &q.kwargs[0];
    let field = lookup.strip_suffix("__isnull")?;
    (value.as_bool() == Some(false)).then(|| model.columns(&[field.to_string()]).remove(0))
}

/// `deferrable=models.Deferrable.DEFERRED` / `IMMEDIATE`.
fn unique_deferral(call: &Call) -> Option<String> {
    match &call.kwarg("deferrable")?.value {
        Value::Name(name) if name.ends_with("DEFERRED") => Some("DEFERRABLE INITIALLY DEFERRED".into()),
        Value::Name(name) if name.ends_with("IMMEDIATE") => Some("DEFERRABLE INITIALLY IMMEDIATE".into()),
        _ => None,
    }
}

/// A UNIQUE constraint under Django's generated `_uniq` name (`unique_together`, `unique=True`).
fn unique_together_op(table: &QualifiedName, columns: &[String]) -> (OpKind, Ddl) {
    let constraint = ConstraintDef {
        name: Some(generated_name(&table.name, columns, "_uniq")),
        kind: ConstraintKind::Unique { columns: columns.to_vec(), using_index: None },
        not_valid: false,
    };
    add_constraint_op(table, constraint, ConstraintDdl::default())
}

fn add_constraint_op(table: &QualifiedName, constraint: ConstraintDef, ddl: ConstraintDdl) -> (OpKind, Ddl) {
    (OpKind::AddConstraint { table: table.clone(), constraint }, Ddl::Constraint(Box::new(ddl)))
}

/// Every FK Django creates is `DEFERRABLE INITIALLY DEFERRED`; ON DELETE only for 6.1's DB_* actions.
fn deferred_fk_ddl(on_delete: Option<String>) -> ConstraintDdl {
    ConstraintDdl { on_delete, deferral: Some("DEFERRABLE INITIALLY DEFERRED".into()), ..ConstraintDdl::default() }
}

fn index_together_op(table: &QualifiedName, columns: &[String]) -> (OpKind, Ddl) {
    plain_index_op(generated_name(&table.name, columns, "_idx"), table, columns)
}

/// An index on plain columns, as Django's field and `index_together` indexes are.
fn plain_index_op(name: String, table: &QualifiedName, columns: &[String]) -> (OpKind, Ddl) {
    let kind = OpKind::CreateIndex {
        name: Some(name),
        table: table.clone(),
        columns: columns.iter().cloned().map(Some).collect(),
        unique: false,
        concurrently: false,
        partial: false,
        reads: vec![],
        only: false,
    };
    (kind, Ddl::Index(Box::new(IndexDdl::on_columns(columns.len()))))
}

/// How Django writes an `Index` (or an index-backed `UniqueConstraint`): `-field` sorts
/// descending, `opclasses` follow the columns, contrib.postgres classes add `USING`
/// (`Index.create_sql`, `PostgresIndex.create_sql`).
fn index_ddl(model: &Model, index: &Call, fields: &[String]) -> IndexDdl {
    let opclasses = index.kwarg("opclasses").map(strings).unwrap_or_default();
    let keys = fields
        .iter()
        .enumerate()
        .map(|(i, field)| IndexKey {
            expression: None,
            opclass: opclasses.get(i).cloned(),
            descending: field.starts_with('-'),
        })
        .collect();
    let include = model.columns(&index.kwarg("include").map(strings).unwrap_or_default());
    let method = match index.name() {
        "Index" | "UniqueConstraint" => Ok(None),
        "BTreeIndex" => Ok(Some("btree")),
        "GinIndex" => Ok(Some("gin")),
        "GistIndex" => Ok(Some("gist")),
        "BrinIndex" => Ok(Some("brin")),
        "HashIndex" => Ok(Some("hash")),
        "SpGistIndex" => Ok(Some("spgist")),
        "BloomIndex" => Ok(Some("bloom")),
        other => Err(format!("index class `{other}`, whose SQL is its code's")),
    };
    let known = ["fields", "name", "opclasses", "include", "violation_error_message", "violation_error_code"];
    let extra = index.kwargs.iter().map(|(k, _)| k.as_str()).find(|k| !known.contains(k));
    let unknown = match (&method, extra) {
        (Err(why), _) => Some(why.clone()),
        (_, Some("condition")) => Some("a condition: Django compiles its Q object when the migration runs".into()),
        (_, Some(other)) => Some(format!("`{other}=` on an index, which lockgate does not write")),
        _ if !index.args.is_empty() => Some("index expressions: Django compiles them when the migration runs".into()),
        _ if opclasses.len() > fields.len() => Some("more opclasses than fields".into()),
        _ => None,
    };
    IndexDdl {
        keys,
        method: method.ok().flatten().map(str::to_string),
        include,
        predicate: None,
        if_not_exists: false,
        nulls_distinct: None,
        unknown,
    }
}
