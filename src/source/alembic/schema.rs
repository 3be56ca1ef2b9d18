//! SQLAlchemy schema objects as Alembic compiles them for PostgreSQL: `sa.Column`, the
//! table-level constraints and `sa.Index`, read from their constructor calls.

use crate::ir::{ColumnDef, ConstraintDef, ConstraintKind, DefaultExpr, Generated, OpKind, QualifiedName, Span};
use crate::source::python::{Call, Expr, Value};

use super::sqltext;
use super::types::{column_type, ColumnType, EnumType};

/// A `sa.Column(…)` with what SQLAlchemy derives from it besides the column itself.
#[derive(Debug, Clone)]
pub struct ColumnSpec {
    pub def: ColumnDef,
    pub ty: ColumnType,
    pub primary_key: bool,
    pub unique: bool,
    pub index: bool,
    /// `sa.ForeignKey(…)` and `sa.CheckConstraint(…)` written on the column.
    pub constraints: Vec<ConstraintDef>,
    /// `autoincrement=`: `Some(true)`/`Some(false)` when given, `None` for SQLAlchemy's "auto".
    pub autoincrement: Option<bool>,
    /// A Python-side `default=`, a `server_default=` or a `sa.Sequence`: not SERIAL then.
    pub has_default: bool,
}

/// Reads `sa.Column(name, type, *schema_items, **options)`.
pub fn column(call: &Call) -> Result<ColumnSpec, String> {
    let mut positional = call.args.iter().peekable();
    let name = match call.kwarg("name").or_else(|| positional.next_if(|a| matches!(a.value, Value::Str(_)))) {
        Some(Expr { value: Value::Str(name), .. }) => name.clone(),
        _ => return Err("a column whose name lockgate cannot read".into()),
    };
    let type_expr = call.kwarg("type_").or_else(|| positional.next_if(|a| !is_schema_item(a)));
    let ty = type_expr.map_or_else(
        || column_type(&Expr { value: Value::Name("NullType".into()), span: Span::default() }),
        column_type,
    );
    let primary_key = flag(call, "primary_key");
    let nullable = call.kwarg("nullable").and_then(Expr::as_bool).unwrap_or(!primary_key);
    let mut spec = ColumnSpec {
        def: ColumnDef {
            name: name.clone(),
            ty: ty.ty.clone(),
            not_null: !nullable,
            default: None,
            identity: false,
            serial: false,
            generated: None,
            constraints: vec![],
        },
        ty,
        primary_key,
        unique: flag(call, "unique"),
        index: flag(call, "index"),
        constraints: vec![],
        autoincrement: call.kwarg("autoincrement").and_then(Expr::as_bool),
        has_default: call.kwarg("default").is_some_and(|d| !d.is_none()),
    };
    if let Some(default) = call.kwarg("server_default").filter(|d| !d.is_none()) {
        spec.def.default = server_default(default);
        spec.has_default = true;
    }
    for item in positional {
        schema_item(&mut spec, item);
    }
    Ok(spec)
}

fn is_schema_item(expr: &Expr) -> bool {
    expr.as_call().is_some_and(|c| {
        matches!(
            c.name(),
            "ForeignKey" | "CheckConstraint" | "Identity" | "Computed" | "Sequence" | "FetchedValue" | "DefaultClause"
        )
    })
}

/// `sa.ForeignKey`, `sa.Identity()`, `sa.Computed(…)`, `sa.Sequence(…)` inside a Column.
fn schema_item(spec: &mut ColumnSpec, item: &Expr) {
    let Some(call) = item.as_call() else { return };
    match call.name() {
        "ForeignKey" => {
            let (references, referenced) = call.arg("column", 0).map_or_else(unknown_target, target);
            spec.constraints.push(ConstraintDef {
                name: name_kwarg(call),
                kind: ConstraintKind::ForeignKey {
                    columns: vec![spec.def.name.clone()],
                    references,
                    referenced_columns: vec![referenced],
                },
                not_valid: false,
            });
        }
        "CheckConstraint" => spec.constraints.push(check(call, 0)),
        "Identity" => {
            spec.def.identity = true;
            spec.def.not_null = true;
        }
        "Computed" => {
            let virtual_ = call.kwarg("persisted").and_then(Expr::as_bool) == Some(false);
            spec.def.generated = Some(if virtual_ { Generated::Virtual } else { Generated::Stored });
        }
        "DefaultClause" => {
            spec.def.default = call.arg("arg", 0).and_then(server_default);
            spec.has_default = true;
        }
        "Sequence" => spec.has_default = true,
        _ => {}
    }
}

