//! SQLAlchemy column types → the PostgreSQL types they compile to (`GenericTypeCompiler` and
//! the PostgreSQL dialect's `colspecs`).

use crate::ir::{quote_relation, QualifiedName, SqlType};
use crate::source::python::{Call, Expr, Value};

/// A column type as lockgate understands it.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnType {
    pub ty: SqlType,
    /// Integer affinity: a lone primary key of this type becomes SERIAL.
    pub integer: bool,
    /// A native enum this type stands for, when SQLAlchemy creates it with the table.
    pub enum_type: Option<EnumType>,
    /// The type as SQLAlchemy's PostgreSQL type compiler writes it (`VARCHAR(255)`,
    /// `TIMESTAMP WITH TIME ZONE`), or why only code run at migrate time knows it.
    pub sql: Result<String, String>,
    /// A class lockgate does not know (a TypeDecorator, a third-party type): `ty` and `sql`
    /// are placeholders.
    pub custom: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnumType {
    pub name: String,
    pub schema: Option<String>,
    /// `create_type=False` (postgresql.ENUM): the type exists already.
    pub create: bool,
    /// The labels when written as string literals; a Python `enum.Enum` class's members are
    /// known only when the migration runs.
    pub labels: Option<Vec<String>>,
}

impl ColumnType {
    fn plain(ty: SqlType, sql: Result<String, String>) -> Self {
        ColumnType { ty, integer: false, enum_type: None, sql, custom: false }
    }
}

