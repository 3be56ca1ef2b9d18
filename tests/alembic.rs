//! The Alembic front end: revision scripts read statically, ordered by the revision graph,
//! judged against the schema replayed from earlier revisions.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use lockgate::config::Config;
use lockgate::source::{self, InputPaths};

const FIXTURE: &str = "fixtures/alembic";

fn lint(dir: &Path, path: &str) -> serde_json::Value {
    let output = Command::cargo_bin("lockgate")
        .expect("binary")
        .current_dir(dir)
        .args(["lint", path, "--format", "json", "--fail-on", "never"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    serde_json::from_slice(&output.stdout).expect("JSON")
}

fn lint_fixture() -> serde_json::Value {
    lint(Path::new(env!("CARGO_MANIFEST_DIR")), FIXTURE)
}

fn findings_in<'a>(json: &'a serde_json::Value, file: &str) -> Vec<&'a serde_json::Value> {
    json["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["path"].as_str().is_some_and(|p| p.contains(file)))
        .collect()
}

fn rules_in(json: &serde_json::Value, file: &str) -> Vec<String> {
    let mut rules: Vec<String> =
        findings_in(json, file).iter().map(|f| f["rule"].as_str().unwrap_or_default().to_string()).collect();
    rules.sort();
    rules
}

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

/// A revision script in the shape `alembic revision` writes.
fn revision(id: &str, down: &str, body: &str) -> String {
    format!(
        "from alembic import op\nimport sqlalchemy as sa\n\nrevision = \"{id}\"\ndown_revision = {down}\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n{body}\n\n\ndef downgrade():\n    pass\n"
    )
}

/// Migration ids in the order lockgate replays them.
fn replay_order(paths: &[PathBuf]) -> Vec<String> {
    let config = Config::default();
    let inputs = InputPaths { paths, stdin_name: "<stdin>" };
    let discovered = source::discover(&inputs, &config).expect("discovers");
    source::load_all(&discovered, &config).into_iter().map(|m| m.id).collect()
}

#[test]
fn fixture_findings_are_pinned() {
    let output = Command::cargo_bin("lockgate")
        .expect("binary")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["lint", FIXTURE, "--format", "json"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1), "the fixture has errors");
    insta::assert_snapshot!(String::from_utf8(output.stdout).expect("UTF-8"));
}

#[test]
fn concurrent_index_is_quiet_inside_autocommit_block_and_an_error_outside() {
    let json = lint_fixture();
    let inside = rules_in(&json, "4d5e6f7a8b9c_");
    assert!(
        !inside.iter().any(|r| r == "concurrently-in-transaction" || r == "create-index-not-concurrently"),
        "{inside:?}"
    );
    let outside = findings_in(&json, "5e6f7a8b9c0d_");
    let error = outside.iter().find(|f| f["rule"] == "concurrently-in-transaction").expect("reported");
    assert_eq!(error["severity"], "error");
    assert_eq!(error["line"], 23);
    assert!(error["help"].as_str().is_some_and(|h| h.contains("autocommit_block")));
}

#[test]
fn type_change_is_judged_from_the_type_set_in_an_earlier_revision() {
    let json = lint_fixture();
    // sa.Integer in the first revision → sa.BigInteger two revisions later: a rewrite.
    let rewrite = findings_in(&json, "3c4d5e6f7a8b_");
    let finding = rewrite.iter().find(|f| f["rule"] == "alter-column-type-rewrite").expect("reported");
    assert!(finding["message"].as_str().is_some_and(|m| m.contains("`integer` → `bigint`")), "{finding}");
    // sa.String(50) → sa.String(100): catalog-only.
    assert!(!rules_in(&json, "2b3c4d5e6f7a_").contains(&"alter-column-type-rewrite".to_string()));
}

#[test]
fn not_null_on_a_column_nullable_since_the_first_revision_scans() {
    let json = lint_fixture();
    assert!(rules_in(&json, "7a8b9c0d1e2f_").contains(&"set-not-null-scan".to_string()));
}

#[test]
fn batch_operations_apply_to_the_batch_table() {
    let json = lint_fixture();
    let findings = findings_in(&json, "8b9c0d1e2f3a_");
    let check = findings.iter().find(|f| f["rule"] == "add-check-without-not-valid").expect("reported");
    assert!(check["message"].as_str().is_some_and(|m| m.contains("`accounts`")), "{check}");
    // The foreign key was added NOT VALID: no full validation reported.
    assert!(!findings.iter().any(|f| f["rule"] == "add-foreign-key-without-not-valid"));
}

