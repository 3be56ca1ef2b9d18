//! SQLAlchemy column types → the PostgreSQL types they compile to (`GenericTypeCompiler` and
//! the PostgreSQL dialect's `colspecs`).

use crate::ir::SqlType;
use crate::source::python::{Call, Expr, Value};

/// A column type as lockgate understands it.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnType {
    pub ty: SqlType,
    /// Integer affinity: a lone primary key of this type becomes SERIAL.
    pub integer: bool,
    /// A native enum this type stands for, when SQLAlchemy creates it with the table.
    pub enum_type: Option<EnumType>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnumType {
    pub name: String,
    pub schema: Option<String>,
    /// `create_type=False` (postgresql.ENUM): the type exists already.
    pub create: bool,
}

impl ColumnType {
    fn plain(ty: SqlType) -> Self {
        ColumnType { ty, integer: false, enum_type: None }
    }
}

/// Reads a type written as a class (`sa.Integer`) or an instance (`sa.String(50)`).
pub fn column_type(expr: &Expr) -> ColumnType {
    match &expr.value {
        Value::Name(name) => from_class(name, &Call { func: name.clone(), ..empty_call() }),
        Value::Call(call) => from_call(call),
        Value::Str(name) => ColumnType::plain(SqlType::named(&name.to_ascii_lowercase())),
        _ => ColumnType::plain(SqlType::named("(a type lockgate cannot read)")),
    }
}

fn empty_call() -> Call {
    Call { func: String::new(), args: vec![], kwargs: vec![], splat: false, receiver: None }
}

fn from_call(call: &Call) -> ColumnType {
    if let Some(receiver) = call.receiver.as_deref() {
        return method_on_type(receiver, call);
    }
    from_class(&call.func, call)
}

/// `sa.JSON().with_variant(postgresql.JSONB(), "postgresql")` and other methods on a type.
fn method_on_type(receiver: &Expr, call: &Call) -> ColumnType {
    if call.name() == "with_variant" {
        let dialects = call.arg("dialect_name", 1);
        let for_postgres = dialects.is_some_and(|d| match &d.value {
            Value::Str(name) => name == "postgresql",
            Value::List(items) | Value::Tuple(items) => items.iter().any(|i| i.as_str() == Some("postgresql")),
            _ => false,
        });
        if let (true, Some(variant)) = (for_postgres, call.arg("type_", 0)) {
            return column_type(variant);
        }
    }
    // `.evaluates_none()`, `.with_variant(…, "sqlite")`, `.copy()`: the type itself.
    column_type(receiver)
}

