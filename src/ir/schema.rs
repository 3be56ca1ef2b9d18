//! The names and definitions ops carry: relation names and how to quote them, column types,
//! defaults and constraints.

use std::fmt;

use serde::Serialize;

use crate::postgres::PgVersion;
use crate::volatility::Versions;

/// A possibly schema-qualified name of a relation or type. Unqualified names resolve to
/// `public`, so `users` and `public.users` are equal (and hash alike).
#[derive(Debug, Clone, Serialize)]
pub struct QualifiedName {
    pub schema: Option<String>,
    pub name: String,
}

impl QualifiedName {
    pub fn new(schema: Option<String>, name: impl Into<String>) -> Self {
        QualifiedName { schema: schema.filter(|s| !s.is_empty()), name: name.into() }
    }

    /// `schema.name` or `name`, as `OpKind::Drop` spells its names.
    pub fn parse_dotted(name: &str) -> Self {
        match name.split_once('.') {
            Some((schema, name)) => QualifiedName::new(Some(schema.to_string()), name),
            None => QualifiedName::unqualified(name),
        }
    }

    pub fn unqualified(name: impl Into<String>) -> Self {
        QualifiedName { schema: None, name: name.into() }
    }

    /// The schema the name resolves to.
    pub fn schema_or_public(&self) -> &str {
        self.schema.as_deref().unwrap_or("public")
    }

    /// The same name with the schema it resolves to written out, for SQL that must not depend
    /// on the `search_path` it runs under.
    pub fn resolved(&self) -> QualifiedName {
        QualifiedName { schema: Some(self.schema_or_public().to_string()), name: self.name.clone() }
    }

    /// `(schema, name)` with the schema resolved: what equality and hashing compare.
    pub fn key(&self) -> (&str, &str) {
        (self.schema_or_public(), &self.name)
    }
}

impl PartialEq for QualifiedName {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for QualifiedName {}

impl std::hash::Hash for QualifiedName {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl PartialOrd for QualifiedName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for QualifiedName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// A column type, normalised to PostgreSQL's canonical spelling (`integer`, `varchar(20)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SqlType {
    /// Canonical base name: `integer`, `bigint`, `varchar`, `numeric`, `timestamptz`, a user type.
    pub name: String,
    /// Type modifiers: length for varchar/char, precision and scale for numeric.
    pub modifiers: Vec<i64>,
    pub array: bool,
}

impl SqlType {
    pub fn named(name: &str) -> Self {
        SqlType { name: name.into(), modifiers: vec![], array: false }
    }

    pub fn with_modifiers(name: &str, modifiers: Vec<i64>) -> Self {
        SqlType { name: name.into(), modifiers, array: false }
    }
}

impl fmt::Display for SqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if !self.modifiers.is_empty() {
            let mods: Vec<String> = self.modifiers.iter().map(i64::to_string).collect();
            write!(f, "({})", mods.join(","))?;
        }
        if self.array {
            f.write_str("[]")?;
        }
        Ok(())
    }
}

/// What a column default evaluates to, as far as locking is concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum DefaultExpr {
    /// A constant or an expression PostgreSQL evaluates once (`now()`, `'{}'`, `0`).
    Stable(String),
    /// Evaluated per row: forces a rewrite when a column is added with it.
    Volatile(String),
    /// Volatile on these versions only: it calls a built-in function that some versions lack
    /// (unknown, so volatile) or classify differently (`timezone(text, timetz)` before 15).
    VolatileOn(String, Versions),
}

impl DefaultExpr {
    pub fn text(&self) -> &str {
        match self {
            DefaultExpr::Stable(text) | DefaultExpr::Volatile(text) | DefaultExpr::VolatileOn(text, _) => text,
        }
    }

    /// Whether PostgreSQL `pg` evaluates it per row.
    pub fn is_volatile(&self, pg: PgVersion) -> bool {
        match self {
            DefaultExpr::Stable(_) => false,
            DefaultExpr::Volatile(_) => true,
            DefaultExpr::VolatileOn(_, versions) => versions.contains(pg),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Generated {
    Stored,
    Virtual,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnDef {
    pub name: String,
    pub ty: SqlType,
    pub not_null: bool,
    pub default: Option<DefaultExpr>,
    /// `GENERATED … AS IDENTITY`, or a `serial` pseudo-type.
    pub identity: bool,
    /// Declared with a `serial` pseudo-type (an owned sequence and a `nextval` default).
    pub serial: bool,
    pub generated: Option<Generated>,
    /// Constraints written inline on the column (REFERENCES, UNIQUE, PRIMARY KEY, CHECK).
    pub constraints: Vec<ConstraintDef>,
}

impl ColumnDef {
    /// Adding it fails on a table with any row: NOT NULL, and nothing fills existing rows.
    pub fn fails_on_rows(&self) -> bool {
        self.not_null && self.default.is_none() && !self.identity && self.generated.is_none()
    }
}

/// `"name"`, with embedded quotes doubled: how Django (and PostgreSQL) quote an identifier.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `"schema"."name"`, or `"name"` when the name carries no schema: every part quoted, as the
/// frameworks write a relation. SQL that must name the schema uses [`quote_resolved`].
pub fn quote_relation(name: &QualifiedName) -> String {
    match &name.schema {
        Some(schema) => format!("{}.{}", quote_identifier(schema), quote_identifier(&name.name)),
        None => quote_identifier(&name.name),
    }
}

/// `"schema"."name"` with the schema the name resolves to written out (`public` when it carries
/// none), for SQL that must not depend on the `search_path` it runs under.
pub fn quote_resolved(name: &QualifiedName) -> String {
    format!("{}.{}", quote_identifier(name.schema_or_public()), quote_identifier(&name.name))
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ConstraintKind {
    Check {
        /// Set when the expression is exactly `column IS NOT NULL`.
        not_null_column: Option<String>,
    },
    ForeignKey {
        columns: Vec<String>,
        references: QualifiedName,
        referenced_columns: Vec<String>,
    },
    Unique {
        columns: Vec<String>,
        using_index: Option<String>,
    },
    PrimaryKey {
        columns: Vec<String>,
        using_index: Option<String>,
    },
    Exclusion,
    /// PostgreSQL 18 named NOT NULL constraint (`ADD CONSTRAINT n NOT NULL col`).
    NotNull {
        column: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConstraintDef {
    pub name: Option<String>,
    pub kind: ConstraintKind,
    /// Written with NOT VALID: existing rows are not checked.
    pub not_valid: bool,
}

impl ConstraintDef {
    pub fn columns(&self) -> Vec<String> {
        match &self.kind {
            ConstraintKind::ForeignKey { columns, .. }
            | ConstraintKind::Unique { columns, .. }
            | ConstraintKind::PrimaryKey { columns, .. } => columns.clone(),
            ConstraintKind::Check { not_null_column: Some(column) } | ConstraintKind::NotNull { column } => {
                vec![column.clone()]
            }
            _ => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relations_are_quoted_as_named_or_resolved() {
        let order = QualifiedName::unqualified("Order");
        assert_eq!(quote_relation(&order), "\"Order\"");
        assert_eq!(quote_relation(&order.resolved()), "\"public\".\"Order\"");
        assert_eq!(quote_resolved(&order), quote_relation(&order.resolved()));
        let odd = QualifiedName::new(Some("My\"Schema".into()), "t");
        assert_eq!(quote_relation(&odd), "\"My\"\"Schema\".\"t\"");
    }
}
