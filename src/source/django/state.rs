//! Django's model state, replayed statically: models, their fields and the column each field
//! stands for (type, nullability, key, index), following Django's naming rules.

use std::collections::HashMap;

use crate::config::DjangoConfig;
use crate::ir::{DefaultExpr, QualifiedName, SqlType};
use crate::source::python::{Call, Expr, Value};

/// `(app_label, model name lowercased)`.
pub type ModelKey = (String, String);

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The field class as written, last dotted part (`CharField`).
    pub class: String,
    /// Not a field class lockgate knows: its column type is a guess.
    pub custom: bool,
    /// The column name (`<name>_id` for relations, or `db_column`).
    pub column: String,
    /// `None` for a ManyToManyField (it has no column).
    pub ty: Option<SqlType>,
    pub null: bool,
    pub primary_key: bool,
    pub unique: bool,
    pub db_index: bool,
    /// An auto-increment primary key (AutoField and friends).
    pub auto: bool,
    /// A Python-side `default=`: Django writes it into existing rows, then drops it.
    pub default: Option<String>,
    /// `db_default=` (Django 5+): stays in the database. `None` also for `db_default=None`,
    /// which leaves no default (`db_default_sql` tells whether the keyword was given).
    pub db_default: Option<DefaultExpr>,
    /// Target of a ForeignKey / OneToOneField / ManyToManyField, as written.
    pub relation: Option<Relation>,
    /// `GeneratedField` (stored).
    pub generated: bool,
    /// Positive*Field: Django adds `CHECK (col >= 0)`.
    pub positive: bool,
    /// The column type as Django's PostgreSQL backend writes it, or why only the field's code
    /// knows it. Relations take theirs from the target's key, when the column is built.
    pub type_sql: Result<String, String>,
    /// The `data_types` entry Django compares to decide whether a type change casts with
    /// `USING` (`PSE._field_data_type`); `None` when that cannot be known statically.
    pub type_template: Option<String>,
    /// The effective default as the literal Django sends, or why Python computes it only when
    /// the migration runs; `None`: no default.
    pub default_sql: Option<Result<String, String>>,
    /// `db_default=` as the DEFAULT expression Django writes.
    pub db_default_sql: Option<Result<String, String>>,
    /// `db_collation=`.
    pub collation: Option<String>,
    /// `db_comment=` given: Django follows the column with a COMMENT ON statement.
    pub comment: bool,
    /// Django 6.1's database-level `on_delete` (`DB_CASCADE`, …): the ON DELETE action.
    pub on_delete_db: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    pub target: RelationTarget,
    pub many_to_many: bool,
    /// `db_constraint=False`: no FOREIGN KEY in the database.
    pub db_constraint: bool,
    /// `through=` given: the join table is a model of its own.
    pub through: bool,
}

/// A relation target as written in the migration.
#[derive(Debug, Clone, PartialEq)]
pub enum RelationTarget {
    Model(ModelKey),
    /// `settings.AUTH_USER_MODEL` and other swappable settings.
    Setting(String),
}

#[derive(Debug, Clone)]
pub struct Model {
    pub app: String,
    pub name: String,
    pub table: String,
    /// `db_table` was given: renames of the model do not rename the table.
    pub table_pinned: bool,
    pub fields: Vec<(String, Field)>,
    /// `managed = False` or a proxy: Django emits no SQL for it.
    pub unmanaged: bool,
    pub unique_together: Vec<Vec<String>>,
    pub index_together: Vec<Vec<String>>,
}

impl Model {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, f)| f)
    }

    pub fn table_name(&self) -> QualifiedName {
        QualifiedName::unqualified(self.table.clone())
    }

    /// The primary key field, if the state knows it.
    pub fn primary_key(&self) -> Option<&Field> {
        self.fields.iter().map(|(_, f)| f).find(|f| f.primary_key)
    }

    /// Column names for field names (`-name` index ordering marks stripped).
    pub fn columns(&self, fields: &[String]) -> Vec<String> {
        fields
            .iter()
            .map(|f| {
                let name = f.trim_start_matches('-');
                self.field(name).map_or_else(|| name.to_string(), |field| field.column.clone())
            })
            .collect()
    }
}

