//! Maps PostgreSQL parse trees (from `pg_query`) to the ops of the IR.
//!
//! The linter hands over lean trees (`pgparse::parse_for_lowering`): the fields listed as
//! `UNREAD` and `PRESENCE_ONLY` in `pgparse.c` are missing or empty. Reading one here means
//! taking it off those lists.

use pg_query::protobuf::{
    self, a_const, AlterTableType, ConstrType, DropBehavior, ObjectType, TransactionStmtKind, VariableSetKind,
};
use pg_query::NodeEnum;

use crate::ir::{
    ColumnDef, ConstraintDef, ConstraintKind, DataChangeKind, DefaultExpr, DroppedObject, Generated, OpKind,
    QualifiedName, SqlType, TableAction, TransactionControl,
};
use crate::postgres::{canonical_type_name, LockMode};
use crate::volatility::{self, Versions, Volatility};

/// The ops of one statement of a parse result (none for an empty one).
pub fn lower_statement(raw: &protobuf::RawStmt) -> Vec<OpKind> {
    raw.stmt.as_ref().and_then(|s| s.node.as_ref()).map(lower).unwrap_or_default()
}

/// The ops one parsed statement stands for (an ALTER TABLE may hold several).
pub fn lower(node: &NodeEnum) -> Vec<OpKind> {
    match node {
        NodeEnum::CreateStmt(s) => vec![create_table(s)],
        NodeEnum::AlterTableStmt(s) => alter_table(s),
        NodeEnum::IndexStmt(s) => vec![create_index(s)],
        NodeEnum::DropStmt(s) => vec![drop(s)],
        NodeEnum::DropdbStmt(s) => {
            vec![OpKind::Drop { object: DroppedObject::Database, names: vec![s.dbname.clone()] }]
        }
        NodeEnum::RenameStmt(s) => vec![rename(s)],
        NodeEnum::TruncateStmt(s) => vec![OpKind::Truncate {
            tables: range_vars(&s.relations),
            cascade: s.behavior == DropBehavior::DropCascade as i32,
        }],
        NodeEnum::VacuumStmt(s) => vec![vacuum(s)],
        NodeEnum::ClusterStmt(s) => vec![OpKind::Cluster { table: s.relation.as_ref().map(qualified) }],
        NodeEnum::RefreshMatViewStmt(s) => vec![OpKind::RefreshMaterializedView {
            view: s.relation.as_ref().map(qualified).unwrap_or_else(unknown_name),
            concurrently: s.concurrent,
        }],
        NodeEnum::CreateTrigStmt(s) => match &s.relation {
            Some(table) => vec![OpKind::CreateTrigger { table: qualified(table) }],
            None => vec![other("CREATE TRIGGER")],
        },
        NodeEnum::ViewStmt(s) => vec![OpKind::CreateOrReplaceView {
            view: s.view.as_ref().map(qualified).unwrap_or_else(unknown_name),
            replace: s.replace,
        }],
        NodeEnum::CreateTableAsStmt(s) => {
            let table = s.into.as_ref().and_then(|i| i.rel.as_ref()).map(qualified).unwrap_or_else(unknown_name);
            vec![OpKind::CreateTableAs { table, materialized_view: s.objtype == ObjectType::ObjectMatview as i32 }]
        }
        NodeEnum::CreateEnumStmt(s) => {
            vec![OpKind::CreateEnum { name: names_to_qualified(&s.type_name), labels: Some(strings(&s.vals)) }]
        }
        NodeEnum::AlterEnumStmt(s) => {
            let name = names_to_qualified(&s.type_name);
            if s.old_val.is_empty() {
                vec![OpKind::AddEnumValue {
                    name,
                    value: s.new_val.clone(),
                    positioned: !s.new_val_neighbor.is_empty(),
                }]
            } else {
                vec![OpKind::RenameEnumValue { name }]
            }
        }
        NodeEnum::CreateDomainStmt(s) => vec![OpKind::CreateDomain {
            name: names_to_qualified(&s.domainname),
            has_check: s.constraints.iter().any(
                |c| matches!(&c.node, Some(NodeEnum::Constraint(c)) if c.contype == ConstrType::ConstrCheck as i32),
            ),
        }],
        NodeEnum::AlterDomainStmt(s) if s.subtype == "C" => {
            let not_valid = matches!(s.def.as_deref().and_then(|d| d.node.as_ref()),
                Some(NodeEnum::Constraint(c)) if c.skip_validation);
            vec![OpKind::AlterDomainAddConstraint { name: names_to_qualified(&s.type_name), not_valid }]
        }
        NodeEnum::CreateSeqStmt(s) => {
            vec![OpKind::CreateSequence { name: s.sequence.as_ref().map(qualified).unwrap_or_else(unknown_name) }]
        }
        NodeEnum::AlterSeqStmt(s) => {
            vec![OpKind::AlterSequence { name: s.sequence.as_ref().map(qualified).unwrap_or_else(unknown_name) }]
        }
        NodeEnum::UpdateStmt(s) => {
            vec![data_change(DataChangeKind::Update, s.relation.as_ref(), s.where_clause.is_some())]
        }
        NodeEnum::DeleteStmt(s) => {
            vec![data_change(DataChangeKind::Delete, s.relation.as_ref(), s.where_clause.is_some())]
        }
        NodeEnum::InsertStmt(s) => {
            let from_values = matches!(s.select_stmt.as_deref().and_then(|n| n.node.as_ref()),
                Some(NodeEnum::SelectStmt(sel)) if !sel.values_lists.is_empty());
            let kind = if from_values || s.select_stmt.is_none() {
                DataChangeKind::Insert
            } else {
                DataChangeKind::InsertSelect
            };
            vec![data_change(kind, s.relation.as_ref(), true)]
        }
        NodeEnum::MergeStmt(s) => vec![data_change(DataChangeKind::Merge, s.relation.as_ref(), true)],
        NodeEnum::CopyStmt(s) if s.is_from => vec![data_change(DataChangeKind::Copy, s.relation.as_ref(), true)],
        NodeEnum::LockStmt(s) => vec![OpKind::LockTable {
            tables: range_vars(&s.relations),
            mode: LockMode::ALL.get((s.mode as usize).saturating_sub(1)).copied().unwrap_or(LockMode::AccessExclusive),
        }],
        NodeEnum::VariableSetStmt(s) => vec![setting(s)],
        NodeEnum::TransactionStmt(s) => vec![OpKind::Transaction(transaction(s))],
        NodeEnum::CommentStmt(s) => vec![comment(s)],
        NodeEnum::ReindexStmt(s) => vec![reindex(s)],
        NodeEnum::AlterObjectSchemaStmt(s) if s.object_type == ObjectType::ObjectTable as i32 => match &s.relation {
            Some(table) => vec![OpKind::AlterTable { table: qualified(table), action: TableAction::SetSchema }],
            None => vec![other("ALTER TABLE SET SCHEMA")],
        },
        // Policies and rules change what every query on the table does: ACCESS EXCLUSIVE.
        NodeEnum::CreatePolicyStmt(s) => table_action(s.table.as_ref(), TableAction::Other("CREATE POLICY".into())),
        NodeEnum::RuleStmt(s) => table_action(s.relation.as_ref(), TableAction::EnableRule),
        NodeEnum::CreateStatsStmt(s) => match range_vars(&s.relations).into_iter().next() {
            Some(table) => vec![OpKind::AlterTable { table, action: TableAction::ColumnStatistics }],
            None => vec![other("CREATE STATISTICS")],
        },
        NodeEnum::DoStmt(_) => vec![OpKind::Opaque { what: "DO block".into() }],
        NodeEnum::CallStmt(_) => vec![OpKind::Opaque { what: "CALL of a procedure".into() }],
        other_node => vec![other(&statement_tag(other_node))],
    }
}