#[test]
fn sql_in_op_execute_points_at_the_statement_inside_the_string() {
    let json = lint_fixture();
    let update = findings_in(&json, "7a8b9c0d1e2f_").into_iter().find(|f| f["rule"] == "data-change-in-migration");
    let update = update.expect("the UPDATE in the triple-quoted string is reported");
    assert_eq!((update["line"].as_u64(), update["column"].as_u64()), (Some(24), Some(9)));
}

#[test]
fn dynamic_sql_is_unanalyzable_with_its_location() {
    let json = lint_fixture();
    let findings = findings_in(&json, "9c0d1e2f3a4b_");
    let dynamic = findings
        .iter()
        .find(|f| {
            f["rule"] == "unanalyzable-operation" && f["message"].as_str().is_some_and(|m| m.contains("f-string"))
        })
        .expect("reported");
    assert_eq!((dynamic["line"].as_u64(), dynamic["column"].as_u64()), (Some(44), Some(9)));
    assert_eq!(json["summary"]["statements_unanalyzed"], 2);
}

#[test]
fn ignore_comment_above_an_op_call_suppresses_it() {
    let json = lint_fixture();
    assert!(!rules_in(&json, "9c0d1e2f3a4b_").contains(&"drop-column".to_string()));
    assert_eq!(json["summary"]["suppressed"], 1);
}

#[test]
fn env_py_is_neither_a_revision_nor_a_django_migration() {
    let json = lint_fixture();
    assert!(findings_in(&json, "env.py").is_empty());
    assert_eq!(json["summary"]["migrations"], 9);
}

#[test]
fn merge_revision_is_ordered_after_both_parents() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let order = replay_order(&[root.join(FIXTURE)]);
    let at = |id: &str| order.iter().position(|o| o == id).unwrap_or_else(|| panic!("{id} in {order:?}"));
    assert!(at("6f7a8b9c0d1e") > at("4d5e6f7a8b9c"));
    assert!(at("6f7a8b9c0d1e") > at("5e6f7a8b9c0d"));
    assert!(at("7a8b9c0d1e2f") > at("6f7a8b9c0d1e"));
    assert_eq!(at("1a2b3c4d5e6f"), 0);
}

#[test]
fn graph_order_beats_file_name_order() {
    let dir = project(&[
        ("alembic/env.py", ""),
        ("alembic/versions/a_merge.py", &revision("m", "(\"b1\", \"c1\")", "    pass")),
        ("alembic/versions/b_branch.py", &revision("b1", "\"base\"", "    pass")),
        ("alembic/versions/c_branch.py", &revision("c1", "\"base\"", "    pass")),
        ("alembic/versions/z_base.py", &revision("base", "None", "    pass")),
    ]);
    assert_eq!(replay_order(&[dir.path().to_path_buf()]), vec!["base", "b1", "c1", "m"]);
}