/// What the replay knows about every model of every app so far.
#[derive(Debug, Default, Clone)]
pub struct ProjectState {
    pub models: HashMap<ModelKey, Model>,
}

/// Settings a static reader cannot see, from `[django]` in lockgate.toml.
#[derive(Debug, Clone)]
pub struct DjangoSettings {
    /// `DEFAULT_AUTO_FIELD`'s class name, for auto-created primary keys.
    pub default_auto_field: String,
    /// `AUTH_USER_MODEL` as `app_label.Model`.
    pub auth_user_model: String,
    /// Column types of custom field classes, by class name (`StreamField` → `jsonb`).
    pub field_types: HashMap<String, SqlType>,
}

impl Default for DjangoSettings {
    fn default() -> Self {
        DjangoSettings {
            default_auto_field: "BigAutoField".into(),
            auth_user_model: "auth.User".into(),
            field_types: HashMap::new(),
        }
    }
}

impl DjangoSettings {
    /// The settings `[django]` gives, over Django's own defaults.
    pub fn from_config(config: &DjangoConfig) -> Self {
        let defaults = DjangoSettings::default();
        DjangoSettings {
            default_auto_field: config.default_auto_field.clone().unwrap_or(defaults.default_auto_field),
            auth_user_model: config.auth_user_model.clone().unwrap_or(defaults.auth_user_model),
            field_types: config.field_types.iter().map(|(class, ty)| (class.clone(), parse_type(ty))).collect(),
        }
    }
}

pub fn model_key(app: &str, name: &str) -> ModelKey {
    (app.to_string(), name.to_ascii_lowercase())
}

/// Resolves `"app.Model"` / `"Model"` (same app) / a swappable setting to a model key.
pub fn resolve(target: &RelationTarget, app: &str, settings: &DjangoSettings) -> ModelKey {
    let text = match target {
        RelationTarget::Model(key) => return key.clone(),
        RelationTarget::Setting(_) => settings.auth_user_model.as_str(),
    };
    split_model_ref(text, app)
}

fn split_model_ref(text: &str, app: &str) -> ModelKey {
    match text.split_once('.') {
        Some((label, model)) => model_key(label, model),
        None => model_key(app, text),
    }
}

/// Django's table name: `<app_label>_<model lower>`, shortened like `truncate_name` when needed.
pub fn default_table(app: &str, model: &str) -> String {
    truncate_name(&format!("{app}_{}", model.to_ascii_lowercase()))
}

fn truncate_name(name: &str) -> String {
    const MAX: usize = 63;
    if name.len() <= MAX {
        return name.to_string();
    }
    let hash = format!("{:x}", md5::compute(name.as_bytes()));
    format!("{}{}", &name[..MAX - 4], &hash[..4])
}

/// Field classes lockgate knows, longest first, so a custom subclass named after one
/// (`SanitizedJSONField`, `TreeForeignKey`) gets its parent's column type.
pub(super) const KNOWN_CLASSES: &[&str] = &[
    "PositiveSmallIntegerField",
    "PositiveBigIntegerField",
    "PositiveIntegerField",
    "CommaSeparatedIntegerField",
    "GenericIPAddressField",
    "BigIntegerRangeField",
    "DecimalRangeField",
    "DateTimeRangeField",
    "IntegerRangeField",
    "SmallIntegerField",
    "SearchVectorField",
    "BigIntegerField",
    "ManyToManyField",
    "NullBooleanField",
    "SmallAutoField",
    "IPAddressField",
    "DateRangeField",
    "FilePathField",
    "OneToOneField",
    "DateTimeField",
    "BigAutoField",
    "IntegerField",
    "DecimalField",
    "DurationField",
    "BooleanField",
    "BinaryField",
    "HStoreField",
    "CIEmailField",
    "CICharField",
    "CITextField",
    "ArrayField",
    "ForeignKey",
    "EmailField",
    "ImageField",
    "FloatField",
    "AutoField",
    "CharField",
    "TextField",
    "SlugField",
    "UUIDField",
    "JSONField",
    "FileField",
    "DateField",
    "TimeField",
    "URLField",
];