fn table_action(table: Option<&protobuf::RangeVar>, action: TableAction) -> Vec<OpKind> {
    match table {
        Some(table) => vec![OpKind::AlterTable { table: qualified(table), action }],
        None => vec![other("ALTER TABLE")],
    }
}

/// An option like `(FULL)`, `(FULL true)` or `(CONCURRENTLY)`; `(FULL false)` is off.
fn enabled(option: &protobuf::DefElem) -> bool {
    match option.arg.as_deref().and_then(|a| a.node.as_ref()) {
        Some(NodeEnum::Boolean(b)) => b.boolval,
        Some(NodeEnum::String(s)) => !matches!(s.sval.as_str(), "false" | "off" | "0"),
        Some(NodeEnum::Integer(i)) => i.ival != 0,
        _ => true,
    }
}

fn reindex(s: &protobuf::ReindexStmt) -> OpKind {
    let concurrently = s
        .params
        .iter()
        .any(|p| matches!(&p.node, Some(NodeEnum::DefElem(d)) if d.defname == "concurrently" && enabled(d)));
    let kind = protobuf::ReindexObjectType::try_from(s.kind).unwrap_or(protobuf::ReindexObjectType::Undefined);
    let target = match kind {
        protobuf::ReindexObjectType::ReindexObjectIndex | protobuf::ReindexObjectType::ReindexObjectTable => {
            s.relation.as_ref().map(qualified)
        }
        _ => None,
    };
    OpKind::Reindex {
        target,
        index: kind == protobuf::ReindexObjectType::ReindexObjectIndex,
        system: kind == protobuf::ReindexObjectType::ReindexObjectSystem,
        concurrently,
    }
}

fn other(tag: &str) -> OpKind {
    OpKind::Other { tag: tag.to_string() }
}

fn unknown_name() -> QualifiedName {
    QualifiedName::unqualified("?")
}