fn from_class(func: &str, call: &Call) -> ColumnType {
    let class = func.rsplit('.').next().unwrap_or(func);
    let integer = |name: &str| ColumnType { ty: SqlType::named(name), integer: true, enum_type: None };
    let named = |name: &str| ColumnType::plain(SqlType::named(name));
    match class {
        "Integer" | "INTEGER" | "INT" => integer("integer"),
        "BigInteger" | "BIGINT" => integer("bigint"),
        "SmallInteger" | "SMALLINT" => integer("smallint"),
        "String" | "VARCHAR" | "Unicode" | "NVARCHAR" => sized("varchar", call),
        "CHAR" | "NCHAR" => ColumnType::plain(SqlType::with_modifiers("char", vec![length(call).unwrap_or(1)])),
        "Text" | "TEXT" | "UnicodeText" | "CLOB" => named("text"),
        "Boolean" | "BOOLEAN" => named("boolean"),
        "DateTime" | "DATETIME" | "TIMESTAMP" => zoned("timestamp", "timestamptz", call),
        "Time" | "TIME" => zoned("time", "timetz", call),
        "Date" | "DATE" => named("date"),
        "Numeric" | "NUMERIC" | "DECIMAL" => numeric(call),
        "Float" | "FLOAT" => float(call),
        "Double" | "DOUBLE" | "DOUBLE_PRECISION" => named("double precision"),
        "REAL" => named("real"),
        "JSON" => named("json"),
        "JSONB" => named("jsonb"),
        "Uuid" | "UUID" if call.kwarg("native_uuid").and_then(Expr::as_bool) == Some(false) => {
            ColumnType::plain(SqlType::with_modifiers("char", vec![32]))
        }
        "Uuid" | "UUID" => named("uuid"),
        "LargeBinary" | "BINARY" | "VARBINARY" | "BLOB" | "BYTEA" | "PickleType" => named("bytea"),
        "Interval" | "INTERVAL" => named("interval"),
        "ARRAY" => array(call),
        "Enum" | "ENUM" => enumeration(call),
        "BIT" => ColumnType::plain(SqlType::with_modifiers("bit", vec![length(call).unwrap_or(1)])),
        "INET" | "CIDR" | "MACADDR" | "MACADDR8" | "HSTORE" | "TSVECTOR" | "TSQUERY" | "CITEXT" | "INT4RANGE"
        | "INT8RANGE" | "NUMRANGE" | "DATERANGE" | "TSRANGE" | "TSTZRANGE" | "INT4MULTIRANGE" | "INT8MULTIRANGE"
        | "NUMMULTIRANGE" | "DATEMULTIRANGE" | "TSMULTIRANGE" | "TSTZMULTIRANGE" | "MONEY" | "OID" | "REGCLASS"
        | "REGCONFIG" | "JSONPATH" => named(&class.to_ascii_lowercase()),
        // A TypeDecorator or a third-party type: its DDL is code. The dotted name keeps it
        // recognisable in messages and never equal to a built-in type.
        _ => named(func),
    }
}

fn length(call: &Call) -> Option<i64> {
    call.arg("length", 0).and_then(Expr::as_int)
}

fn sized(name: &str, call: &Call) -> ColumnType {
    let modifiers = length(call).into_iter().collect();
    ColumnType::plain(SqlType::with_modifiers(name, modifiers))
}

fn zoned(plain: &str, zoned: &str, call: &Call) -> ColumnType {
    let name = if call.kwarg("timezone").and_then(Expr::as_bool) == Some(true) { zoned } else { plain };
    let precision = call.kwarg("precision").and_then(Expr::as_int).into_iter().collect();
    ColumnType::plain(SqlType::with_modifiers(name, precision))
}

fn numeric(call: &Call) -> ColumnType {
    let precision = call.arg("precision", 0).and_then(Expr::as_int);
    let scale = call.arg("scale", 1).and_then(Expr::as_int);
    let modifiers = match (precision, scale) {
        (Some(p), Some(s)) => vec![p, s],
        (Some(p), None) => vec![p],
        _ => vec![],
    };
    ColumnType::plain(SqlType::with_modifiers("numeric", modifiers))
}

/// PostgreSQL stores FLOAT(1–24) as real and anything wider (or unsized) as double precision.
fn float(call: &Call) -> ColumnType {
    let precision = call.arg("precision", 0).and_then(Expr::as_int);
    let name = if precision.is_some_and(|p| p <= 24) { "real" } else { "double precision" };
    ColumnType::plain(SqlType::named(name))
}

fn array(call: &Call) -> ColumnType {
    let item = call.arg("item_type", 0).map(column_type);
    let mut ty = item.map_or_else(|| SqlType::named("(an array type lockgate cannot read)"), |t| t.ty);
    ty.array = true;
    ColumnType::plain(ty)
}