/// The known class a field class is or is named after; `None` when nothing matches.
fn known_class(class: &str, call: &Call) -> Option<&'static str> {
    if let Some(known) = KNOWN_CLASSES.iter().find(|k| **k == class) {
        return Some(known);
    }
    // Third-party relations: a manager with a join model, or anything with on_delete.
    if call.kwarg("through").is_some() || class.ends_with("Manager") {
        return Some("ManyToManyField");
    }
    if call.kwarg("on_delete").is_some() {
        return Some("ForeignKey");
    }
    KNOWN_CLASSES.iter().find(|k| class.ends_with(**k)).copied()
}

/// Reads a field constructor call (`models.CharField(max_length=20, null=True)`).
pub fn field_from_call(call: &Call, name: &str, app: &str, settings: &DjangoSettings) -> Field {
    let written = call.name().to_string();
    let configured = settings.field_types.get(&written);
    let known = known_class(&written, call);
    let class = known.unwrap_or(&written).to_string();
    let flag = |key: &str| call.kwarg(key).and_then(Expr::as_bool);
    let relation = relation_of(call, &class, app);
    let is_relation = relation.as_ref().is_some_and(|r| !r.many_to_many);
    let column = call.kwarg("db_column").and_then(Expr::as_str).map(str::to_string).unwrap_or_else(|| {
        if is_relation {
            format!("{name}_id")
        } else {
            name.to_string()
        }
    });
    let (ty, unknown_type) = match configured {
        Some(ty) => (Some(ty.clone()), false),
        None => column_type(call, &class),
    };
    let custom = configured.is_none() && (known.is_none_or(|k| k != written) || unknown_type);
    let auto = matches!(class.as_str(), "AutoField" | "BigAutoField" | "SmallAutoField");
    let primary_key = flag("primary_key").unwrap_or(false);
    let one_to_one = class == "OneToOneField";
    let null = flag("null").unwrap_or(false) || class == "NullBooleanField";
    let type_sql = match (configured, &ty) {
        (Some(ty), _) => Ok(spell_type(ty)),
        (None, _) if known.is_none_or(|k| k != written) => Err(format!(
            "custom field class `{written}`: its column type comes from its db_type() when the migration runs (map it in [django] field_types)"
        )),
        (None, _) => django_type(call, &class),
    };
    let type_template = if configured.is_some() { None } else { type_template(&class, type_sql.as_ref().ok()) };
    let default_sql = match call.kwarg("default").filter(|d| !d.is_none()) {
        Some(expr) => Some(literal(expr, &class)),
        None => effective_default_sql(call, &class, null),
    };
    Field {
        type_sql,
        type_template,
        default_sql,
        db_default_sql: call.kwarg("db_default").map(|d| db_default_sql(d, &class)),
        collation: call.kwarg("db_collation").and_then(Expr::as_str).map(str::to_string),
        comment: call.kwarg("db_comment").is_some_and(|c| !c.is_none()),
        on_delete_db: call.kwarg("on_delete").and_then(on_delete_db),
        default: call
            .kwarg("default")
            .filter(|d| !d.is_none())
            .map(python_default)
            .or_else(|| effective_default(call, &class, null)),
        custom,
        column,
        ty: if relation.as_ref().is_some_and(|r| r.many_to_many) { None } else { ty },
        null,
        primary_key,
        unique: (flag("unique").unwrap_or(false) || one_to_one) && !primary_key,
        db_index: flag("db_index").unwrap_or(is_relation || class == "SlugField") && !primary_key,
        auto,
        db_default: call.kwarg("db_default").and_then(db_default),
        generated: class == "GeneratedField",
        positive: class.starts_with("Positive"),
        relation,
        class: written,
    }
}