/// A short name for statements lockgate passes by (they take no table lock worth a rule).
fn statement_tag(node: &NodeEnum) -> String {
    let tag = match node {
        NodeEnum::CreateFunctionStmt(_) => "CREATE FUNCTION",
        NodeEnum::CreateExtensionStmt(_) => "CREATE EXTENSION",
        NodeEnum::CreateSchemaStmt(_) => "CREATE SCHEMA",
        NodeEnum::GrantStmt(_) | NodeEnum::GrantRoleStmt(_) => "GRANT",
        NodeEnum::SelectStmt(_) => "SELECT",
        NodeEnum::CreateRoleStmt(_) | NodeEnum::AlterRoleStmt(_) => "ROLE",
        NodeEnum::CompositeTypeStmt(_) => "CREATE TYPE",
        NodeEnum::ExplainStmt(_) => "EXPLAIN",
        _ => "statement",
    };
    tag.to_string()
}

pub fn qualified(range: &protobuf::RangeVar) -> QualifiedName {
    QualifiedName::new(Some(range.schemaname.clone()), range.relname.clone())
}

fn range_vars(nodes: &[protobuf::Node]) -> Vec<QualifiedName> {
    nodes
        .iter()
        .filter_map(|n| match &n.node {
            Some(NodeEnum::RangeVar(r)) => Some(qualified(r)),
            _ => None,
        })
        .collect()
}

fn strings(nodes: &[protobuf::Node]) -> Vec<String> {
    nodes
        .iter()
        .filter_map(|n| match &n.node {
            Some(NodeEnum::String(s)) => Some(s.sval.clone()),
            _ => None,
        })
        .collect()
}

/// A dotted name list (`schema.name` or `name`).
fn names_to_qualified(nodes: &[protobuf::Node]) -> QualifiedName {
    let mut parts = strings(nodes);
    let name = parts.pop().unwrap_or_else(|| "?".into());
    QualifiedName::new(parts.pop(), name)
}

fn list_items(node: &protobuf::Node) -> &[protobuf::Node] {
    match &node.node {
        Some(NodeEnum::List(list)) => &list.items,
        _ => &[],
    }
}

fn integer_value(node: &protobuf::Node) -> Option<i64> {
    match &node.node {
        Some(NodeEnum::AConst(c)) => match &c.val {
            Some(a_const::Val::Ival(i)) => Some(i.ival as i64),
            _ => None,
        },
        Some(NodeEnum::Integer(i)) => Some(i.ival as i64),
        _ => None,
    }
}

/// Canonical PostgreSQL spelling of a type name.
pub fn sql_type(type_name: &protobuf::TypeName) -> SqlType {
    let names = strings(&type_name.names);
    let raw = names.last().map(String::as_str).unwrap_or("?");
    let in_catalog = names.len() > 1 && names[0] == "pg_catalog";
    let name = match (in_catalog, names.len()) {
        // `"char"` written by itself is PostgreSQL's one-byte internal type, not char(1).
        (false, 1) if raw == "char" => "\"char\"".to_string(),
        (true, _) | (_, 1) => canonical_type_name(raw),
        _ => raw.to_string(),
    };
    let mut modifiers: Vec<i64> = type_name.typmods.iter().filter_map(integer_value).collect();
    if name == "char" && modifiers.is_empty() {
        modifiers.push(1);
    }
    if name == "interval" {
        modifiers.clear();
    }
    SqlType { name, modifiers, array: !type_name.array_bounds.is_empty() }
}

/// The default a column gets from a DEFAULT clause: none for a NULL constant (cast or not), as
/// PostgreSQL stores no `pg_attrdef` row for one (`AddRelationNewConstraints`), so
/// `DEFAULT NULL NOT NULL` is a NOT NULL column without a default and `SET DEFAULT NULL` drops
/// the default. A column of a domain type keeps a NULL default on the server (it overrides the
/// domain's); lockgate does not model domain defaults, so it reads it as no default too.
pub fn column_default(node: &protobuf::Node) -> Option<DefaultExpr> {
    (!is_null_constant(node)).then(|| default_expr(node))
}

/// `NULL`, `NULL::integer`, `CAST(NULL AS integer)`: what PostgreSQL folds to a NULL constant.
fn is_null_constant(node: &protobuf::Node) -> bool {
    match &node.node {
        Some(NodeEnum::AConst(c)) => c.isnull,
        Some(NodeEnum::TypeCast(c)) => c.arg.as_deref().is_some_and(is_null_constant),
        _ => false,
    }
}

/// Classifies a default expression by volatility, the way ADD COLUMN's rewrite rule needs: on
/// each supported version, volatile when it calls a function that is volatile there, or one
/// PostgreSQL does not have built in (a user's or an extension's: unknown, so volatile), or
/// holds a subquery.
pub fn default_expr(node: &protobuf::Node) -> DefaultExpr {
    let text = expr_text(node);
    match volatile_on(node) {
        Versions::NONE => DefaultExpr::Stable(text),
        Versions::ALL => DefaultExpr::Volatile(text),
        versions => DefaultExpr::VolatileOn(text, versions),
    }
}