/// Reads a type written as a class (`sa.Integer`) or an instance (`sa.String(50)`).
pub fn column_type(expr: &Expr) -> ColumnType {
    match &expr.value {
        Value::Name(name) => from_class(name, &Call { func: name.clone(), ..empty_call() }),
        Value::Call(call) => from_call(call),
        Value::Str(name) => ColumnType::plain(
            SqlType::named(&name.to_ascii_lowercase()),
            Err(format!("a type given as the string `{name}`")),
        ),
        _ => ColumnType::plain(
            SqlType::named("(a type lockgate cannot read)"),
            Err("a type lockgate cannot read".into()),
        ),
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
            Value::List(items) | Value::Tuple(items) | Value::Set(items) => {
                items.iter().any(|i| i.as_str() == Some("postgresql"))
            }
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
    let integer = |name: &str| ColumnType {
        ty: SqlType::named(name),
        integer: true,
        enum_type: None,
        sql: Ok(name.to_ascii_uppercase()),
        custom: false,
    };
    // Types whose DDL is exactly their upper-cased name.
    let named = |name: &str| ColumnType::plain(SqlType::named(name), Ok(name.to_ascii_uppercase()));
    // SQLAlchemy writes these differently from PostgreSQL's canonical name, or not for PostgreSQL at all.
    let spelled = |name: &str, sql: Result<String, String>| ColumnType::plain(SqlType::named(name), sql);
    let not_postgres = || Err(format!("`{func}`, which SQLAlchemy does not write as a PostgreSQL type"));
    let has_args = !call.args.is_empty() || !call.kwargs.is_empty();
    match class {
        "Integer" | "INTEGER" | "INT" => integer("integer"),
        "BigInteger" | "BIGINT" => integer("bigint"),
        "SmallInteger" | "SMALLINT" => integer("smallint"),
        "String" | "VARCHAR" | "Unicode" => sized("varchar", call, Ok("VARCHAR".into())),
        "NVARCHAR" => sized("varchar", call, not_postgres()),
        "CHAR" | "NCHAR" => {
            let n = length(call).unwrap_or(1);
            let sql = if class == "CHAR" {
                Ok(if call.args.is_empty() && call.kwarg("length").is_none() {
                    "CHAR".to_string()
                } else {
                    format!("CHAR({n})")
                })
            } else {
                not_postgres()
            };
            ColumnType::plain(SqlType::with_modifiers("char", vec![n]), sql)
        }
        "Text" | "TEXT" | "UnicodeText" => spelled("text", Ok("TEXT".into())),
        "CLOB" => spelled("text", not_postgres()),
        "Boolean" | "BOOLEAN" => named("boolean"),
        "DateTime" | "TIMESTAMP" => zoned("timestamp", "timestamptz", "TIMESTAMP", call),
        "DATETIME" => {
            let mut ty = zoned("timestamp", "timestamptz", "TIMESTAMP", call);
            ty.sql = not_postgres();
            ty
        }
        "Time" | "TIME" => zoned("time", "timetz", "TIME", call),
        "Date" | "DATE" => named("date"),
        "Numeric" | "NUMERIC" | "DECIMAL" => numeric(call, if class == "DECIMAL" { "DECIMAL" } else { "NUMERIC" }),
        "Float" | "FLOAT" => float(call),
        "Double" | "DOUBLE_PRECISION" => spelled("double precision", Ok("DOUBLE PRECISION".into())),
        "DOUBLE" => spelled("double precision", not_postgres()),
        "REAL" => named("real"),
        "JSON" => named("json"),
        "JSONB" => named("jsonb"),
        "Uuid" | "UUID" if call.kwarg("native_uuid").and_then(Expr::as_bool) == Some(false) => {
            ColumnType::plain(SqlType::with_modifiers("char", vec![32]), Ok("CHAR(32)".into()))
        }
        "Uuid" | "UUID" => named("uuid"),
        "LargeBinary" | "BYTEA" | "PickleType" => spelled("bytea", Ok("BYTEA".into())),
        "BINARY" | "VARBINARY" | "BLOB" => spelled("bytea", not_postgres()),
        "Interval" | "INTERVAL" if has_args => {
            spelled("interval", Err(format!("`{func}` with fields or a precision, which lockgate does not write")))
        }
        "Interval" | "INTERVAL" => named("interval"),
        "ARRAY" => array(call),
        "Enum" | "ENUM" => enumeration(call),
        "BIT" => {
            let n = length(call).unwrap_or(1);
            let sql = match call.kwarg("varying").and_then(Expr::as_bool) {
                Some(true) => Err("`BIT(varying=True)`, which lockgate does not write".into()),
                _ => Ok(format!("BIT({n})")),
            };
            ColumnType::plain(SqlType::with_modifiers("bit", vec![n]), sql)
        }
        "INET" | "CIDR" | "MACADDR" | "MACADDR8" | "HSTORE" | "TSVECTOR" | "TSQUERY" | "CITEXT" | "INT4RANGE"
        | "INT8RANGE" | "NUMRANGE" | "DATERANGE" | "TSRANGE" | "TSTZRANGE" | "INT4MULTIRANGE" | "INT8MULTIRANGE"
        | "NUMMULTIRANGE" | "DATEMULTIRANGE" | "TSMULTIRANGE" | "TSTZMULTIRANGE" | "MONEY" | "OID" | "REGCLASS"
        | "REGCONFIG" | "JSONPATH" => named(&class.to_ascii_lowercase()),
        // A TypeDecorator or a third-party type: its DDL is code. The dotted name keeps it
        // recognisable in messages and never equal to a built-in type.
        _ => ColumnType {
            custom: true,
            ..spelled(func, Err(format!("`{func}`: a custom or third-party type, whose DDL its code decides")))
        },
    }
}

fn length(call: &Call) -> Option<i64> {
    call.arg("length", 0).and_then(Expr::as_int)
}

fn sized(name: &str, call: &Call, base: Result<String, String>) -> ColumnType {
    let modifiers: Vec<i64> = length(call).into_iter().collect();
    let sql = base.map(|base| match modifiers.first() {
        Some(n) => format!("{base}({n})"),
        None => base,
    });
    ColumnType::plain(SqlType::with_modifiers(name, modifiers), sql)
}

/// `TIMESTAMP[(p)] WITH[OUT] TIME ZONE` (`PGTypeCompiler.visit_TIMESTAMP` / `visit_TIME`).
fn zoned(plain: &str, zoned: &str, keyword: &str, call: &Call) -> ColumnType {
    let with_zone = call.kwarg("timezone").and_then(Expr::as_bool) == Some(true);
    let name = if with_zone { zoned } else { plain };
    let precision: Vec<i64> = call.kwarg("precision").and_then(Expr::as_int).into_iter().collect();
    let sql = format!(
        "{keyword}{} {} TIME ZONE",
        precision.first().map(|p| format!("({p})")).unwrap_or_default(),
        if with_zone { "WITH" } else { "WITHOUT" }
    );
    ColumnType::plain(SqlType::with_modifiers(name, precision), Ok(sql))
}

fn numeric(call: &Call, keyword: &str) -> ColumnType {
    let precision = call.arg("precision", 0).and_then(Expr::as_int);
    let scale = call.arg("scale", 1).and_then(Expr::as_int);
    let modifiers = match (precision, scale) {
        (Some(p), Some(s)) => vec![p, s],
        (Some(p), None) => vec![p],
        _ => vec![],
    };
    let sql = match modifiers.as_slice() {
        [] => keyword.to_string(),
        [p] => format!("{keyword}({p})"),
        [p, s, ..] => format!("{keyword}({p}, {s})"),
    };
    ColumnType::plain(SqlType::with_modifiers("numeric", modifiers), Ok(sql))
}

/// PostgreSQL stores FLOAT(1–24) as real and anything wider (or unsized) as double precision.
fn float(call: &Call) -> ColumnType {
    let precision = call.arg("precision", 0).and_then(Expr::as_int);
    let name = if precision.is_some_and(|p| p <= 24) { "real" } else { "double precision" };
    let sql = precision.map_or_else(|| "FLOAT".to_string(), |p| format!("FLOAT({p})"));
    ColumnType::plain(SqlType::named(name), Ok(sql))
}

fn array(call: &Call) -> ColumnType {
    let item = call.arg("item_type", 0).map(column_type);
    let dimensions = match call.kwarg("dimensions").filter(|d| !d.is_none()) {
        None => Ok(1),
        Some(d) => d.as_int().filter(|d| *d > 0).ok_or_else(|| "ARRAY dimensions known only at run time".to_string()),
    };
    let sql = match (&item, dimensions) {
        (Some(item), Ok(dimensions)) => {
            item.sql.clone().map(|inner| format!("{inner}{}", "[]".repeat(dimensions as usize)))
        }
        (None, _) => Err("an ARRAY whose item type lockgate cannot read".into()),
        (_, Err(why)) => Err(why),
    };
    let mut ty = item.map_or_else(|| SqlType::named("(an array type lockgate cannot read)"), |t| t.ty);
    ty.array = true;
    ColumnType::plain(ty, sql)
}

/// `sa.Enum("a", "b", name="mood")` is a native PostgreSQL enum named `mood`; with
/// `native_enum=False` it is a VARCHAR as long as the longest value.
fn enumeration(call: &Call) -> ColumnType {
    if call.kwarg("native_enum").and_then(Expr::as_bool) == Some(false) {
        let longest = call.args.iter().filter_map(Expr::as_str).map(|v| v.chars().count() as i64).max();
        let modifiers: Vec<i64> = call.kwarg("length").and_then(Expr::as_int).or(longest).into_iter().collect();
        let sql = match (modifiers.first(), call.kwarg("create_constraint").and_then(Expr::as_bool)) {
            (_, Some(true)) => {
                Err("a non-native Enum with create_constraint=True, whose CHECK lockgate does not write".into())
            }
            (Some(n), _) if call.args.iter().all(|a| a.as_str().is_some()) => Ok(format!("VARCHAR({n})")),
            _ => Err("a non-native Enum whose values lockgate cannot read".into()),
        };
        return ColumnType::plain(SqlType::with_modifiers("varchar", modifiers), sql);
    }
    let name = call.kwarg("name").and_then(Expr::as_str).map(str::to_string).or_else(|| python_enum_name(call));
    let Some(name) = name else {
        return ColumnType::plain(SqlType::named("(an enum without a name)"), Err("an Enum without a name".into()));
    };
    let schema = call.kwarg("schema").and_then(Expr::as_str).map(str::to_string);
    let create = call.kwarg("create_type").and_then(Expr::as_bool) != Some(false);
    // `format_type` quotes the name when it needs it; lockgate quotes every identifier.
    let sql = Ok(quote_relation(&QualifiedName { schema: schema.clone(), name: name.clone() }));
    let labels = call.args.iter().map(|a| a.as_str().map(str::to_string)).collect::<Option<Vec<_>>>();
    let enum_type = EnumType { name: name.clone(), schema, create, labels: labels.filter(|l| !l.is_empty()) };
    ColumnType { ty: SqlType::named(&name), integer: false, enum_type: Some(enum_type), sql, custom: false }
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