/// `sa.Enum("a", "b", name="mood")` is a native PostgreSQL enum named `mood`; with
/// `native_enum=False` it is a VARCHAR as long as the longest value.
fn enumeration(call: &Call) -> ColumnType {
    if call.kwarg("native_enum").and_then(Expr::as_bool) == Some(false) {
        let longest = call.args.iter().filter_map(Expr::as_str).map(|v| v.chars().count() as i64).max();
        let modifiers = call.kwarg("length").and_then(Expr::as_int).or(longest).into_iter().collect();
        return ColumnType::plain(SqlType::with_modifiers("varchar", modifiers));
    }
    let name = call.kwarg("name").and_then(Expr::as_str).map(str::to_string).or_else(|| python_enum_name(call));
    let Some(name) = name else { return ColumnType::plain(SqlType::named("(an enum without a name)")) };
    let schema = call.kwarg("schema").and_then(Expr::as_str).map(str::to_string);
    let create = call.kwarg("create_type").and_then(Expr::as_bool) != Some(false);
    ColumnType { ty: SqlType::named(&name), integer: false, enum_type: Some(EnumType { name, schema, create }) }
}

/// `sa.Enum(MyEnum)` without `name=`: SQLAlchemy names the type after the class, lowercased.
fn python_enum_name(call: &Call) -> Option<String> {
    match &call.args.first()?.value {
        Value::Name(class) => Some(class.rsplit('.').next().unwrap_or(class).to_ascii_lowercase()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::python::Module;

    fn ty(source: &str) -> ColumnType {
        let text = format!("X = {source}\n");
        let module = Module::parse(&text).expect("parses");
        column_type(&module.module_assignment("X").expect("assigned"))
    }

    fn name(source: &str) -> String {
        ty(source).ty.to_string()
    }

    #[test]
    fn generic_types_compile_to_postgres_names() {
        assert_eq!(name("sa.Integer"), "integer");
        assert_eq!(name("sa.Integer()"), "integer");
        assert!(ty("sa.BigInteger()").integer);
        assert_eq!(name("sa.SmallInteger()"), "smallint");
        assert_eq!(name("sa.String(50)"), "varchar(50)");
        assert_eq!(name("sa.String(length=100)"), "varchar(100)");
        assert_eq!(name("sa.String()"), "varchar");
        assert_eq!(name("sa.Text()"), "text");
        assert_eq!(name("sa.Boolean()"), "boolean");
        assert_eq!(name("sa.DateTime()"), "timestamp");
        assert_eq!(name("sa.DateTime(timezone=True)"), "timestamptz");
        assert_eq!(name("sa.TIMESTAMP(timezone=True)"), "timestamptz");
        assert_eq!(name("sa.Date()"), "date");
        assert_eq!(name("sa.Time()"), "time");
        assert_eq!(name("sa.Numeric(10, 2)"), "numeric(10,2)");
        assert_eq!(name("sa.Numeric(precision=12)"), "numeric(12)");
        assert_eq!(name("sa.Float()"), "double precision");
        assert_eq!(name("sa.JSON()"), "json");
        assert_eq!(name("postgresql.JSONB(astext_type=sa.Text())"), "jsonb");
        assert_eq!(name("postgresql.UUID(as_uuid=True)"), "uuid");
        assert_eq!(name("sa.Uuid()"), "uuid");
        assert_eq!(name("sa.LargeBinary()"), "bytea");
        assert_eq!(name("sa.Interval()"), "interval");
        assert_eq!(name("postgresql.ARRAY(sa.String(20))"), "varchar(20)[]");
        assert_eq!(name("postgresql.INET()"), "inet");
        assert_eq!(name("sa.CHAR(2)"), "char(2)");
    }

    #[test]
    fn enums_name_their_type() {
        let mood = ty("sa.Enum('happy', 'sad', name='mood')");
        assert_eq!(mood.ty.name, "mood");
        assert_eq!(mood.enum_type.map(|e| e.create), Some(true));
        let existing = ty("postgresql.ENUM('a', name='status', create_type=False)");
        assert_eq!(existing.enum_type.map(|e| e.create), Some(false));
        assert_eq!(name("sa.Enum('a', 'bbb', native_enum=False)"), "varchar(3)");
    }

    #[test]
    fn variants_and_custom_types() {
        assert_eq!(name("sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')"), "jsonb");
        assert_eq!(name("sa.JSON().with_variant(sa.Text(), 'sqlite')"), "json");
        assert_eq!(name("app.types.GUID()"), "app.types.GUID");
    }
}