#[test]
fn graph_problems_are_reported_not_fatal() {
    let create = "    op.create_table(\"t\", sa.Column(\"id\", sa.BigInteger(), sa.Identity(), primary_key=True))";
    let dir = project(&[
        ("db/env.py", ""),
        ("db/versions/001_base.py", &revision("base", "None", create)),
        (
            "db/versions/002_left.py",
            &revision("left", "\"base\"", "    op.add_column(\"t\", sa.Column(\"a\", sa.Text()))"),
        ),
        (
            "db/versions/003_right.py",
            &revision("right", "\"base\"", "    op.add_column(\"t\", sa.Column(\"b\", sa.Text()))"),
        ),
        ("db/versions/004_orphan.py", &revision("orphan", "\"deleted0001\"", "    pass")),
    ]);
    let json = lint(dir.path(), ".");
    let graph: Vec<&str> = json["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["rule"] == "migration-graph")
        .filter_map(|f| f["message"].as_str())
        .collect();
    assert!(graph.iter().any(|m| m.contains("`deleted0001`")), "{graph:?}");
    assert!(graph.iter().any(|m| m.contains("heads")), "{graph:?}");
    assert_eq!(json["summary"]["migrations"], 4);
}

#[test]
fn revisions_named_by_alembic_ini_are_found() {
    let dir = project(&[
        ("alembic.ini", "[alembic]\nscript_location = %(here)s/db\nversion_locations = %(here)s/history\n"),
        ("db/env.py", ""),
        ("history/0001_users.py", &revision("0001", "None", "    op.drop_table(\"users\")")),
    ]);
    assert!(rules_in(&lint(dir.path(), "."), "0001_users.py").contains(&"drop-table".to_string()));
}

#[test]
fn odd_but_valid_forms_are_read() {
    let body = r#"    """Docstring."""
    bind = op.get_bind()
    status = postgresql.ENUM("new", "done", name="status", create_type=False)
    status.create(bind, checkfirst=True)
    if bind.dialect.name != "postgresql":
        op.execute("this is not postgres sql")
    if context.is_offline_mode():
        op.execute("SELECT 1")
    for table in ("a", "b"):
        op.add_column(table, sa.Column("note", sa.Text(), nullable=True))
    bind.execute(sa.text("UPDATE a SET note = :note WHERE id = :id"), {"note": "x", "id": 1})
    tasks = sa.table("tasks", sa.column("state", sa.String))
    op.execute(tasks.update().where(tasks.c.state == None).values(state="new"))
    op.bulk_insert(tasks, [{"state": "new"}])
    op.execute(
        "ALTER TABLE a "
        "ADD COLUMN z int"
    )
    helper("b")
    op.create_exclude_constraint("no_overlap", "a", ("period", "&&"), using="gist")
    op.custom_thing("a")"#;
    let text = format!(
        "from alembic import context, op\nimport sqlalchemy as sa\nfrom sqlalchemy.dialects import postgresql\n\nrevision: str = \"abc\"\ndown_revision: str | None = None\n\n\ndef helper(name):\n    op.drop_column(name, \"note\")\n\n\ndef upgrade() -> None:\n{body}\n"
    );
    let dir = project(&[("alembic/env.py", ""), ("alembic/versions/abc_odd.py", &text)]);
    let json = lint(dir.path(), ".");
    let rules = rules_in(&json, "abc_odd.py");
    assert!(!rules.contains(&"parse-error".to_string()), "{rules:?}");
    let unanalyzable: Vec<&str> = findings_in(&json, "abc_odd.py")
        .into_iter()
        .filter(|f| f["rule"] == "unanalyzable-operation")
        .filter_map(|f| f["message"].as_str())
        .collect();
    assert_eq!(unanalyzable.len(), 2, "{unanalyzable:?}");
    assert!(unanalyzable.iter().any(|m| m.contains("is_offline_mode")));
    assert!(unanalyzable.iter().any(|m| m.contains("custom_thing")));
    assert!(rules.contains(&"drop-column".to_string()), "the helper was followed: {rules:?}");
    assert!(rules.contains(&"add-exclusion-constraint".to_string()), "{rules:?}");
}

#[test]
fn module_constants_reach_upgrade_and_downgrade_comments_stay_unread() {
    // Read in two passes: the module level first (for the graph), then `upgrade()` alone.
    let text = r#"from alembic import op

revision = "abc"
down_revision = None
TABLE = "accounts"


def upgrade():
    op.drop_column(TABLE, "note")


def downgrade():
    op.execute("""
UPDATE accounts SET note = ''
""")
    # lockgate: ignore drop-column -- not linted, so never used
    op.add_column(TABLE, sa.Column("note", sa.Text()))
"#;
    let dir = project(&[("alembic/env.py", ""), ("alembic/versions/abc_constants.py", text)]);
    let json = lint(dir.path(), ".");
    let findings = findings_in(&json, "abc_constants.py");
    let drop = findings.iter().find(|f| f["rule"] == "drop-column").expect("reported");
    assert!(drop["message"].as_str().is_some_and(|m| m.contains("`accounts`")), "{drop}");
    assert!(!findings.iter().any(|f| f["rule"] == "invalid-directive"), "{findings:?}");
}

#[test]
fn timeouts_set_in_env_py_count_for_every_revision() {
    let upgrade = "    op.add_column(\"users\", sa.Column(\"nickname\", sa.Text(), nullable=True))";
    let files = |env: &str| {
        project(&[
            ("migrations/env.py", env),
            (
                "migrations/versions/a1_users.py",
                &revision("a1", "None", "    op.execute(\"CREATE TABLE users (id bigint PRIMARY KEY)\")"),
            ),
            ("migrations/versions/b2_nickname.py", &revision("b2", "\"a1\"", upgrade)),
        ])
    };
    let timeouts = |json: &serde_json::Value| -> Vec<String> {
        rules_in(json, "b2_nickname.py").into_iter().filter(|r| r.starts_with("missing-")).collect()
    };
    let without = files("from alembic import context\n\ndef run_migrations_online():\n    pass\n");
    assert_eq!(timeouts(&lint(without.path(), "migrations")), ["missing-lock-timeout", "missing-statement-timeout"]);

    let with = files(
        "from alembic import context\nfrom sqlalchemy import text\n\ndef run_migrations_online():\n    with engine.connect() as connection:\n        connection.execute(text(\"SET lock_timeout = '4s'\"))\n        connection.execute(text(\"SET statement_timeout = '30s'\"))\n        context.configure(connection=connection)\n",
    );
    assert!(timeouts(&lint(with.path(), "migrations")).is_empty());

    // A timeout set to 0 is disabled, so the revision is still unguarded.
    let disabled = files(
        "from sqlalchemy import text\n\ndef run_migrations_online():\n    connection.execute(text(\"SET lock_timeout = 0\"))\n",
    );
    assert_eq!(timeouts(&lint(disabled.path(), "migrations")), ["missing-lock-timeout", "missing-statement-timeout"]);
}

/// A `server_default=` Python computes (a string SQLAlchemy then quotes) is a constant, a fast
/// default; only SQL text or `sa.func` can be evaluated per row.
#[test]
fn a_server_default_python_computes_is_a_constant() {
    let create = "    op.create_table('queries', sa.Column('id', sa.Integer(), primary_key=True))";
    let adds = [
        ("json_dumps", "json.dumps({})", false),
        ("str_call", "str(uuid.uuid4())", false),
        ("formatted", "'{}-{}'.format(1, 2)", false),
        ("sql_text", "sa.text('gen_random_uuid()')", true),
        ("helper", "make_default()", true),
    ];
    let mut files = vec![("versions/0001_create.py".to_string(), revision("0001", "None", create))];
    let mut down = "\"0001\"".to_string();
    for (i, (column, default, _)) in adds.iter().enumerate() {
        let id = format!("000{}", i + 2);
        let body = format!(
            "    op.add_column('queries', sa.Column('{column}', sa.Text(), nullable=False, server_default={default}))"
        );
        files.push((format!("versions/{id}_{column}.py"), revision(&id, &down, &body)));
        down = format!("\"{id}\"");
    }
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    let dir = project(&files);
    let json = lint(dir.path(), ".");
    for (column, default, volatile) in adds {
        let reported = rules_in(&json, &format!("_{column}.py")).contains(&"add-column-volatile-default".to_string());
        assert_eq!(reported, volatile, "server_default={default}: {json}");
    }
}

/// SQLAlchemy type classes of the project's own code, as the models import them.
const PROJECT_TYPES: &str = r#"
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator, Text


class JSONText(TypeDecorator):
    impl = Text
    cache_ok = True


class Document(TypeDecorator[dict]):
    impl = postgresql.JSONB


class LooseJSON(TypeDecorator):
    impl = sa.JSON


class Code(TypeDecorator):
    impl = sa.String(40)


class Stamp(TypeDecorator):
    impl = sa.TIMESTAMP(timezone=True)

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(sa.TIMESTAMP(timezone=True))
"#;

#[test]
fn project_type_decorators_render_their_impl() {
    let first = "    op.create_table(\"docs\", sa.Column(\"id\", sa.Integer(), primary_key=True), sa.Column(\"body\", sa.Text()), sa.Column(\"code\", sa.String(20)))";
    let dir = project(&[
        ("app/__init__.py", ""),
        ("app/types.py", PROJECT_TYPES),
        ("migrations/env.py", ""),
        ("migrations/versions/a1_docs.py", &revision("a1", "None", first)),
        (
            "migrations/versions/b2_types.py",
            &format!(
                "from app.types import JSONText, LooseJSON\nimport app.types as t\n{}",
                revision(
                    "b2",
                    "\"a1\"",
                    "    op.alter_column(\"docs\", \"body\", type_=JSONText(), existing_type=sa.Text())\n    op.alter_column(\"docs\", \"code\", type_=t.Code)\n    op.add_column(\"docs\", sa.Column(\"meta\", t.Document(), nullable=True))\n    op.add_column(\"docs\", sa.Column(\"loose\", LooseJSON(), nullable=True))",
                )
            ),
        ),
        (
            "migrations/versions/c3_stamp.py",
            &format!(
                "import app.types\n{}",
                revision("c3", "\"b2\"", "    op.alter_column(\"docs\", \"code\", type_=app.types.Stamp())")
            ),
        ),
    ]);
    let json = lint(dir.path(), ".");
    let b2 = rules_in(&json, "b2_types.py");
    // text → text and varchar(20) → varchar(40) through the wrappers: no rewrite; the JSONB
    // column is no prefer-jsonb, the JSON one is.
    assert!(!b2.iter().any(|r| r == "alter-column-type-rewrite" || r == "unanalyzable-operation"), "{b2:?}");
    assert_eq!(b2.iter().filter(|r| *r == "prefer-jsonb").count(), 1, "{b2:?}");
    let loose = findings_in(&json, "b2_types.py").into_iter().find(|f| f["rule"] == "prefer-jsonb").expect("reported");
    assert!(loose["message"].as_str().is_some_and(|m| m.contains("loose")), "{loose}");
    // A type chosen per dialect in code is unknown: a type change to it is taken as a rewrite.
    assert!(rules_in(&json, "c3_stamp.py").contains(&"alter-column-type-rewrite".to_string()));
}