fn volatile_on(node: &protobuf::Node) -> Versions {
    let Some(root) = &node.node else { return Versions::NONE };
    root.nodes().into_iter().fold(Versions::NONE, |versions, (n, _, _, _)| {
        versions.union(match n {
            pg_query::NodeRef::FuncCall(f) => call_volatile_on(f),
            pg_query::NodeRef::SubLink(_) => Versions::ALL,
            _ => Versions::NONE,
        })
    })
}

/// The versions on which a call is volatile; the arguments' types, where they show, pick
/// between overloads that differ.
fn call_volatile_on(call: &protobuf::FuncCall) -> Versions {
    let names = strings(&call.funcname);
    let Some(name) = builtin_name(&names) else { return Versions::ALL };
    let types: Vec<Option<String>> = call.args.iter().map(expr_type).collect();
    let args: Vec<volatility::ArgType> = types.iter().map(Option::as_deref).collect();
    Versions::supported()
        .filter(|pg| volatility::builtin(name, &args, *pg).is_none_or(|v| v == Volatility::Volatile))
        .fold(Versions::NONE, Versions::with)
}

/// The name a call may resolve to a built-in function by: unqualified (PostgreSQL searches
/// `pg_catalog` first unless `search_path` names it later) or qualified with `pg_catalog`.
fn builtin_name(names: &[String]) -> Option<&str> {
    match names {
        [name] => Some(name),
        [schema, name] if schema == "pg_catalog" => Some(name),
        _ => None,
    }
}

/// An expression's type where it shows without a catalog: a cast, a `CURRENT_…` keyword, a
/// built-in function without arguments. String literals stay unknown, as they do to PostgreSQL.
fn expr_type(node: &protobuf::Node) -> Option<String> {
    use protobuf::SqlValueFunctionOp as Svf;
    match &node.node {
        Some(NodeEnum::TypeCast(c)) => c.type_name.as_ref().map(|t| sql_type(t).name),
        Some(NodeEnum::SqlvalueFunction(f)) => {
            let ty = match Svf::try_from(f.op).ok()? {
                Svf::SvfopCurrentDate => "date",
                Svf::SvfopCurrentTime | Svf::SvfopCurrentTimeN => "timetz",
                Svf::SvfopCurrentTimestamp | Svf::SvfopCurrentTimestampN => "timestamptz",
                Svf::SvfopLocaltime | Svf::SvfopLocaltimeN => "time",
                Svf::SvfopLocaltimestamp | Svf::SvfopLocaltimestampN => "timestamp",
                _ => return None,
            };
            Some(ty.to_string())
        }
        Some(NodeEnum::FuncCall(f)) if f.args.is_empty() => {
            builtin_name(&strings(&f.funcname)).and_then(volatility::result_type).map(canonical_type_name)
        }
        _ => None,
    }
}

/// Whether a `USING` expression is the column itself, or the column cast to the new type. Then
/// it is the conversion PostgreSQL applies without `USING`, and the server decides the rewrite
/// the same way (`ATColumnChangeRequiresRewrite` strips the binary-coercible casts and finds the
/// plain column); any other expression recomputes every value.
fn is_column_or_its_cast(node: &protobuf::Node, column: &str, new_type: &SqlType) -> bool {
    match &node.node {
        Some(NodeEnum::ColumnRef(c)) => strings(&c.fields) == [column],
        Some(NodeEnum::TypeCast(c)) => {
            c.type_name.as_ref().is_some_and(|t| sql_type(t) == *new_type)
                && c.arg.as_deref().is_some_and(|arg| is_column_or_its_cast(arg, column, new_type))
        }
        _ => false,
    }
}

/// A short rendering of an expression for messages: constants, calls and casts.
pub fn expr_text(node: &protobuf::Node) -> String {
    match &node.node {
        Some(NodeEnum::AConst(c)) => match &c.val {
            _ if c.isnull => "NULL".into(),
            Some(a_const::Val::Ival(i)) => i.ival.to_string(),
            Some(a_const::Val::Fval(f)) => f.fval.clone(),
            Some(a_const::Val::Boolval(b)) => b.boolval.to_string(),
            Some(a_const::Val::Sval(s)) => format!("'{}'", s.sval),
            Some(a_const::Val::Bsval(b)) => b.bsval.clone(),
            None => "NULL".into(),
        },
        Some(NodeEnum::FuncCall(f)) => {
            let args: Vec<String> = f.args.iter().map(expr_text).collect();
            format!("{}({})", strings(&f.funcname).join("."), args.join(", "))
        }
        Some(NodeEnum::TypeCast(c)) => {
            let inner = c.arg.as_deref().map(expr_text).unwrap_or_default();
            let ty = c.type_name.as_ref().map(sql_type).map(|t| t.to_string()).unwrap_or_default();
            format!("{inner}::{ty}")
        }
        Some(NodeEnum::SqlvalueFunction(_)) => "CURRENT_TIMESTAMP".into(),
        Some(NodeEnum::ColumnRef(c)) => strings(&c.fields).join("."),
        _ => "(expression)".into(),
    }
}