/// Reads a type written in lockgate.toml: `jsonb`, `varchar(20)`, `numeric(12, 2)`, `text[]`.
pub fn parse_type(text: &str) -> SqlType {
    let text = text.trim();
    let (text, array) = match text.strip_suffix("[]") {
        Some(base) => (base.trim(), true),
        None => (text, false),
    };
    let (name, modifiers) = match text.split_once('(') {
        Some((name, rest)) => {
            let modifiers = rest.trim_end_matches(')').split(',').filter_map(|m| m.trim().parse().ok()).collect();
            (name.trim(), modifiers)
        }
        None => (text, vec![]),
    };
    SqlType { name: crate::postgres::canonical_type_name(name), modifiers, array }
}

/// What Django writes into existing rows when a field has no `default`
/// (`BaseDatabaseSchemaEditor._effective_default`).
fn effective_default(call: &Call, class: &str, null: bool) -> Option<String> {
    let flag = |key: &str| call.kwarg(key).and_then(Expr::as_bool).unwrap_or(false);
    if flag("auto_now") || flag("auto_now_add") {
        return Some("now()".into());
    }
    if null || !flag("blank") {
        return None;
    }
    let stringy = matches!(
        class,
        "CharField"
            | "TextField"
            | "SlugField"
            | "EmailField"
            | "URLField"
            | "FilePathField"
            | "FileField"
            | "ImageField"
            | "CommaSeparatedIntegerField"
            | "CICharField"
            | "CIEmailField"
            | "CITextField"
    );
    match class {
        _ if stringy => Some("''".into()),
        "BinaryField" => Some("b''".into()),
        _ => None,
    }
}

fn relation_of(call: &Call, class: &str, app: &str) -> Option<Relation> {
    let many_to_many = class == "ManyToManyField";
    if !(many_to_many || class == "ForeignKey" || class == "OneToOneField") {
        return None;
    }
    let to = call.arg("to", 0)?;
    let target = match &to.value {
        Value::Str(text) => RelationTarget::Model(split_model_ref(text, app)),
        Value::Name(name) => RelationTarget::Setting(name.rsplit('.').next().unwrap_or(name).to_string()),
        _ => RelationTarget::Setting("?".into()),
    };
    Some(Relation {
        target,
        many_to_many,
        db_constraint: call.kwarg("db_constraint").and_then(Expr::as_bool).unwrap_or(true),
        through: call.kwarg("through").is_some(),
    })
}