/// A `server_default=` value as the DEFAULT PostgreSQL stores: strings become quoted literals,
/// `sa.text(…)` and `sa.func.…()` are SQL, judged by the SQL front end's volatility rules.
pub fn server_default(expr: &Expr) -> Option<DefaultExpr> {
    match &expr.value {
        Value::None => None,
        Value::Str(text) => Some(DefaultExpr::Stable(sqltext::quote_literal(text))),
        Value::Int(i) => Some(DefaultExpr::Stable(i.to_string())),
        Value::Float(f) => Some(DefaultExpr::Stable(f.to_string())),
        Value::Bool(b) => Some(DefaultExpr::Stable(b.to_string())),
        Value::Call(call) => Some(match sql_of(call) {
            Some(sql) => sqltext::classify_default(&sql),
            None => DefaultExpr::Volatile(format!("{}(…)", call.func)),
        }),
        _ => Some(DefaultExpr::Volatile("(an expression lockgate cannot read)".into())),
    }
}

/// The SQL a SQLAlchemy expression call renders to, when it is literal enough to know.
pub fn sql_of(call: &Call) -> Option<String> {
    let func = call.func.as_str();
    match call.name() {
        "text" | "literal_column" | "DDL" => return call.args.first().and_then(Expr::as_str).map(str::to_string),
        "true" | "false" | "null" if call.args.is_empty() && !func.contains("func.") => {
            return Some(call.name().to_ascii_uppercase())
        }
        "DefaultClause" => return call.args.first().and_then(|a| a.as_call()).and_then(sql_of),
        _ => {}
    }
    let (_, function) = func.split_once("func.")?;
    // SQLAlchemy renders the ANSI niladic functions without parentheses.
    if call.args.is_empty()
        && matches!(
            function.to_ascii_lowercase().as_str(),
            "current_date"
                | "current_time"
                | "current_timestamp"
                | "current_user"
                | "localtime"
                | "localtimestamp"
                | "session_user"
                | "user"
        )
    {
        return Some(function.to_ascii_uppercase());
    }
    let args: Option<Vec<String>> = call.args.iter().map(literal_sql).collect();
    Some(format!("{function}({})", args?.join(", ")))
}

fn literal_sql(expr: &Expr) -> Option<String> {
    match &expr.value {
        Value::Str(s) => Some(sqltext::quote_literal(s)),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::None => Some("NULL".into()),
        Value::Call(call) => sql_of(call),
        _ => None,
    }
}

/// `"schema.table.column"` → the table and the column.
fn target(expr: &Expr) -> (QualifiedName, String) {
    let Some(text) = expr.as_str() else { return unknown_target() };
    let mut parts: Vec<&str> = text.split('.').collect();
    let column = parts.pop().unwrap_or_default().to_string();
    let table = parts.pop().unwrap_or_default();
    let schema = parts.pop().map(str::to_string);
    (QualifiedName::new(schema, table), column)
}

fn unknown_target() -> (QualifiedName, String) {
    (QualifiedName::unqualified("(a table lockgate cannot read)"), "(a column)".into())
}

pub fn name_kwarg(call: &Call) -> Option<String> {
    call.kwarg("name").and_then(name_of)
}

/// A constraint or index name: a string, or `op.f("…")` / `conv("…")`.
pub fn name_of(expr: &Expr) -> Option<String> {
    match &expr.value {
        Value::Str(name) => Some(name.clone()),
        Value::Call(call) if matches!(call.name(), "f" | "conv") => call.args.first().and_then(name_of),
        _ => None,
    }
}

pub fn flag(call: &Call, keyword: &str) -> bool {
    call.kwarg(keyword).is_some_and(truthy)
}

pub fn truthy(expr: &Expr) -> bool {
    match &expr.value {
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        Value::Str(s) => !s.is_empty(),
        Value::None => false,
        Value::List(items) | Value::Tuple(items) => !items.is_empty(),
        _ => true,
    }
}

/// Column names given as strings (or `sa.column("x")`); `None` for expressions.
pub fn key_columns(items: &[Expr]) -> Vec<Option<String>> {
    items
        .iter()
        .map(|item| match &item.value {
            Value::Str(name) if is_identifier(name) => Some(name.clone()),
            Value::Call(call) if matches!(call.name(), "column" | "Column") => {
                call.args.first().and_then(Expr::as_str).map(str::to_string)
            }
            _ => None,
        })
        .collect()
}

