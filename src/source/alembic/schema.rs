//! SQLAlchemy schema objects as Alembic compiles them for PostgreSQL: `sa.Column`, the
//! table-level constraints and `sa.Index`, read from their constructor calls.

use crate::ir::{ColumnDef, ConstraintDef, ConstraintKind, DefaultExpr, Generated, OpKind, QualifiedName, Span};
use crate::source::editor_sql::{ColumnDdl, ConstraintDdl, Ddl, IndexDdl, IndexKey};
use crate::source::python::{Call, Expr, Value};

use super::sqltext;
use super::types::{column_type, ColumnType, EnumType};

/// A `sa.Column(…)` with what SQLAlchemy derives from it besides the column itself.
#[derive(Debug, Clone)]
pub struct ColumnSpec {
    pub def: ColumnDef,
    /// How SQLAlchemy writes the column.
    pub ddl: ColumnDdl,
    pub ty: ColumnType,
    pub primary_key: bool,
    pub unique: bool,
    pub index: bool,
    /// `sa.ForeignKey(…)` and `sa.CheckConstraint(…)` written on the column.
    pub constraints: Vec<ConstraintDef>,
    /// How SQLAlchemy writes each of `constraints`, in the same order.
    pub constraint_ddl: Vec<ConstraintDdl>,
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
        ddl: ColumnDdl {
            ty: ty.sql.clone().unwrap_or_default(),
            unknown: ty.sql.clone().err(),
            ..ColumnDdl::default()
        },
        ty,
        primary_key,
        unique: flag(call, "unique"),
        index: flag(call, "index"),
        constraints: vec![],
        constraint_ddl: vec![],
        autoincrement: call.kwarg("autoincrement").and_then(Expr::as_bool),
        has_default: call.kwarg("default").is_some_and(|d| !d.is_none()),
    };
    if let Some(default) = call.kwarg("server_default").filter(|d| !d.is_none()) {
        spec.def.default = server_default(default);
        spec.has_default = true;
        set_default_sql(&mut spec, default);
    }
    if call.kwarg("comment").is_some_and(|c| !c.is_none()) {
        unknown(
            &mut spec,
            "a column comment: Alembic follows the column with a COMMENT ON statement lockgate does not write",
        );
    }
    for item in positional {
        schema_item(&mut spec, item);
    }
    Ok(spec)
}

/// Marks the column's DDL as known only at run time, keeping the first reason.
fn unknown(spec: &mut ColumnSpec, why: &str) {
    spec.ddl.unknown.get_or_insert_with(|| why.to_string());
}

fn set_default_sql(spec: &mut ColumnSpec, default: &Expr) {
    match server_default_sql(default) {
        Ok(sql) => spec.ddl.default = sql,
        Err(why) => unknown(spec, &why),
    }
}

/// The DEFAULT SQLAlchemy writes for a `server_default=` (`get_column_default_string`): a
/// string as a quoted literal, `sa.text(…)` and `sa.func.…()` as their SQL.
pub fn server_default_sql(expr: &Expr) -> Result<Option<String>, String> {
    match &expr.value {
        Value::None => Ok(None),
        Value::Str(_) | Value::Call(_) if let Some(text) = python_string(expr) => {
            Ok(Some(sqltext::quote_literal(&text)))
        }
        Value::Call(call) => match call.name() {
            // The PostgreSQL compiler writes the boolean constants in lower case.
            "true" | "false" if call.args.is_empty() && !call.func.contains("func.") => Ok(Some(call.name().into())),
            _ => sql_of(call).map(Some).ok_or_else(|| {
                format!("the server default `{}(…)`, which SQLAlchemy compiles when the migration runs", call.func)
            }),
        },
        _ => Err("a server default that is not a string or SQL text".into()),
    }
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
            spec.constraint_ddl.push(foreign_key_ddl(call));
        }
        "CheckConstraint" => {
            spec.constraints.push(check(call, 0));
            spec.constraint_ddl.push(check_ddl(call, 0));
        }
        "Identity" => {
            spec.def.identity = true;
            spec.def.not_null = true;
            let always = call.kwarg("always").and_then(Expr::as_bool);
            let options = !call.args.is_empty() || call.kwargs.iter().any(|(k, _)| k != "always");
            if options || (call.kwarg("always").is_some() && always.is_none()) {
                unknown(spec, "an Identity() with sequence options, which lockgate does not write");
            }
            let kind = if always == Some(true) { "ALWAYS" } else { "BY DEFAULT" };
            spec.ddl.identity = Some(format!("GENERATED {kind} AS IDENTITY"));
        }
        "Computed" => {
            let virtual_ = call.kwarg("persisted").and_then(Expr::as_bool) == Some(false);
            spec.def.generated = Some(if virtual_ { Generated::Virtual } else { Generated::Stored });
            unknown(spec, "a Computed column, whose generation expression lockgate does not write");
        }
        "DefaultClause" => {
            spec.def.default = call.arg("arg", 0).and_then(server_default);
            spec.has_default = true;
            match call.arg("arg", 0) {
                Some(arg) => set_default_sql(spec, arg),
                None => unknown(spec, "a DefaultClause lockgate cannot read"),
            }
        }
        "Sequence" | "FetchedValue" => {
            spec.has_default |= call.name() == "Sequence";
            unknown(spec, "a Sequence or FetchedValue on the column, whose DDL lockgate does not write")
        }
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
        Value::Call(call) => match sql_of(call) {
            Some(sql) => sqltext::classify_default(&sql),
            None if let Some(text) = python_string(expr) => Some(DefaultExpr::Stable(sqltext::quote_literal(&text))),
            // Python computes a string once, as the migration runs; SQLAlchemy sends it quoted.
            None if returns_python_string(call) => {
                Some(DefaultExpr::Stable(format!("'{}(…)', a string Python computes once", call.func)))
            }
            None => Some(DefaultExpr::Volatile(format!("{}(…)", call.func))),
        },
        _ => Some(DefaultExpr::Volatile("(an expression lockgate cannot read)".into())),
    }
}