/// The PostgreSQL type Django gives a field class; the flag says the class is unknown.
fn column_type(call: &Call, class: &str) -> (Option<SqlType>, bool) {
    let int_kwarg = |key: &str| call.kwarg(key).and_then(Expr::as_int);
    let varchar = |default: Option<i64>| {
        let length = call.kwarg("max_length").map_or(default, |e| e.as_int());
        Some(match length {
            Some(n) => SqlType::with_modifiers("varchar", vec![n]),
            None => SqlType::named("varchar"),
        })
    };
    let ty = match class {
        "AutoField" | "IntegerField" | "PositiveIntegerField" => Some(SqlType::named("integer")),
        "BigAutoField" | "BigIntegerField" | "PositiveBigIntegerField" => Some(SqlType::named("bigint")),
        "SmallAutoField" | "SmallIntegerField" | "PositiveSmallIntegerField" => Some(SqlType::named("smallint")),
        "BooleanField" | "NullBooleanField" => Some(SqlType::named("boolean")),
        "CharField" | "CommaSeparatedIntegerField" => varchar(None),
        "EmailField" => varchar(Some(254)),
        "URLField" => varchar(Some(200)),
        "SlugField" => varchar(Some(50)),
        "FileField" | "ImageField" | "FilePathField" => varchar(Some(100)),
        "TextField" => Some(SqlType::named("text")),
        "DecimalField" => Some(match (int_kwarg("max_digits"), int_kwarg("decimal_places")) {
            (Some(p), Some(s)) => SqlType::with_modifiers("numeric", vec![p, s]),
            _ => SqlType::named("numeric"),
        }),
        "FloatField" => Some(SqlType::named("double precision")),
        "DateField" => Some(SqlType::named("date")),
        "DateTimeField" => Some(SqlType::named("timestamptz")),
        "TimeField" => Some(SqlType::named("time")),
        "DurationField" => Some(SqlType::named("interval")),
        "BinaryField" => Some(SqlType::named("bytea")),
        "UUIDField" => Some(SqlType::named("uuid")),
        "GenericIPAddressField" | "IPAddressField" => Some(SqlType::named("inet")),
        "JSONField" => Some(SqlType::named("jsonb")),
        "HStoreField" => Some(SqlType::named("hstore")),
        "CICharField" | "CIEmailField" | "CITextField" => Some(SqlType::named("citext")),
        "SearchVectorField" => Some(SqlType::named("tsvector")),
        "IntegerRangeField" => Some(SqlType::named("int4range")),
        "BigIntegerRangeField" => Some(SqlType::named("int8range")),
        "DecimalRangeField" => Some(SqlType::named("numrange")),
        "DateTimeRangeField" => Some(SqlType::named("tstzrange")),
        "DateRangeField" => Some(SqlType::named("daterange")),
        "ArrayField" => {
            let base = call.arg("base_field", 0).and_then(Expr::as_call);
            let base_type = base.and_then(|b| column_type(b, b.name()).0);
            return match base_type {
                Some(mut ty) => {
                    ty.array = true;
                    (Some(ty), false)
                }
                None => (Some(SqlType { name: "?".into(), modifiers: vec![], array: true }), true),
            };
        }
        "GeneratedField" => {
            let output = call.kwarg("output_field").and_then(Expr::as_call);
            return (output.and_then(|o| column_type(o, o.name()).0), false);
        }
        // Relations take the target's key type; resolved later against the state.
        "ForeignKey" | "OneToOneField" | "ManyToManyField" => None,
        _ => return (Some(SqlType::named(class)), true),
    };
    (ty, false)
}

/// The column type Django's PostgreSQL backend writes for a field class it knows
/// (`DatabaseWrapper.data_types`, `ArrayField.db_type`).
fn django_type(call: &Call, class: &str) -> Result<String, String> {
    let int_kwarg = |key: &str| call.kwarg(key).and_then(Expr::as_int);
    let varchar = |default: Option<i64>| match call.kwarg("max_length") {
        None => Ok(default.map_or_else(|| "varchar".to_string(), |n| format!("varchar({n})"))),
        Some(e) if e.is_none() => Ok("varchar".to_string()),
        Some(e) => {
            e.as_int().map(|n| format!("varchar({n})")).ok_or_else(|| "a max_length known only at run time".to_string())
        }
    };
    let text = match class {
        "AutoField" | "IntegerField" | "PositiveIntegerField" => "integer",
        "BigAutoField" | "BigIntegerField" | "PositiveBigIntegerField" => "bigint",
        "SmallAutoField" | "SmallIntegerField" | "PositiveSmallIntegerField" => "smallint",
        "BooleanField" | "NullBooleanField" => "boolean",
        // Django 5.1 made the CI* classes stubs of the plain fields for historical migrations.
        "CharField" | "CommaSeparatedIntegerField" | "CICharField" => return varchar(None),
        "EmailField" | "CIEmailField" => return varchar(Some(254)),
        "URLField" => return varchar(Some(200)),
        "SlugField" => return varchar(Some(50)),
        "FileField" | "ImageField" | "FilePathField" => return varchar(Some(100)),
        "TextField" | "CITextField" => "text",
        "DecimalField" => {
            return match (int_kwarg("max_digits"), int_kwarg("decimal_places")) {
                (Some(p), Some(s)) => Ok(format!("numeric({p}, {s})")),
                (None, None) if call.kwarg("max_digits").is_none() && call.kwarg("decimal_places").is_none() => {
                    Ok("numeric".to_string())
                }
                _ => Err("a DecimalField whose max_digits/decimal_places are known only at run time".to_string()),
            }
        }
        "FloatField" => "double precision",
        "DateField" => "date",
        "DateTimeField" => "timestamp with time zone",
        "TimeField" => "time",
        "DurationField" => "interval",
        "BinaryField" => "bytea",
        "UUIDField" => "uuid",
        "GenericIPAddressField" | "IPAddressField" => "inet",
        "JSONField" => "jsonb",
        "HStoreField" => "hstore",
        "SearchVectorField" => "tsvector",
        "IntegerRangeField" => "int4range",
        "BigIntegerRangeField" => "int8range",
        "DecimalRangeField" => "numrange",
        "DateTimeRangeField" => "tstzrange",
        "DateRangeField" => "daterange",
        "ArrayField" => {
            let base = call
                .arg("base_field", 0)
                .and_then(Expr::as_call)
                .ok_or("an ArrayField whose base field lockgate cannot read")?;
            let base_type = django_type(base, base.name())?;
            let size = match call.kwarg("size").filter(|s| !s.is_none()) {
                None => String::new(),
                Some(size) => size.as_int().ok_or("an ArrayField size known only at run time")?.to_string(),
            };
            return Ok(format!("{base_type}[{size}]"));
        }
        "GeneratedField" => {
            return Err("a GeneratedField: Django compiles its expression when the migration runs".into())
        }
        "ForeignKey" | "OneToOneField" | "ManyToManyField" => {
            return Err("a relation: its type is its target's key type".into())
        }
        other => return Err(format!("field class `{other}`: its column type is decided by its code")),
    };
    Ok(text.to_string())
}