/// Alembic treats a string that is not a plain name (`"lower(email)"`) as an expression.
fn is_identifier(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

/// A list argument, or a single value standing for a one-element list.
pub fn list(expr: Option<&Expr>) -> Vec<Expr> {
    match expr {
        Some(e) => e.items().map_or_else(|| vec![e.clone()], <[Expr]>::to_vec),
        None => vec![],
    }
}

fn strings(items: &[Expr]) -> Vec<String> {
    key_columns(items).into_iter().flatten().collect()
}

/// `sa.CheckConstraint(sqltext)`, or `op.create_check_constraint`'s condition at `position`.
pub fn check(call: &Call, position: usize) -> ConstraintDef {
    let condition = call.arg("sqltext", position).or_else(|| call.kwarg("condition"));
    ConstraintDef {
        name: name_kwarg(call),
        kind: ConstraintKind::Check { not_null_column: condition.and_then(not_null_column) },
        not_valid: flag(call, "postgresql_not_valid"),
    }
}

/// The column a CHECK condition proves NOT NULL: `"col IS NOT NULL"`, `sa.text(…)`, or
/// `sa.column("col").isnot(None)`.
pub fn not_null_column(condition: &Expr) -> Option<String> {
    match &condition.value {
        Value::Str(sql) => sqltext::not_null_column(sql),
        Value::Call(call)
            if matches!(call.name(), "isnot" | "is_not") && call.args.first().is_some_and(Expr::is_none) =>
        {
            let column = call.receiver_call().filter(|c| c.name() == "column")?;
            column.args.first().and_then(Expr::as_str).map(str::to_string)
        }
        Value::Call(call) => sql_of(call).and_then(|sql| sqltext::not_null_column(&sql)),
        _ => None,
    }
}

/// What `op.create_table` builds: the table, the enums it creates first and the indexes after.
#[derive(Debug, Default)]
pub struct TableSpec {
    pub columns: Vec<ColumnDef>,
    pub constraints: Vec<ConstraintDef>,
    pub enums: Vec<EnumType>,
    pub indexes: Vec<OpKind>,
    /// Arguments lockgate could not read, with where they are.
    pub unreadable: Vec<(Span, String)>,
}

/// Reads the columns and table-level items of `op.create_table(name, *items)`.
pub fn table(name: &QualifiedName, items: &[Expr]) -> TableSpec {
    let mut spec = TableSpec::default();
    let mut columns = vec![];
    let mut primary_key: Option<ConstraintDef> = None;
    for item in items {
        let Some(call) = item.as_call() else {
            spec.unreadable.push((item.span, "a `create_table` argument lockgate cannot read".into()));
            continue;
        };
        match call.name() {
            "Column" => match column(call) {
                Ok(column) => columns.push(column),
                Err(what) => spec.unreadable.push((item.span, what)),
            },
            "PrimaryKeyConstraint" => {
                primary_key = Some(ConstraintDef {
                    name: name_kwarg(call),
                    kind: ConstraintKind::PrimaryKey { columns: strings(&call.args), using_index: None },
                    not_valid: false,
                })
            }
            "Index" => spec.indexes.push(index(name, call)),
            _ => match table_constraint(call) {
                Some(constraint) => spec.constraints.push(constraint),
                None => spec.unreadable.push((item.span, format!("`{}` in `create_table`", call.func))),
            },
        }
    }
    finish_table(&mut spec, name, columns, primary_key);
    spec
}

/// `sa.ForeignKeyConstraint`, `sa.UniqueConstraint`, `sa.CheckConstraint`, `ExcludeConstraint`.
fn table_constraint(call: &Call) -> Option<ConstraintDef> {
    let kind = match call.name() {
        "ForeignKeyConstraint" => {
            let local = strings(&list(call.arg("columns", 0)));
            let remote = list(call.arg("refcolumns", 1));
            let (references, _) = remote.first().map_or_else(unknown_target, target);
            let referenced_columns = remote.iter().map(|r| target(r).1).collect();
            ConstraintKind::ForeignKey { columns: local, references, referenced_columns }
        }
        "UniqueConstraint" => ConstraintKind::Unique { columns: strings(&call.args), using_index: None },
        "CheckConstraint" => return Some(check(call, 0)),
        "ExcludeConstraint" => ConstraintKind::Exclusion,
        _ => return None,
    };
    Some(ConstraintDef { name: name_kwarg(call), kind, not_valid: false })
}

/// Primary key, SERIAL, inline constraints and `index=True` indexes, the way SQLAlchemy's
/// DDL compiler derives them from the columns.
fn finish_table(
    spec: &mut TableSpec,
    table: &QualifiedName,
    columns: Vec<ColumnSpec>,
    explicit: Option<ConstraintDef>,
) {
    let mut primary_key = explicit.unwrap_or(ConstraintDef {
        name: None,
        kind: ConstraintKind::PrimaryKey { columns: vec![], using_index: None },
        not_valid: false,
    });
    if let ConstraintKind::PrimaryKey { columns: keys, .. } = &mut primary_key.kind {
        for column in columns.iter().filter(|c| c.primary_key) {
            if !keys.contains(&column.def.name) {
                keys.push(column.def.name.clone());
            }
        }
    }
    let keys = primary_key.columns();
    let serial = autoincrement_column(&columns, &keys);
    for mut column in columns {
        if keys.contains(&column.def.name) {
            column.def.not_null = true;
        }
        if serial.as_deref() == Some(column.def.name.as_str()) {
            make_serial(&mut column.def);
        }
        if let Some(enum_type) = column.ty.enum_type.clone().filter(|e| e.create) {
            if !spec.enums.iter().any(|e| e.name == enum_type.name) {
                spec.enums.push(enum_type);
            }
        }
        derived(spec, table, &mut column);
        spec.constraints.append(&mut column.constraints);
        spec.columns.push(column.def);
    }
    if !keys.is_empty() {
        spec.constraints.insert(0, primary_key);
    }
}

/// `unique=True` → a UNIQUE constraint; `index=True` → `ix_<table>_<column>` (unique when
/// both are set, with no separate constraint).
fn derived(spec: &mut TableSpec, table: &QualifiedName, column: &mut ColumnSpec) {
    let name = &column.def.name;
    if column.index {
        spec.indexes.push(OpKind::CreateIndex {
            name: Some(format!("ix_{}_{name}", table.name)),
            table: table.clone(),
            columns: vec![Some(name.clone())],
            unique: column.unique,
            concurrently: false,
            partial: false,
            only: false,
        });
    } else if column.unique {
        column.constraints.push(ConstraintDef {
            name: None,
            kind: ConstraintKind::Unique { columns: vec![name.clone()], using_index: None },
            not_valid: false,
        });
    }
}

/// SQLAlchemy's `_autoincrement_column`: the one integer primary-key column that becomes
/// SERIAL — with "auto", only a lone key column with no default, FK or Identity.
pub fn autoincrement_column(columns: &[ColumnSpec], keys: &[String]) -> Option<String> {
    let in_key: Vec<&ColumnSpec> = columns.iter().filter(|c| keys.contains(&c.def.name)).collect();
    let eligible = |c: &ColumnSpec| {
        c.ty.integer && !c.has_default && !c.def.identity && c.def.generated.is_none() && c.autoincrement != Some(false)
    };
    match in_key.as_slice() {
        [only] if eligible(only) && (only.autoincrement == Some(true) || !has_foreign_key(only)) => {
            Some(only.def.name.clone())
        }
        _ => in_key.iter().find(|c| c.autoincrement == Some(true) && eligible(c)).map(|c| c.def.name.clone()),
    }
}

fn has_foreign_key(column: &ColumnSpec) -> bool {
    column.constraints.iter().any(|c| matches!(c.kind, ConstraintKind::ForeignKey { .. }))
}

/// SERIAL: an owned sequence and a `nextval` default, NOT NULL.
pub fn make_serial(def: &mut ColumnDef) {
    def.identity = true;
    def.serial = true;
    def.not_null = true;
    def.default = Some(DefaultExpr::Volatile("nextval(…)".into()));
}

/// `sa.Index(name, *columns, unique=, postgresql_where=)` in `create_table`.
fn index(table: &QualifiedName, call: &Call) -> OpKind {
    OpKind::CreateIndex {
        name: call.args.first().and_then(name_of),
        table: table.clone(),
        columns: key_columns(call.args.get(1..).unwrap_or_default()),
        unique: flag(call, "unique"),
        concurrently: false,
        partial: call.kwarg("postgresql_where").is_some_and(|w| !w.is_none()),
        only: false,
    }
}