fn column_def(def: &protobuf::ColumnDef) -> ColumnDef {
    let mut ty = def.type_name.as_ref().map(sql_type).unwrap_or_else(|| SqlType::named("?"));
    let mut column = ColumnDef {
        name: def.colname.clone(),
        ty: ty.clone(),
        not_null: def.is_not_null,
        default: def.raw_default.as_deref().and_then(column_default),
        identity: !def.identity.is_empty(),
        serial: false,
        generated: None,
        constraints: vec![],
    };
    let serial = match ty.name.as_str() {
        "serial" => Some("integer"),
        "bigserial" => Some("bigint"),
        "smallserial" => Some("smallint"),
        _ => None,
    };
    if let Some(base) = serial {
        ty.name = base.into();
        column.ty = ty;
        column.identity = true;
        column.serial = true;
        column.not_null = true;
        column.default = Some(DefaultExpr::Volatile("nextval(…)".into()));
    }
    for node in &def.constraints {
        let Some(NodeEnum::Constraint(c)) = &node.node else { continue };
        match ConstrType::try_from(c.contype).unwrap_or(ConstrType::Undefined) {
            ConstrType::ConstrNotnull => column.not_null = true,
            ConstrType::ConstrDefault => column.default = c.raw_expr.as_deref().and_then(column_default),
            ConstrType::ConstrIdentity => {
                column.identity = true;
                column.not_null = true;
            }
            ConstrType::ConstrGenerated => {
                // PostgreSQL 18 writes `generated_kind` 'v' for VIRTUAL; 's' or empty is STORED.
                column.generated = Some(if c.generated_kind == "v" { Generated::Virtual } else { Generated::Stored });
            }
            _ => {
                if let Some(constraint) = constraint(c, Some(&def.colname)) {
                    column.constraints.push(constraint);
                }
            }
        }
    }
    column
}

/// A table or column constraint; `column` is set for constraints written on a column.
fn constraint(c: &protobuf::Constraint, column: Option<&str>) -> Option<ConstraintDef> {
    let keys = |nodes: &[protobuf::Node]| -> Vec<String> {
        let names = strings(nodes);
        if names.is_empty() {
            column.map(|c| vec![c.to_string()]).unwrap_or_default()
        } else {
            names
        }
    };
    let using_index = (!c.indexname.is_empty()).then(|| c.indexname.clone());
    let kind = match ConstrType::try_from(c.contype).ok()? {
        ConstrType::ConstrCheck => {
            ConstraintKind::Check { not_null_column: c.raw_expr.as_deref().and_then(not_null_test) }
        }
        ConstrType::ConstrForeign => ConstraintKind::ForeignKey {
            columns: keys(&c.fk_attrs),
            references: c.pktable.as_ref().map(qualified).unwrap_or_else(unknown_name),
            referenced_columns: strings(&c.pk_attrs),
        },
        ConstrType::ConstrUnique => ConstraintKind::Unique { columns: keys(&c.keys), using_index },
        ConstrType::ConstrPrimary => ConstraintKind::PrimaryKey { columns: keys(&c.keys), using_index },
        ConstrType::ConstrExclusion => ConstraintKind::Exclusion,
        ConstrType::ConstrNotnull => ConstraintKind::NotNull { column: keys(&c.keys).into_iter().next()? },
        _ => return None,
    };
    Some(ConstraintDef { name: (!c.conname.is_empty()).then(|| c.conname.clone()), kind, not_valid: c.skip_validation })
}

/// `col IS NOT NULL` → `col`.
fn not_null_test(node: &protobuf::Node) -> Option<String> {
    let Some(NodeEnum::NullTest(test)) = &node.node else { return None };
    if test.nulltesttype != protobuf::NullTestType::IsNotNull as i32 {
        return None;
    }
    match test.arg.as_deref().and_then(|a| a.node.as_ref()) {
        Some(NodeEnum::ColumnRef(c)) => strings(&c.fields).pop(),
        _ => None,
    }
}

fn create_table(s: &protobuf::CreateStmt) -> OpKind {
    let table = s.relation.as_ref().map(qualified).unwrap_or_else(unknown_name);
    let mut columns = vec![];
    let mut constraints = vec![];
    for element in &s.table_elts {
        match &element.node {
            Some(NodeEnum::ColumnDef(def)) => columns.push(column_def(def)),
            Some(NodeEnum::Constraint(c)) => constraints.extend(constraint(c, None)),
            _ => {}
        }
    }
    let partition_of = if s.partbound.is_some() { range_vars(&s.inh_relations).into_iter().next() } else { None };
    OpKind::CreateTable {
        table,
        columns,
        constraints,
        partition_of,
        partitioned: s.partspec.is_some(),
        if_not_exists: s.if_not_exists,
    }
}