/// The spelling Django's `data_types` use for a type lockgate holds in canonical form.
pub fn spell_type(ty: &SqlType) -> String {
    let base = match ty.name.as_str() {
        "timestamptz" => "timestamp with time zone".to_string(),
        "timetz" => "time with time zone".to_string(),
        "timestamp" => "timestamp".to_string(),
        other => other.to_string(),
    };
    let modifiers: Vec<String> = ty.modifiers.iter().map(i64::to_string).collect();
    let mut text = if modifiers.is_empty() { base } else { format!("{base}({})", modifiers.join(", ")) };
    if ty.array {
        text.push_str("[]");
    }
    text
}

/// The `data_types` entry behind a field's type: equal entries mean Django changes the type
/// without `USING` (`PSE._using_sql`), so varchar(50) → varchar(200) is not cast.
fn type_template(class: &str, type_sql: Option<&String>) -> Option<String> {
    let internal = match class {
        "EmailField" | "URLField" | "CommaSeparatedIntegerField" | "CICharField" | "CIEmailField" => "CharField",
        "CITextField" => "TextField",
        "ImageField" => "FileField",
        other => other,
    };
    let template = match internal {
        "CharField" => "_get_varchar_column",
        "DecimalField" => "_get_decimal_column",
        "FileField" | "FilePathField" | "SlugField" => "varchar(%(max_length)s)",
        "AutoField" | "IntegerField" | "PositiveIntegerField" => "integer",
        "BigAutoField" | "BigIntegerField" | "PositiveBigIntegerField" => "bigint",
        "SmallAutoField" | "SmallIntegerField" | "PositiveSmallIntegerField" => "smallint",
        "BinaryField" => "bytea",
        "BooleanField" => "boolean",
        "DateField" => "date",
        "DateTimeField" => "timestamp with time zone",
        "DurationField" => "interval",
        "FloatField" => "double precision",
        "IPAddressField" | "GenericIPAddressField" => "inet",
        "JSONField" => "jsonb",
        "TextField" => "text",
        "TimeField" => "time",
        "UUIDField" => "uuid",
        // Not in `data_types`: Django falls back to the rendered db_type().
        "HStoreField"
        | "SearchVectorField"
        | "IntegerRangeField"
        | "BigIntegerRangeField"
        | "DecimalRangeField"
        | "DateTimeRangeField"
        | "DateRangeField" => return type_sql.cloned(),
        _ => return None,
    };
    Some(template.to_string())
}

