//! The SQL of a `CheckConstraint`'s condition: a `Q` object compiled the way Django's
//! PostgreSQL backend compiles it (`WhereNode.as_sql`), for the lookups a check constraint
//! usually holds. Anything else is an error naming what is not translated, never a guess.

use crate::ir::quote_identifier as ident;
use crate::source::python::{Call, Expr, Value};

use super::state::Model;

/// `Q(price__gte=0) & ~Q(status="void")` → `("price" >= 0 AND NOT ("status" = 'void'))`.
pub fn condition_sql(model: &Model, condition: &Expr) -> Result<String, String> {
    let call = condition.as_call().ok_or("a condition that is not a `Q` object")?;
    match call.name() {
        "Q" => q(model, call),
        "&" | "|" => {
            let joiner = if call.name() == "&" { " AND " } else { " OR " };
            let parts = call.args.iter().map(|a| condition_sql(model, a)).collect::<Result<Vec<_>, _>>()?;
            Ok(format!("({})", parts.join(joiner)))
        }
        "~" => {
            let inner = call.args.first().ok_or("`~` without an operand")?;
            Ok(format!("NOT ({})", condition_sql(model, inner)?))
        }
        other => Err(format!("`{other}(…)` in a condition")),
    }
}

/// `Q(*conditions, **lookups)`: Django sorts the keyword lookups and ANDs every child
/// (`_connector="OR"` ORs them; `_negated=True` negates the whole).
fn q(model: &Model, call: &Call) -> Result<String, String> {
    let mut lookups: Vec<&(String, Expr)> = call.kwargs.iter().filter(|(k, _)| !k.starts_with('_')).collect();
    lookups.sort_by(|a, b| a.0.cmp(&b.0));
    let mut parts = call.args.iter().map(|a| condition_sql(model, a)).collect::<Result<Vec<_>, _>>()?;
    for (lookup, value) in lookups {
        parts.push(lookup_sql(model, lookup, value)?);
    }
    let joiner = match call.kwarg("_connector").and_then(Expr::as_str) {
        Some("OR") => " OR ",
        _ => " AND ",
    };
    let joined = match parts.as_slice() {
        [] => return Err("an empty `Q()`".into()),
        [one] => one.clone(),
        _ => format!("({})", parts.join(joiner)),
    };
    Ok(match call.kwarg("_negated").and_then(Expr::as_bool) {
        Some(true) => format!("NOT ({joined})"),
        _ => joined,
    })
}

/// `field__lookup=value` → SQL.
fn lookup_sql(model: &Model, lookup: &str, value: &Expr) -> Result<String, String> {
    let (field, operator) = match lookup.split_once("__") {
        None => (lookup, "exact"),
        Some((field, operator)) if is_lookup(operator) => (field, operator),
        Some(_) => return Err(format!("the lookup `{lookup}` across a relation")),
    };
    let column = ident(&model.columns(&[field.to_string()])[0]);
    let comparison = |op: &str| Ok(format!("{column} {op} {}", literal(model, value)?));
    match operator {
        "exact" => match &value.value {
            Value::None => Ok(format!("{column} IS NULL")),
            Value::Bool(true) => Ok(column),
            Value::Bool(false) => Ok(format!("NOT {column}")),
            _ => comparison("="),
        },
        "gt" => comparison(">"),
        "gte" => comparison(">="),
        "lt" => comparison("<"),
        "lte" => comparison("<="),
        "isnull" => match value.as_bool() {
            Some(true) => Ok(format!("{column} IS NULL")),
            Some(false) => Ok(format!("{column} IS NOT NULL")),
            None => Err(format!("`{lookup}` with a value that is not True or False")),
        },
        "in" => {
            let items = value.items().ok_or_else(|| format!("`{lookup}` with a value that is not a list"))?;
            let values = items.iter().map(|i| literal(model, i)).collect::<Result<Vec<_>, _>>()?;
            Ok(format!("{column} IN ({})", values.join(", ")))
        }
        "range" => match value.items() {
            Some([low, high]) => Ok(format!("{column} BETWEEN {} AND {}", literal(model, low)?, literal(model, high)?)),
            _ => Err(format!("`{lookup}` with a value that is not a pair")),
        },
        other => Err(format!("the `{other}` lookup")),
    }
}