fn alter_table(s: &protobuf::AlterTableStmt) -> Vec<OpKind> {
    let table = s.relation.as_ref().map(qualified).unwrap_or_else(unknown_name);
    let on_table = s.objtype == ObjectType::ObjectTable as i32 || s.objtype == ObjectType::ObjectMatview as i32;
    if !on_table {
        // ALTER INDEX / VIEW / SEQUENCE / FOREIGN TABLE: no table rewrite, tracked as a tag.
        let tag = if s.objtype == ObjectType::ObjectIndex as i32 { "ALTER INDEX" } else { "ALTER" };
        return vec![other(tag)];
    }
    s.cmds
        .iter()
        .filter_map(|n| match &n.node {
            Some(NodeEnum::AlterTableCmd(cmd)) => Some(alter_table_cmd(&table, cmd)),
            _ => None,
        })
        .collect()
}

fn alter_table_cmd(table: &QualifiedName, cmd: &protobuf::AlterTableCmd) -> OpKind {
    use AlterTableType as T;
    let table = table.clone();
    let column = cmd.name.clone();
    let def = cmd.def.as_deref().and_then(|d| d.node.as_ref());
    let action = |action| OpKind::AlterTable { table: table.clone(), action };
    match T::try_from(cmd.subtype).unwrap_or(T::Undefined) {
        T::AtAddColumn => match def {
            Some(NodeEnum::ColumnDef(c)) => OpKind::AddColumn { table, column: column_def(c) },
            _ => action(TableAction::Other("ADD COLUMN".into())),
        },
        T::AtColumnDefault => {
            OpKind::SetDefault { table, column, default: cmd.def.as_deref().and_then(column_default) }
        }
        T::AtDropNotNull => OpKind::DropNotNull { table, column },
        T::AtSetNotNull => OpKind::SetNotNull { table, column },
        T::AtSetExpression => action(TableAction::SetExpression),
        T::AtDropExpression => action(TableAction::DropExpression),
        T::AtSetStatistics | T::AtSetOptions | T::AtResetOptions => action(TableAction::ColumnStatistics),
        T::AtSetStorage | T::AtSetCompression => action(TableAction::ColumnStorage),
        T::AtDropColumn => OpKind::DropColumn { table, column },
        T::AtAddConstraint => match def {
            Some(NodeEnum::Constraint(c)) => match constraint(c, None) {
                Some(constraint) => OpKind::AddConstraint { table, constraint },
                None => action(TableAction::Other("ADD CONSTRAINT".into())),
            },
            _ => action(TableAction::Other("ADD CONSTRAINT".into())),
        },
        T::AtValidateConstraint => OpKind::ValidateConstraint { table, name: column },
        T::AtDropConstraint => OpKind::DropConstraint { table, name: column },
        T::AtAlterColumnType => match def {
            Some(NodeEnum::ColumnDef(c)) => {
                let new_type = c.type_name.as_ref().map(sql_type).unwrap_or_else(|| SqlType::named("?"));
                let using = c.raw_default.as_deref().is_some_and(|e| !is_column_or_its_cast(e, &column, &new_type));
                OpKind::AlterColumnType { table, column, new_type, using }
            }
            _ => action(TableAction::Other("ALTER COLUMN TYPE".into())),
        },
        T::AtChangeOwner => action(TableAction::Owner),
        T::AtClusterOn | T::AtDropCluster | T::AtSetRelOptions | T::AtResetRelOptions | T::AtReplaceRelOptions => {
            action(TableAction::StorageParameters)
        }
        T::AtSetLogged => action(TableAction::SetLogged),
        T::AtSetUnLogged => action(TableAction::SetUnlogged),
        T::AtSetAccessMethod => action(TableAction::SetAccessMethod),
        T::AtSetTableSpace => action(TableAction::SetTablespace),
        T::AtEnableTrig | T::AtEnableAlwaysTrig | T::AtEnableReplicaTrig | T::AtEnableTrigAll | T::AtEnableTrigUser => {
            action(TableAction::EnableTrigger)
        }
        T::AtDisableTrig | T::AtDisableTrigAll | T::AtDisableTrigUser => action(TableAction::DisableTrigger),
        T::AtEnableRule | T::AtEnableAlwaysRule | T::AtEnableReplicaRule | T::AtDisableRule => {
            action(TableAction::EnableRule)
        }
        T::AtAddInherit | T::AtDropInherit => action(TableAction::Inherit),
        T::AtReplicaIdentity => action(TableAction::ReplicaIdentity),
        T::AtEnableRowSecurity | T::AtDisableRowSecurity | T::AtForceRowSecurity | T::AtNoForceRowSecurity => {
            action(TableAction::RowSecurity)
        }
        T::AtAddIdentity | T::AtSetIdentity | T::AtDropIdentity => action(TableAction::Identity),
        T::AtAttachPartition | T::AtDetachPartition | T::AtDetachPartitionFinalize => {
            let Some(NodeEnum::PartitionCmd(p)) = def else { return action(TableAction::Other("PARTITION".into())) };
            let partition = p.name.as_ref().map(qualified).unwrap_or_else(unknown_name);
            if cmd.subtype == T::AtAttachPartition as i32 {
                OpKind::AttachPartition { table, partition }
            } else {
                let concurrently = p.concurrent || cmd.subtype == T::AtDetachPartitionFinalize as i32;
                OpKind::DetachPartition { table, partition, concurrently }
            }
        }
        other_type => action(TableAction::Other(other_type.as_str_name().trim_start_matches("AT_").to_string())),
    }
}