/// The string a Python expression evaluates to, where it is a literal or a pure function of
/// literals lockgate can compute exactly (`json.dumps({})` → `{}`).
fn python_string(expr: &Expr) -> Option<String> {
    match &expr.value {
        Value::Str(text) => Some(text.clone()),
        Value::Call(call) if call.kwargs.is_empty() && call.args.len() == 1 => match call.func.as_str() {
            "json.dumps" => sqltext::json_dumps(&call.args[0]),
            "str" => match &call.args[0].value {
                Value::Str(text) => Some(text.clone()),
                Value::Int(i) => Some(i.to_string()),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// Python calls that return a string, whatever their arguments: a `server_default=` of one is
/// a constant SQLAlchemy quotes, however it was computed.
fn returns_python_string(call: &Call) -> bool {
    matches!(call.func.as_str(), "str" | "repr" | "format" | "json.dumps")
        || [".format", ".isoformat", ".strftime", ".join", ".lower", ".upper", ".strip"]
            .iter()
            .any(|method| call.func.ends_with(method))
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
        Value::List(items) | Value::Tuple(items) | Value::Set(items) => !items.is_empty(),
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

/// A CHECK condition written as SQL text (a string or `sa.text(…)`) is sent as written.
pub fn check_ddl(call: &Call, position: usize) -> ConstraintDdl {
    condition_ddl(call.arg("sqltext", position).or_else(|| call.kwarg("condition")), call)
}

/// A CHECK with this condition, its deferral read from `call`.
pub fn condition_ddl(condition: Option<&Expr>, call: &Call) -> ConstraintDdl {
    let text = condition.and_then(|c| match &c.value {
        Value::Str(sql) => Some(sql.clone()),
        Value::Call(call) if matches!(call.name(), "text" | "literal_column") => sql_of(call),
        // `sa.column("c").isnot(None)` compiles to `c IS NOT NULL`.
        _ => not_null_column(c).map(|column| format!("{} IS NOT NULL", crate::ir::quote_identifier(&column))),
    });
    ConstraintDdl {
        unknown: match &text {
            None => {
                Some("a CHECK condition built from SQLAlchemy expressions, compiled when the migration runs".into())
            }
            Some(_) => deferral(call).err(),
        },
        check: text,
        deferral: deferral(call).ok().flatten(),
        ..ConstraintDdl::default()
    }
}

/// `ondelete=`, `onupdate=`, `deferrable=`, `initially=` of a foreign key, as SQLAlchemy writes
/// them after the REFERENCES clause.
pub fn foreign_key_ddl(call: &Call) -> ConstraintDdl {
    let text = |key: &str| call.kwarg(key).and_then(Expr::as_str).map(str::to_string);
    let unreadable =
        ["ondelete", "onupdate"].iter().any(|k| call.kwarg(k).is_some_and(|v| v.as_str().is_none() && !v.is_none()));
    let unknown = if call.kwarg("match").is_some_and(|m| !m.is_none()) {
        Some("a MATCH option, which lockgate does not write".to_string())
    } else if unreadable {
        Some("an ondelete/onupdate known only at run time".to_string())
    } else {
        deferral(call).err()
    };
    ConstraintDdl {
        on_delete: text("ondelete"),
        on_update: text("onupdate"),
        deferral: deferral(call).ok().flatten(),
        unknown,
        ..ConstraintDdl::default()
    }
}

/// `DEFERRABLE` / `NOT DEFERRABLE` and `INITIALLY …` (`DDLCompiler.define_constraint_deferrability`).
fn deferral(call: &Call) -> Result<Option<String>, String> {
    let deferrable = match call.kwarg("deferrable").filter(|d| !d.is_none()) {
        None => None,
        Some(d) => Some(d.as_bool().ok_or("a `deferrable=` known only at run time")?),
    };
    let initially = match call.kwarg("initially").filter(|i| !i.is_none()) {
        None => None,
        Some(i) => Some(i.as_str().ok_or("an `initially=` known only at run time")?.to_string()),
    };
    let mut parts = vec![];
    match deferrable {
        Some(true) => parts.push("DEFERRABLE".to_string()),
        Some(false) => parts.push("NOT DEFERRABLE".to_string()),
        None => {}
    }
    if let Some(initially) = initially {
        parts.push(format!("INITIALLY {initially}"));
    }
    Ok((!parts.is_empty()).then(|| parts.join(" ")))
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
    /// How SQLAlchemy writes each of `columns`, in the same order.
    pub column_ddl: Vec<ColumnDdl>,
    pub constraints: Vec<ConstraintDef>,
    /// How SQLAlchemy writes each of `constraints`, in the same order.
    pub constraint_ddl: Vec<ConstraintDdl>,
    pub enums: Vec<EnumType>,
    pub indexes: Vec<(OpKind, Ddl)>,
    /// Arguments lockgate could not read, with where they are.
    pub unreadable: Vec<(Span, String)>,
}

/// Reads the columns and table-level items of `op.create_table(name, *items)`.
pub fn table(name: &QualifiedName, items: &[Expr]) -> TableSpec {
    let mut spec = TableSpec::default();
    let mut columns = vec![];
    let mut primary_key: Option<(ConstraintDef, ConstraintDdl)> = None;
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
                let constraint = ConstraintDef {
                    name: name_kwarg(call),
                    kind: ConstraintKind::PrimaryKey { columns: strings(&call.args), using_index: None },
                    not_valid: false,
                };
                primary_key = Some((constraint, keys_ddl(call)));
            }
            "Index" => spec.indexes.push(index(name, call)),
            _ => match table_constraint(call) {
                Some((constraint, ddl)) => {
                    spec.constraints.push(constraint);
                    spec.constraint_ddl.push(ddl);
                }
                None => spec.unreadable.push((item.span, format!("`{}` in `create_table`", call.func))),
            },
        }
    }
    finish_table(&mut spec, name, columns, primary_key);
    spec
}

/// `sa.ForeignKeyConstraint`, `sa.UniqueConstraint`, `sa.CheckConstraint`, `ExcludeConstraint`.
fn table_constraint(call: &Call) -> Option<(ConstraintDef, ConstraintDdl)> {
    let (kind, ddl) = match call.name() {
        "ForeignKeyConstraint" => {
            let local = strings(&list(call.arg("columns", 0)));
            let remote = list(call.arg("refcolumns", 1));
            let (references, _) = remote.first().map_or_else(unknown_target, target);
            let referenced_columns = remote.iter().map(|r| target(r).1).collect();
            (ConstraintKind::ForeignKey { columns: local, references, referenced_columns }, foreign_key_ddl(call))
        }
        "UniqueConstraint" => {
            (ConstraintKind::Unique { columns: strings(&call.args), using_index: None }, keys_ddl(call))
        }
        "CheckConstraint" => return Some((check(call, 0), check_ddl(call, 0))),
        "ExcludeConstraint" => (
            ConstraintKind::Exclusion,
            ConstraintDdl {
                unknown: Some("an EXCLUDE constraint, whose elements lockgate does not write".into()),
                ..ConstraintDdl::default()
            },
        ),
        _ => return None,
    };
    Some((ConstraintDef { name: name_kwarg(call), kind, not_valid: false }, ddl))
}

/// A UNIQUE or PRIMARY KEY constraint: only deferral is written besides its columns.
pub fn keys_ddl(call: &Call) -> ConstraintDdl {
    let ddl = options_ddl(call, &["name"]);
    let column_objects = call.args.iter().any(|a| a.as_str().is_none());
    let unknown =
        ddl.unknown.clone().or_else(|| column_objects.then(|| "constraint columns lockgate cannot read".into()));
    ConstraintDdl { unknown, ..ddl }
}

/// `op.create_unique_constraint` / `op.create_primary_key`: deferral is all that is written
/// besides the columns.
pub fn operation_keys_ddl(call: &Call) -> ConstraintDdl {
    options_ddl(call, &["constraint_name", "name", "table_name", "source", "table", "columns", "cols", "schema"])
}

/// Deferral from `deferrable=`/`initially=`, `postgresql_nulls_not_distinct=`; any other
/// keyword not in `known` is an option lockgate does not write.
fn options_ddl(call: &Call, known: &[&str]) -> ConstraintDdl {
    let extra =
        call.kwargs.iter().map(|(k, _)| k.as_str()).find(|k| {
            !known.contains(k) && !matches!(*k, "deferrable" | "initially" | "postgresql_nulls_not_distinct")
        });
    let mut unknown = match (extra, deferral(call)) {
        (Some(option), _) => Some(format!("`{option}=` on a constraint, which lockgate does not write")),
        (None, Err(why)) => Some(why),
        _ => None,
    };
    let nulls_distinct = nulls_not_distinct(call, &mut unknown);
    ConstraintDdl { deferral: deferral(call).ok().flatten(), unknown, nulls_distinct, ..ConstraintDdl::default() }
}

/// `postgresql_nulls_not_distinct=True` writes `NULLS NOT DISTINCT`, `False` `NULLS DISTINCT`
/// (`PGDDLCompiler._define_include` and `visit_unique_constraint`).
fn nulls_not_distinct(call: &Call, unknown: &mut Option<String>) -> Option<bool> {
    match call.kwarg("postgresql_nulls_not_distinct").map(|n| &n.value) {
        None | Some(Value::None) => None,
        Some(Value::Bool(not_distinct)) => Some(!not_distinct),
        Some(_) => {
            unknown.get_or_insert_with(|| "`postgresql_nulls_not_distinct=` known only at run time".to_string());
            None
        }
    }
}

/// Primary key, SERIAL, inline constraints and `index=True` indexes, the way SQLAlchemy's
/// DDL compiler derives them from the columns.
fn finish_table(
    spec: &mut TableSpec,
    table: &QualifiedName,
    columns: Vec<ColumnSpec>,
    explicit: Option<(ConstraintDef, ConstraintDdl)>,
) {
    let (mut primary_key, primary_key_ddl) = explicit.unwrap_or_else(|| {
        let constraint = ConstraintDef {
            name: None,
            kind: ConstraintKind::PrimaryKey { columns: vec![], using_index: None },
            not_valid: false,
        };
        (constraint, ConstraintDdl::default())
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
            make_serial(&mut column.def, &mut column.ddl);
        }
        if let Some(enum_type) = column.ty.enum_type.clone().filter(|e| e.create) {
            if !spec.enums.iter().any(|e| e.name == enum_type.name) {
                spec.enums.push(enum_type);
            }
        }
        derived(spec, table, &mut column);
        spec.constraints.append(&mut column.constraints);
        spec.constraint_ddl.append(&mut column.constraint_ddl);
        spec.columns.push(column.def);
        spec.column_ddl.push(column.ddl);
    }
    if !keys.is_empty() {
        spec.constraints.insert(0, primary_key);
        spec.constraint_ddl.insert(0, primary_key_ddl);
    }
}

/// `unique=True` → a UNIQUE constraint; `index=True` → `ix_<table>_<column>` (unique when
/// both are set, with no separate constraint).
fn derived(spec: &mut TableSpec, table: &QualifiedName, column: &mut ColumnSpec) {
    let name = &column.def.name;
    if column.index {
        spec.indexes.push(column_index(table, name, column.unique));
    } else if column.unique {
        column.constraints.push(ConstraintDef {
            name: None,
            kind: ConstraintKind::Unique { columns: vec![name.clone()], using_index: None },
            not_valid: false,
        });
        column.constraint_ddl.push(ConstraintDdl::default());
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
pub fn make_serial(def: &mut ColumnDef, ddl: &mut ColumnDdl) {
    def.identity = true;
    def.serial = true;
    def.not_null = true;
    def.default = Some(DefaultExpr::Volatile("nextval(…)".into()));
    let pseudo_type = match def.ty.name.as_str() {
        "bigint" => "BIGSERIAL",
        "smallint" => "SMALLSERIAL",
        _ => "SERIAL",
    };
    ddl.ty = pseudo_type.to_string();
    // SERIAL stands for the DEFAULT: `get_column_specification` writes none.
    ddl.default = None;
}

/// `index=True` on a column: `CREATE [UNIQUE] INDEX ix_<table>_<column> ON t (column)`.
pub fn column_index(table: &QualifiedName, column: &str, unique: bool) -> (OpKind, Ddl) {
    let kind = OpKind::CreateIndex {
        name: Some(format!("ix_{}_{column}", table.name)),
        table: table.clone(),
        columns: vec![Some(column.to_string())],
        unique,
        concurrently: false,
        partial: false,
        reads: vec![],
        only: false,
    };
    (kind, Ddl::Index(Box::new(IndexDdl::on_columns(1))))
}

/// How SQLAlchemy's PostgreSQL compiler writes an index (`PGDDLCompiler.visit_create_index`):
/// `keys` are the index's column arguments, `call` holds its `postgresql_*` options.
pub fn index_ddl(keys: &[Expr], call: &Call) -> IndexDdl {
    let mut unknown = None;
    let ops: Vec<(String, String)> = match call.kwarg("postgresql_ops").map(|o| &o.value) {
        None => vec![],
        Some(Value::Dict(pairs)) => {
            pairs.iter().filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string()))).collect()
        }
        Some(_) => {
            unknown = Some("`postgresql_ops` lockgate cannot read".to_string());
            vec![]
        }
    };
    let index_keys = keys
        .iter()
        .map(|key| {
            let (column, expression) = match &key.value {
                Value::Str(name) if is_identifier(name) => (Some(name.clone()), None),
                // Alembic turns a string that is not a plain name into `sa.text()`.
                Value::Str(sql) => (None, Some(sql.clone())),
                Value::Call(c) if matches!(c.name(), "column" | "Column") => {
                    (c.args.first().and_then(Expr::as_str).map(str::to_string), None)
                }
                Value::Call(c) if matches!(c.name(), "text" | "literal_column") => (None, sql_of(c)),
                _ => (None, None),
            };
            if column.is_none() && expression.is_none() {
                unknown.get_or_insert_with(|| "an index key built from SQLAlchemy expressions".to_string());
            }
            let opclass = column.as_ref().and_then(|c| ops.iter().find(|(k, _)| k == c).map(|(_, v)| v.clone()));
            IndexKey { expression, opclass, descending: false }
        })
        .collect();
    let predicate = match call.kwarg("postgresql_where").filter(|w| !w.is_none()) {
        None => None,
        Some(Expr { value: Value::Str(sql), .. }) => Some(sql.clone()),
        Some(Expr { value: Value::Call(c), .. }) if matches!(c.name(), "text" | "literal_column") => sql_of(c),
        Some(_) => {
            unknown.get_or_insert_with(|| "a WHERE clause built from SQLAlchemy expressions".to_string());
            None
        }
    };
    let method =
        call.kwarg("postgresql_using").filter(|u| !u.is_none()).map(|u| u.as_str().map(str::to_ascii_lowercase));
    if let Some(None) = method {
        unknown.get_or_insert_with(|| "`postgresql_using` known only at run time".to_string());
    }
    let include = match call.kwarg("postgresql_include") {
        None => vec![],
        Some(items) => {
            let names = key_columns(&list(Some(items)));
            if names.iter().any(Option::is_none) {
                unknown.get_or_insert_with(|| "`postgresql_include` lockgate cannot read".to_string());
            }
            names.into_iter().flatten().collect()
        }
    };
    let nulls_distinct = nulls_not_distinct(call, &mut unknown);
    for option in ["postgresql_with", "postgresql_tablespace", "postgresql_length"] {
        if call.kwarg(option).is_some_and(|o| !o.is_none()) {
            unknown.get_or_insert_with(|| format!("`{option}=`, which lockgate does not write"));
        }
    }
    IndexDdl {
        keys: index_keys,
        method: method.flatten(),
        include,
        predicate,
        if_not_exists: flag(call, "if_not_exists"),
        nulls_distinct,
        unknown,
    }
}

/// `sa.Index(name, *columns, unique=, postgresql_where=)` in `create_table`.
fn index(table: &QualifiedName, call: &Call) -> (OpKind, Ddl) {
    let keys = call.args.get(1..).unwrap_or_default();
    let kind = OpKind::CreateIndex {
        name: call.args.first().and_then(name_of),
        table: table.clone(),
        columns: key_columns(keys),
        unique: flag(call, "unique"),
        concurrently: false,
        partial: call.kwarg("postgresql_where").is_some_and(|w| !w.is_none()),
        reads: vec![],
        only: false,
    };
    (kind, Ddl::Index(Box::new(index_ddl(keys, call))))
}