/// Django's built-in lookups (not all translated here); any other suffix names a related field.
fn is_lookup(suffix: &str) -> bool {
    matches!(
        suffix,
        "exact"
            | "iexact"
            | "gt"
            | "gte"
            | "lt"
            | "lte"
            | "in"
            | "range"
            | "isnull"
            | "contains"
            | "icontains"
            | "startswith"
            | "istartswith"
            | "endswith"
            | "iendswith"
            | "regex"
            | "iregex"
            | "date"
            | "year"
    )
}

/// A value as Django interpolates it: numbers and strings as literals, `F("other")` as the
/// other column, `Decimal("1.5")` as the number.
fn literal(model: &Model, value: &Expr) -> Result<String, String> {
    match &value.value {
        Value::Int(i) => Ok(i.to_string()),
        Value::Float(f) => Ok(f.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Str(s) => Ok(format!("'{}'", s.replace('\'', "''"))),
        Value::Call(call) if call.name() == "F" => {
            let field = call.args.first().and_then(Expr::as_str).ok_or("an `F()` without a field name")?;
            Ok(ident(&model.columns(&[field.to_string()])[0]))
        }
        Value::Call(call) if call.name() == "Decimal" => match call.args.first().map(|a| &a.value) {
            Some(Value::Str(number)) if number.parse::<f64>().is_ok() => Ok(number.clone()),
            Some(Value::Int(i)) => Ok(i.to_string()),
            _ => Err("a `Decimal` that is not a number literal".into()),
        },
        _ => Err("a value computed at run time".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::python::Module;

    fn compile(source: &str) -> Result<String, String> {
        let text = format!("from django.db.models import Q, F\nX = {source}\n");
        let module = Module::parse(&text).expect("parses");
        let model = Model {
            app: "shop".into(),
            name: "item".into(),
            table: "shop_item".into(),
            table_pinned: false,
            fields: vec![],
            unmanaged: false,
            unique_together: vec![],
            index_together: vec![],
        };
        condition_sql(&model, &module.module_assignment("X").expect("assigned"))
    }

    #[test]
    fn lookups_become_the_comparisons_django_writes() {
        assert_eq!(compile("Q(price__gte=0)").unwrap(), r#""price" >= 0"#);
        assert_eq!(compile("Q(status__in=['a', \"b'c\"])").unwrap(), r#""status" IN ('a', 'b''c')"#);
        assert_eq!(compile("Q(ends__gt=F('starts'))").unwrap(), r#""ends" > "starts""#);
        assert_eq!(compile("Q(note__isnull=False)").unwrap(), r#""note" IS NOT NULL"#);
        assert_eq!(compile("Q(active=True)").unwrap(), r#""active""#);
        assert_eq!(compile("Q(rate__range=(0, 1.5))").unwrap(), r#""rate" BETWEEN 0 AND 1.5"#);
    }

    #[test]
    fn keyword_lookups_are_sorted_and_combinations_nest() {
        assert_eq!(compile("Q(b__lt=2, a__gt=1)").unwrap(), r#"("a" > 1 AND "b" < 2)"#);
        assert_eq!(compile("Q(a__gt=1) | ~Q(b=None)").unwrap(), r#"("a" > 1 OR NOT ("b" IS NULL))"#);
        assert_eq!(compile("Q(a=1, b=2, _connector='OR')").unwrap(), r#"("a" = 1 OR "b" = 2)"#);
    }

    #[test]
    fn what_is_not_translated_is_named() {
        assert!(compile("Q(name__icontains='x')").unwrap_err().contains("icontains"));
        assert!(compile("Q(owner__name='x')").unwrap_err().contains("across a relation"));
        assert!(compile("Q(created__lt=Now())").unwrap_err().contains("run time"));
    }
}