fn create_index(s: &protobuf::IndexStmt) -> OpKind {
    let table = s.relation.as_ref().map(qualified).unwrap_or_else(unknown_name);
    let columns = s
        .index_params
        .iter()
        .map(|p| match &p.node {
            Some(NodeEnum::IndexElem(e)) if !e.name.is_empty() => Some(e.name.clone()),
            _ => None,
        })
        .collect();
    // An index created without a name gets the one PostgreSQL chooses: its columns, an
    // expression named as `FigureColname` names it (`lower(email)` → `lower`).
    let name = match s.idxname.is_empty() {
        false => Some(s.idxname.clone()),
        true => {
            // `INCLUDE` columns are part of the name too (`DefineIndex` names all of them).
            let keys: Vec<Option<String>> = s
                .index_params
                .iter()
                .chain(&s.index_including_params)
                .map(|p| match &p.node {
                    Some(NodeEnum::IndexElem(e)) if !e.name.is_empty() => Some(e.name.clone()),
                    Some(NodeEnum::IndexElem(e)) => e.expr.as_deref().and_then(figure_name),
                    _ => None,
                })
                .collect();
            Some(crate::catalog::default_index_name(&table, &keys))
        }
    };
    OpKind::CreateIndex {
        name,
        table,
        columns,
        unique: s.unique || s.primary,
        concurrently: s.concurrent,
        partial: s.where_clause.is_some(),
        reads: columns_read(s),
        only: s.relation.as_ref().is_some_and(|r| !r.inh),
    }
}

/// The name PostgreSQL gives an expression (`FigureColname`): a function's, a column's, a cast's
/// inner name or else its type's; `None` for the rest (`expr` in an index name).
fn figure_name(node: &protobuf::Node) -> Option<String> {
    match &node.node {
        Some(NodeEnum::FuncCall(f)) => strings(&f.funcname).pop(),
        Some(NodeEnum::ColumnRef(c)) => strings(&c.fields).pop(),
        Some(NodeEnum::TypeCast(c)) => c
            .arg
            .as_deref()
            .and_then(figure_name)
            .or_else(|| c.type_name.as_ref().and_then(|t| strings(&t.names).pop())),
        _ => None,
    }
}

/// The columns an index's expressions and predicate read.
fn columns_read(s: &protobuf::IndexStmt) -> Vec<String> {
    let expressions = s.index_params.iter().filter_map(|p| match &p.node {
        Some(NodeEnum::IndexElem(e)) => e.expr.as_deref(),
        _ => None,
    });
    let mut read: Vec<String> = vec![];
    for node in expressions.chain(s.where_clause.as_deref()).filter_map(|n| n.node.as_ref()) {
        for (inner, ..) in node.nodes() {
            if let pg_query::NodeRef::ColumnRef(c) = inner {
                if let Some(column) = strings(&c.fields).pop().filter(|c| !read.contains(c)) {
                    read.push(column);
                }
            }
        }
    }
    read
}

fn drop(s: &protobuf::DropStmt) -> OpKind {
    let names: Vec<QualifiedName> = s.objects.iter().map(|o| names_to_qualified(list_items(o))).collect();
    let cascade = s.behavior == DropBehavior::DropCascade as i32;
    let plain = |object| OpKind::Drop { object, names: names.iter().map(|n| n.to_string()).collect() };
    match ObjectType::try_from(s.remove_type).unwrap_or(ObjectType::Undefined) {
        ObjectType::ObjectTable => OpKind::DropTable { tables: names, cascade },
        ObjectType::ObjectIndex => {
            OpKind::DropIndex { indexes: names, concurrently: s.concurrent, if_exists: s.missing_ok }
        }
        ObjectType::ObjectTrigger => {
            let table = s
                .objects
                .first()
                .map(|o| {
                    let mut parts = strings(list_items(o));
                    parts.pop();
                    names_to_qualified_strings(parts)
                })
                .unwrap_or_else(unknown_name);
            OpKind::DropTrigger { table }
        }
        ObjectType::ObjectSchema => {
            let schemas = s.objects.iter().filter_map(|o| match &o.node {
                Some(NodeEnum::String(s)) => Some(s.sval.clone()),
                _ => None,
            });
            OpKind::Drop { object: DroppedObject::Schema, names: schemas.collect() }
        }
        ObjectType::ObjectView => plain(DroppedObject::View),
        ObjectType::ObjectMatview => plain(DroppedObject::MaterializedView),
        ObjectType::ObjectSequence => plain(DroppedObject::Sequence),
        ObjectType::ObjectType | ObjectType::ObjectDomain => plain(DroppedObject::Type),
        _ => plain(DroppedObject::Other),
    }
}