/// What `effective_default` gives a field with no `default`: `''` for a blank non-null string
/// field, a timestamp taken at migrate time for auto_now(_add) (`BSE._effective_default`).
fn effective_default_sql(call: &Call, class: &str, null: bool) -> Option<Result<String, String>> {
    let flag = |key: &str| call.kwarg(key).and_then(Expr::as_bool).unwrap_or(false);
    if flag("auto_now") || flag("auto_now_add") {
        return Some(Err("an auto_now/auto_now_add default: Django sends the time the migration runs at".into()));
    }
    match effective_default(call, class, null).as_deref() {
        Some("''") => Some(Ok("''".into())),
        Some(_) => Some(Err("a BinaryField's empty default, which the database driver renders".into())),
        None => None,
    }
}

/// A Python literal as Django sends it once the driver interpolates it: strings quoted, numbers
/// and booleans bare. Anything Python computes (callables, Decimal, dates) is known only when
/// the migration runs.
fn literal(expr: &Expr, class: &str) -> Result<String, String> {
    let numeric = class.contains("Integer") || class.contains("AutoField") || class == "FloatField";
    let stringy = matches!(
        class,
        "CharField"
            | "TextField"
            | "SlugField"
            | "EmailField"
            | "URLField"
            | "CICharField"
            | "CIEmailField"
            | "CITextField"
    );
    match &expr.value {
        // A JSONField's default goes through the driver's Jsonb adapter: `dict`/`{}` and
        // `list`/`[]` (called once, at migrate time) reach the server as these literals.
        Value::Name(name) if class == "JSONField" && matches!(name.as_str(), "dict" | "list") => {
            Ok(if name == "dict" { "'{}'::jsonb" } else { "'[]'::jsonb" }.to_string())
        }
        Value::Dict(items) if class == "JSONField" && items.is_empty() => Ok("'{}'::jsonb".into()),
        Value::List(items) if class == "JSONField" && items.is_empty() => Ok("'[]'::jsonb".into()),
        Value::Str(text) if stringy && !text.contains('\\') => Ok(format!("'{}'", text.replace('\'', "''"))),
        Value::Int(i) if numeric || class == "DecimalField" => Ok(i.to_string()),
        Value::Float(f) if class == "FloatField" => Ok(format!("{f:?}")),
        Value::Bool(b) if matches!(class, "BooleanField" | "NullBooleanField") => Ok(b.to_string()),
        Value::None => Ok("NULL".into()),
        _ => Err(format!(
            "the default `{}` of a {class}: Django converts it with the field's code when the migration runs",
            python_default(expr)
        )),
    }
}

/// `db_default=`: a plain value is sent as a literal; `Now()` as `(STATEMENT_TIMESTAMP())`
/// (`BSE.db_default_sql`, `Now.as_postgresql`).
fn db_default_sql(expr: &Expr, class: &str) -> Result<String, String> {
    match &expr.value {
        Value::Call(call) if call.name() == "Value" && call.args.len() == 1 => literal(&call.args[0], class),
        Value::Call(call) if call.name() == "Now" && call.args.is_empty() && call.kwargs.is_empty() => {
            Ok("(STATEMENT_TIMESTAMP())".into())
        }
        Value::Call(call) => {
            Err(format!("db_default `{}(…)`: Django compiles the expression when the migration runs", call.name()))
        }
        _ => literal(expr, class),
    }
}

/// `on_delete=models.DB_CASCADE` and friends (Django 6.1) put the action into the FK itself.
fn on_delete_db(expr: &Expr) -> Option<String> {
    let Value::Name(name) = &expr.value else { return None };
    match name.rsplit('.').next()? {
        "DB_CASCADE" => Some("CASCADE".into()),
        "DB_SET_NULL" => Some("SET NULL".into()),
        "DB_SET_DEFAULT" => Some("SET DEFAULT".into()),
        _ => None,
    }
}

fn python_default(expr: &Expr) -> String {
    match &expr.value {
        Value::Str(s) => format!("'{s}'"),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Name(name) => format!("{name}()"),
        Value::Call(call) => format!("{}(…)", call.func),
        Value::List(_) => "[]".into(),
        Value::Set(_) => "set()".into(),
        Value::Dict(_) => "{}".into(),
        _ => "(a Python value)".into(),
    }
}