fn names_to_qualified_strings(mut parts: Vec<String>) -> QualifiedName {
    let name = parts.pop().unwrap_or_else(|| "?".into());
    QualifiedName::new(parts.pop(), name)
}

fn rename(s: &protobuf::RenameStmt) -> OpKind {
    let relation = s.relation.as_ref().map(qualified);
    let new_name = s.newname.clone();
    match (ObjectType::try_from(s.rename_type).unwrap_or(ObjectType::Undefined), relation) {
        (ObjectType::ObjectTable, Some(table)) => OpKind::RenameTable { table, new_name },
        (ObjectType::ObjectColumn, Some(table)) => OpKind::RenameColumn { table, column: s.subname.clone(), new_name },
        (ObjectType::ObjectTabconstraint, Some(table)) => {
            OpKind::RenameConstraint { table, name: s.subname.clone(), new_name }
        }
        (ObjectType::ObjectIndex, Some(index)) => OpKind::RenameIndex { index, new_name },
        (ObjectType::ObjectSequence, Some(sequence)) => OpKind::RenameSequence { sequence, new_name },
        _ => other("RENAME"),
    }
}

fn vacuum(s: &protobuf::VacuumStmt) -> OpKind {
    let full =
        s.options.iter().any(|o| matches!(&o.node, Some(NodeEnum::DefElem(d)) if d.defname == "full" && enabled(d)));
    let tables = s
        .rels
        .iter()
        .filter_map(|r| match &r.node {
            Some(NodeEnum::VacuumRelation(v)) => v.relation.as_ref().map(qualified),
            _ => None,
        })
        .collect();
    if full && s.is_vacuumcmd {
        OpKind::VacuumFull { tables }
    } else {
        OpKind::Vacuum { tables, analyze_only: !s.is_vacuumcmd }
    }
}

fn data_change(kind: DataChangeKind, relation: Option<&protobuf::RangeVar>, has_where: bool) -> OpKind {
    OpKind::DataChange { kind, table: relation.map(qualified), has_where }
}

fn setting(s: &protobuf::VariableSetStmt) -> OpKind {
    let value = match VariableSetKind::try_from(s.kind).unwrap_or(VariableSetKind::Undefined) {
        VariableSetKind::VarSetValue => {
            let parts: Vec<String> = s
                .args
                .iter()
                .map(|a| match &a.node {
                    Some(NodeEnum::AConst(c)) => match &c.val {
                        Some(a_const::Val::Sval(v)) => v.sval.clone(),
                        _ => expr_text(a),
                    },
                    _ => expr_text(a),
                })
                .collect();
            Some(parts.join(", "))
        }
        _ => None,
    };
    let name = if s.name.is_empty() { "all".to_string() } else { s.name.clone() };
    OpKind::Setting { name, value, local: s.is_local }
}

fn transaction(s: &protobuf::TransactionStmt) -> TransactionControl {
    let name = || s.savepoint_name.clone();
    match TransactionStmtKind::try_from(s.kind).unwrap_or(TransactionStmtKind::Undefined) {
        TransactionStmtKind::TransStmtBegin | TransactionStmtKind::TransStmtStart => TransactionControl::Begin,
        TransactionStmtKind::TransStmtCommit => TransactionControl::Commit,
        TransactionStmtKind::TransStmtRollback => TransactionControl::Rollback,
        TransactionStmtKind::TransStmtSavepoint => TransactionControl::Savepoint(name()),
        TransactionStmtKind::TransStmtRelease => TransactionControl::Release(name()),
        TransactionStmtKind::TransStmtRollbackTo => TransactionControl::RollbackTo(name()),
        _ => TransactionControl::Other,
    }
}

fn comment(s: &protobuf::CommentStmt) -> OpKind {
    let object = s.object.as_deref();
    let table = match ObjectType::try_from(s.objtype).unwrap_or(ObjectType::Undefined) {
        ObjectType::ObjectTable => object.map(|o| names_to_qualified(list_items(o))),
        ObjectType::ObjectColumn => object.map(|o| {
            let mut parts = strings(list_items(o));
            parts.pop();
            names_to_qualified_strings(parts)
        }),
        _ => None,
    };
    OpKind::Comment { table }
}