/// The default `db_default=` leaves in the database: none for `None` or `Value(None)`, which
/// Django sends as `DEFAULT NULL` and PostgreSQL stores as no default at all.
fn db_default(expr: &Expr) -> Option<DefaultExpr> {
    Some(match &expr.value {
        Value::None => return None,
        Value::Call(call) if call.name() == "Value" && call.args.first().is_some_and(Expr::is_none) => return None,
        Value::Call(call) if matches!(call.name(), "Now" | "Value") => DefaultExpr::Stable(python_default(expr)),
        Value::Call(call) => match call.name() {
            "RandomUUID" | "Random" | "GenRandomUUID" => DefaultExpr::Volatile(format!("{}()", call.name())),
            _ => DefaultExpr::Stable(format!("{}(…)", call.name())),
        },
        _ => DefaultExpr::Stable(python_default(expr)),
    })
}

impl ProjectState {
    pub fn model(&self, key: &ModelKey) -> Option<&Model> {
        self.models.get(key)
    }

    pub fn model_mut(&mut self, key: &ModelKey) -> Option<&mut Model> {
        self.models.get_mut(key)
    }

    /// The column type of a relation: the target's primary key type (integer for AutoField).
    pub fn relation_type(&self, relation: &Relation, app: &str, settings: &DjangoSettings) -> SqlType {
        let key = resolve(&relation.target, app, settings);
        let target_pk = self.model(&key).and_then(Model::primary_key);
        match target_pk.and_then(|pk| pk.ty.clone()) {
            Some(ty) => ty,
            // Models outside the migrations read (auth.User, other packages): Django's defaults.
            None if key == model_key("auth", "user") => SqlType::named("integer"),
            None => column_type_of_auto(&settings.default_auto_field),
        }
    }

    /// The table a relation points to.
    pub fn relation_table(&self, relation: &Relation, app: &str, settings: &DjangoSettings) -> QualifiedName {
        let key = resolve(&relation.target, app, settings);
        self.model(&key).map_or_else(|| QualifiedName::unqualified(default_table(&key.0, &key.1)), Model::table_name)
    }
}

fn column_type_of_auto(class: &str) -> SqlType {
    match class {
        "AutoField" => SqlType::named("integer"),
        "SmallAutoField" => SqlType::named("smallint"),
        _ => SqlType::named("bigint"),
    }
}

/// Django's generated index and constraint names (`BaseDatabaseSchemaEditor._create_index_name`):
/// `<table>_<columns>_<md5[:8]><suffix>`, shortened to 63 bytes the way Django does.
pub fn generated_name(table: &str, columns: &[String], suffix: &str) -> String {
    const MAX: usize = 63;
    let digest = format!("{:x}", md5::compute(format!("{table}{}", columns.concat()).as_bytes()));
    let mut tail = format!("{}{suffix}", &digest[..8]);
    let joined = columns.join("_");
    let mut name = format!("{table}_{joined}_{tail}");
    if name.len() > MAX {
        if tail.len() > MAX / 3 {
            tail.truncate(MAX / 3);
        }
        let keep = (MAX - tail.len()) / 2 - 1;
        let cut = |s: &str| s.chars().take(keep).collect::<String>();
        name = format!("{}_{}_{tail}", cut(table), cut(&joined));
    }
    if name.starts_with(|c: char| c == '_' || c.is_ascii_digit()) {
        name.pop();
        name.insert(0, 'D');
    }
    name
}

#[cfg(test)]
mod tests {
    use super::generated_name;

    #[test]
    fn names_match_django() {
        // Django's own documented example: polls_choice.question_id → polls_question.id.
        let fk = generated_name("polls_choice", &["question_id".into()], "_fk_polls_question_id");
        assert_eq!(fk, "polls_choice_question_id_c5b4b260_fk_polls_question_id");
    }
}
