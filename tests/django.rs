//! The Django front end: migrations read statically, ordered by their graph, judged against the
//! replayed model state.

use std::path::Path;

use assert_cmd::Command;

fn lint(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let output = Command::cargo_bin("lockgate")
        .expect("binary")
        .current_dir(dir)
        .args(["lint", ".", "--format", "json", "--fail-on", "never"])
        .args(extra)
        .output()
        .expect("runs");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
    serde_json::from_slice(&output.stdout).expect("JSON")
}

/// Rules reported on `file`, leaving out info-level notes (schema-design advice).
fn rules_in(json: &serde_json::Value, file: &str) -> Vec<String> {
    let mut rules: Vec<String> = json["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["path"].as_str().is_some_and(|p| p.ends_with(file)))
        .filter(|f| f["severity"] != "info" || f["rule"] == "unanalyzable-operation")
        .map(|f| f["rule"].as_str().unwrap_or_default().to_string())
        .collect();
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

const INITIAL: &str = r#"
from django.db import migrations, models

class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Item",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("code", models.CharField(max_length=20)),
                ("note", models.TextField(null=True)),
                ("qty", models.IntegerField()),
            ],
        ),
    ]
"#;

fn migration(dependency: &str, operations: &str) -> String {
    format!(
        "from django.db import migrations, models\n\nclass Migration(migrations.Migration):\n    dependencies = [(\"store\", \"{dependency}\")]\n    operations = [\n{operations}\n    ]\n"
    )
}

const LOCK_RULES: &[&str] = &["missing-lock-timeout", "missing-statement-timeout"];

fn without_timeouts(rules: Vec<String>) -> Vec<String> {
    rules.into_iter().filter(|r| !LOCK_RULES.contains(&r.as_str())).collect()
}

#[test]
fn fixture_findings_are_pinned() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::cargo_bin("lockgate")
        .expect("binary")
        .current_dir(root)
        .args(["lint", "fixtures/django", "--format", "json", "--fail-on", "never"])
        .output()
        .expect("runs");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    insta::assert_snapshot!(serde_json::to_string_pretty(&json).expect("serializes"));
}

#[test]
fn not_null_on_a_column_that_was_already_not_null_is_quiet() {
    let dir = project(&[
        ("store/migrations/0001_initial.py", INITIAL),
        (
            "store/migrations/0002_code.py",
            &migration(
                "0001_initial",
                "        migrations.AlterField(model_name=\"item\", name=\"code\", field=models.CharField(max_length=20, help_text=\"SKU\")),",
            ),
        ),
    ]);
    assert!(without_timeouts(rules_in(&lint(dir.path(), &[]), "0002_code.py")).is_empty());
}

#[test]
fn not_null_on_a_nullable_column_fires() {
    let dir = project(&[
        ("store/migrations/0001_initial.py", INITIAL),
        (
            "store/migrations/0002_note.py",
            &migration(
                "0001_initial",
                "        migrations.AlterField(model_name=\"item\", name=\"note\", field=models.TextField()),",
            ),
        ),
    ]);
    assert_eq!(without_timeouts(rules_in(&lint(dir.path(), &[]), "0002_note.py")), vec!["set-not-null-scan"]);
}

#[test]
fn type_change_is_judged_against_the_type_set_three_migrations_earlier() {
    let dir = project(&[
        ("store/migrations/0001_initial.py", INITIAL),
        ("store/migrations/0002_a.py", &migration("0001_initial", "        migrations.AddField(model_name=\"item\", name=\"a\", field=models.TextField(null=True)),")),
        ("store/migrations/0003_b.py", &migration("0002_a", "        migrations.AddField(model_name=\"item\", name=\"b\", field=models.TextField(null=True)),")),
        (
            "store/migrations/0004_code.py",
            &migration(
                "0003_b",
                "        migrations.AlterField(model_name=\"item\", name=\"code\", field=models.CharField(max_length=40)),\n        migrations.AlterField(model_name=\"item\", name=\"qty\", field=models.BigIntegerField()),",
            ),
        ),
    ]);
    // varchar(20) → varchar(40) is catalog-only; integer → bigint rewrites (while the first
    // AlterField's ACCESS EXCLUSIVE is still held).
    assert_eq!(
        without_timeouts(rules_in(&lint(dir.path(), &[]), "0004_code.py")),
        vec!["alter-column-type-rewrite", "statements-after-access-exclusive"]
    );
}

#[test]
fn python_default_on_add_field_is_the_rolling_deploy_hazard() {
    let dir = project(&[
        ("store/migrations/0001_initial.py", INITIAL),
        (
            "store/migrations/0002_flag.py",
            &migration(
                "0001_initial",
                "        migrations.AddField(model_name=\"item\", name=\"flag\", field=models.BooleanField(default=False)),\n        migrations.AddField(model_name=\"item\", name=\"kind\", field=models.CharField(max_length=5, db_default=\"a\")),",
            ),
        ),
    ]);
    assert_eq!(without_timeouts(rules_in(&lint(dir.path(), &[]), "0002_flag.py")), vec!["django-default-dropped"]);
}

#[test]
fn a_default_an_unreadable_operation_may_restore_is_unknown_not_dropped() {
    // A third-party operation (django-add-default-value's AddDefaultValue) sets the database
    // default again; lockgate cannot read it, says so, and does not claim the default is gone.
    let operations = "        migrations.AddField(model_name=\"item\", name=\"flag\", field=models.BooleanField(default=False)),\n        AddDefaultValue(model_name=\"item\", name=\"flag\", value=False),";
    let text = migration("0001_initial", operations).replace(
        "from django.db import migrations, models",
        "from django.db import migrations, models\nfrom django_add_default_value import AddDefaultValue",
    );
    let dir = project(&[("store/migrations/0001_initial.py", INITIAL), ("store/migrations/0002_flag.py", &text)]);
    assert_eq!(without_timeouts(rules_in(&lint(dir.path(), &[]), "0002_flag.py")), vec!["unanalyzable-operation"]);
}

#[test]
fn a_null_db_default_is_no_default_for_a_not_null_field() {
    // Django sends `DEFAULT NULL`, which PostgreSQL stores as no default: the ADD COLUMN fails on
    // a table with rows. `Value(None)` is the same; a Python default beside it is not sent.
    let dir = project(&[
        ("store/migrations/0001_initial.py", INITIAL),
        (
            "store/migrations/0002_rank.py",
            &migration(
                "0001_initial",
                "        migrations.AddField(model_name=\"item\", name=\"rank\", field=models.IntegerField(db_default=None)),\n        migrations.AddField(model_name=\"item\", name=\"level\", field=models.IntegerField(db_default=models.Value(None), default=3)),",
            ),
        ),
    ]);
    let rules = without_timeouts(rules_in(&lint(dir.path(), &[]), "0002_rank.py"));
    assert_eq!(rules.iter().filter(|r| *r == "add-column-not-null-without-default").count(), 2, "{rules:?}");
}

#[test]
fn unique_together_written_as_a_set_is_read_like_a_list() {
    // `makemigrations` writes a set literal; `set(…)`/`frozenset(…)` and a tuple say the same.
    for together in [
        "{(\"code\", \"qty\")}",
        "[(\"code\", \"qty\")]",
        "set([(\"code\", \"qty\")])",
        "frozenset({(\"code\", \"qty\")})",
    ] {
        let dir = project(&[
            ("store/migrations/0001_initial.py", INITIAL),
            (
                "store/migrations/0002_unique.py",
                &migration(
                    "0001_initial",
                    &format!("        migrations.AlterUniqueTogether(name=\"item\", unique_together={together}),"),
                ),
            ),
        ]);
        assert_eq!(
            without_timeouts(rules_in(&lint(dir.path(), &[]), "0002_unique.py")),
            vec!["add-unique-constraint-builds-index"],
            "{together}"
        );
    }
}

#[test]
fn migrations_with_cr_or_crlf_line_endings_read_as_python_reads_them() {
    let second = migration(
        "0001_initial",
        "        migrations.AddField(model_name=\"item\", name=\"rank\", field=models.IntegerField()),",
    );
    for ending in ["\r", "\r\n"] {
        let dir = project(&[
            ("store/migrations/0001_initial.py", &INITIAL.replace('\n', ending)),
            ("store/migrations/0002_rank.py", &second.replace('\n', ending)),
        ]);
        let json = lint(dir.path(), &[]);
        let found: Vec<(String, u64)> = json["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["rule"] != "missing-lock-timeout" && f["rule"] != "missing-statement-timeout")
            .filter(|f| f["severity"] != "info")
            .map(|f| (f["rule"].as_str().unwrap_or_default().to_string(), f["line"].as_u64().unwrap_or_default()))
            .collect();
        assert_eq!(found, [("add-column-not-null-without-default".to_string(), 6)], "{ending:?}: {json}");
    }
}

#[test]
fn blank_string_fields_get_django_s_empty_default() {
    let dir = project(&[
        ("store/migrations/0001_initial.py", INITIAL),
        (
            "store/migrations/0002_title.py",
            &migration("0001_initial", "        migrations.AddField(model_name=\"item\", name=\"title\", field=models.CharField(blank=True, max_length=5)),"),
        ),
    ]);
    let rules = rules_in(&lint(dir.path(), &[]), "0002_title.py");
    assert!(!rules.contains(&"add-column-not-null-without-default".to_string()), "{rules:?}");
    assert!(rules.contains(&"django-default-dropped".to_string()), "{rules:?}");
}

#[test]
fn concurrent_index_needs_a_non_atomic_migration() {
    let op = "        AddIndexConcurrently(model_name=\"item\", index=models.Index(fields=[\"qty\"], name=\"item_qty_idx\")),";
    let atomic = migration("0001_initial", op).replace(
        "from django.db import",
        "from django.contrib.postgres.operations import AddIndexConcurrently\nfrom django.db import",
    );
    let non_atomic = atomic.replace("    dependencies", "    atomic = False\n    dependencies");
    let dir = project(&[("store/migrations/0001_initial.py", INITIAL), ("store/migrations/0002_idx.py", &atomic)]);
    assert_eq!(without_timeouts(rules_in(&lint(dir.path(), &[]), "0002_idx.py")), vec!["concurrently-in-transaction"]);
    let dir = project(&[("store/migrations/0001_initial.py", INITIAL), ("store/migrations/0002_idx.py", &non_atomic)]);
    assert!(without_timeouts(rules_in(&lint(dir.path(), &[]), "0002_idx.py")).is_empty());
}

#[test]
fn foreign_key_added_to_an_existing_table_is_validated_and_indexed_in_place() {
    let dir = project(&[
        ("store/migrations/0001_initial.py", INITIAL),
        (
            "store/migrations/0002_parent.py",
            &migration(
                "0001_initial",
                "        migrations.AddField(model_name=\"item\", name=\"parent\", field=models.ForeignKey(null=True, on_delete=models.CASCADE, to=\"store.item\")),",
            ),
        ),
    ]);
    let rules = without_timeouts(rules_in(&lint(dir.path(), &[]), "0002_parent.py"));
    assert!(rules.contains(&"create-index-not-concurrently".to_string()), "{rules:?}");
    assert!(rules.contains(&"add-foreign-key-without-not-valid".to_string()), "{rules:?}");
}

#[test]
fn separate_database_and_state_only_runs_the_database_operations() {
    let op = "        migrations.SeparateDatabaseAndState(\n            state_operations=[migrations.RemoveField(model_name=\"item\", name=\"note\")],\n            database_operations=[],\n        ),";
    let dir = project(&[
        ("store/migrations/0001_initial.py", INITIAL),
        ("store/migrations/0002_state.py", &migration("0001_initial", op)),
    ]);
    assert!(rules_in(&lint(dir.path(), &[]), "0002_state.py").is_empty());
    let plain = "        migrations.RemoveField(model_name=\"item\", name=\"note\"),";
    let dir = project(&[
        ("store/migrations/0001_initial.py", INITIAL),
        ("store/migrations/0002_drop.py", &migration("0001_initial", plain)),
    ]);
    assert_eq!(without_timeouts(rules_in(&lint(dir.path(), &[]), "0002_drop.py")), vec!["drop-column"]);
}

#[test]
fn run_python_is_judged_by_what_its_function_calls() {
    let file = |function: &str| {
        format!(
            "from django.db import migrations, models\n\n\n{function}\n\n\nclass Migration(migrations.Migration):\n    dependencies = [(\"store\", \"0001_initial\")]\n    operations = [\n        migrations.AddField(model_name=\"item\", name=\"seen\", field=models.BooleanField(null=True)),\n        migrations.RunPython(forwards, migrations.RunPython.noop),\n    ]\n"
        )
    };
    let writes = file("def forwards(apps, schema_editor):\n    Item = apps.get_model(\"store\", \"Item\")\n    Item.objects.update(seen=True)");
    let renames = file(
        "def forwards(apps, schema_editor):\n    schema_editor.alter_db_table(None, \"store_item\", \"store_thing\")",
    );
    let reads = file("def forwards(apps, schema_editor):\n    Item = apps.get_model(\"store\", \"Item\")\n    print(Item.objects.count())");
    let dir = project(&[("store/migrations/0001_initial.py", INITIAL), ("store/migrations/0002_writes.py", &writes)]);
    assert_eq!(without_timeouts(rules_in(&lint(dir.path(), &[]), "0002_writes.py")), vec!["data-change-in-migration"]);
    for (text, expected) in [(renames, vec!["unanalyzable-operation"]), (reads, vec![])] {
        let dir = project(&[("store/migrations/0001_initial.py", INITIAL), ("store/migrations/0002_code.py", &text)]);
        assert_eq!(without_timeouts(rules_in(&lint(dir.path(), &[]), "0002_code.py")), expected, "{text}");
    }
}

#[test]
fn a_schema_change_beside_code_is_named_only_where_a_recipe_exists() {
    let file = |operations: &str| {
        format!(
            "from django.db import migrations, models\n\n\ndef forwards(apps, schema_editor):\n    print(apps.get_model(\"store\", \"Item\").objects.count())\n\n\nclass Migration(migrations.Migration):\n    dependencies = [(\"store\", \"0001_initial\")]\n    operations = [\n        migrations.RunPython(forwards),\n{operations}\n    ]\n"
        )
    };
    let beside = |operations: &str| {
        let dir = project(&[
            ("store/migrations/0001_initial.py", INITIAL),
            ("store/migrations/0002_code.py", &file(operations)),
        ]);
        let json = lint(dir.path(), &[]);
        json["findings"].as_array().into_iter().flatten().filter(|f| f["rule"] == "schema-change-beside-code").count()
    };
    // Code that changes no rows still runs only in Django: the index beside it loses its recipe.
    assert_eq!(beside("        migrations.AddIndex(model_name=\"item\", index=models.Index(fields=[\"code\"], name=\"item_code_idx\")),"), 1);
    // A CHECK is added NOT VALID then validated by the recipe; one already NOT VALID has none.
    let check =
        "model_name=\"item\", constraint=models.CheckConstraint(condition=models.Q(qty__gte=0), name=\"qty_ok\")";
    assert_eq!(beside(&format!("        migrations.AddConstraint({check}),")), 1);
    assert_eq!(beside(&format!("        AddConstraintNotValid({check}),")), 0);
}

#[test]
fn graph_problems_and_unreadable_files_are_findings() {
    let dir = project(&[
        ("store/migrations/0001_initial.py", INITIAL),
        ("store/migrations/0002_missing.py", &migration("0009_nowhere", "        migrations.RunSQL(\"SELECT 1\"),")),
        ("store/migrations/0003_py2.py", "print 'old'\nclass Migration:\n    operations = []\n"),
        (
            "store/migrations/0004_dynamic.py",
            "from django.db import migrations\n\nclass Migration(migrations.Migration):\n    dependencies = [(\"store\", \"0001_initial\")]\n    operations = [migrations.RunSQL(\"SELECT %s\" % 1), CustomOperation(), migrations.RunPython(lambda a, b: None)]\n",
        ),
        ("store/migrations/__init__.py", ""),
    ]);
    let json = lint(dir.path(), &[]);
    assert_eq!(rules_in(&json, "0002_missing.py"), vec!["migration-graph"]);
    assert_eq!(rules_in(&json, "0003_py2.py"), vec!["parse-error"]);
    let dynamic = rules_in(&json, "0004_dynamic.py");
    // The SQL built at run time, the custom operation, and the lambda RunPython lockgate cannot read.
    assert_eq!(dynamic.iter().filter(|r| *r == "unanalyzable-operation").count(), 3, "{dynamic:?}");
    assert!(rules_in(&json, "__init__.py").is_empty());
}

#[test]
fn ignore_comments_work_on_operations() {
    let op = "        # lockgate: ignore drop-column -- the field was unused for a year\n        migrations.RemoveField(model_name=\"item\", name=\"note\"),";
    let dir = project(&[
        ("store/migrations/0001_initial.py", INITIAL),
        ("store/migrations/0002_drop.py", &migration("0001_initial", op)),
    ]);
    let json = lint(dir.path(), &[]);
    assert!(without_timeouts(rules_in(&json, "0002_drop.py")).is_empty());
    assert_eq!(json["summary"]["suppressed"], 1);
}

#[test]
fn ignore_comments_stay_on_their_operation_after_a_multi_statement_run_sql() {
    let ops = "        migrations.RunSQL(\"SELECT 1; SELECT 2; SELECT 3;\"),\n        # lockgate: ignore drop-column -- unused for a year\n        migrations.RemoveField(model_name=\"item\", name=\"note\"),";
    let dir = project(&[
        ("store/migrations/0001_initial.py", INITIAL),
        ("store/migrations/0002_drop.py", &migration("0001_initial", ops)),
    ]);
    let json = lint(dir.path(), &[]);
    assert!(without_timeouts(rules_in(&json, "0002_drop.py")).is_empty(), "{json}");
    assert_eq!(json["summary"]["suppressed"], 1);
}

/// A squash whose replaced migrations are gone runs only on a database that applied none of
/// them: after an earlier such squash, on a new install, whose tables are empty.
#[test]
fn a_squash_after_a_squash_runs_on_new_installs_where_its_tables_are_empty() {
    let squashed_initial = INITIAL.replace(
        "    initial = True\n",
        "    initial = True\n    replaces = [(\"store\", \"0001_initial\"), (\"store\", \"0002_note\")]\n",
    );
    let add_index = "        migrations.AddIndex(model_name=\"item\", index=models.Index(fields=[\"code\"], name=\"item_code_idx\")),";
    let squash = |name: &str| {
        migration(name, add_index).replace(
            "    operations = [",
            "    replaces = [(\"store\", \"0003_a\"), (\"store\", \"0004_b\")]\n    operations = [",
        )
    };
    let dir = project(&[
        ("store/migrations/0001_squashed_0002_note.py", &squashed_initial),
        ("store/migrations/0003_squashed_0004_b.py", &squash("0001_squashed_0002_note")),
    ]);
    let json = lint(dir.path(), &[]);
    let index = json["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["rule"] == "create-index-not-concurrently")
        .unwrap_or_else(|| panic!("the index build is still reported: {json}"));
    assert_eq!(index["severity"], "info", "{index}");
    let message = index["message"].as_str().expect("message");
    assert!(message.contains("runs only on a database that applied none of the 2 migrations it replaces"), "{message}");

    // After a plain initial migration, a database can hold rows when the squash runs.
    let dir = project(&[
        ("store/migrations/0001_initial.py", INITIAL),
        ("store/migrations/0003_squashed_0004_b.py", &squash("0001_initial")),
    ]);
    assert!(
        rules_in(&lint(dir.path(), &[]), "0003_squashed_0004_b.py").contains(&"create-index-not-concurrently".into())
    );
}

/// A `migrations` package in which no file defines `class Migration` is another tool's (a
/// vector store's schema steps), which Django never loads: not read, not reported.
#[test]
fn a_migrations_package_without_django_migrations_is_not_an_app() {
    let dir = project(&[
        ("store/migrations/__init__.py", ""),
        ("store/migrations/0001_initial.py", INITIAL),
        ("vectors/migrations/__init__.py", "MIGRATIONS = []\n"),
        (
            "vectors/migrations/m0001_v1_to_v2.py",
            "import sqlite3\n\n\ndef upgrade(conn):\n    conn.execute('ALTER TABLE chunks ADD COLUMN x')\n",
        ),
        // An app whose one file lost its class is still an app: that is reported.
        ("broken/migrations/__init__.py", ""),
        ("broken/migrations/0001_initial.py", INITIAL),
        ("broken/migrations/0002_oops.py", "from django.db import migrations\n"),
    ]);
    let json = lint(dir.path(), &[]);
    let paths: Vec<&str> =
        json["findings"].as_array().into_iter().flatten().filter_map(|f| f["path"].as_str()).collect();
    assert!(!paths.iter().any(|p| p.contains("vectors")), "{json}");
    assert!(rules_in(&json, "0002_oops.py").contains(&"parse-error".to_string()), "{json}");
    assert_eq!(json["summary"]["migrations"], 3, "{json}");
}

/// Field classes of the project's own code, as Django would load them.
const PROJECT_FIELDS: &str = r#"
from django.db import models
from django.db.models import IntegerField


class WideCode(models.CharField):
    """Codes of 200 characters unless a model says otherwise."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 200)
        super().__init__(*args, **kwargs)


class UpperWideCode(WideCode):
    def get_prep_value(self, value):
        return None if value is None else value.upper()


class Counter(IntegerField):
    def __init__(self, to_model, *args, **kwargs):
        if not isinstance(to_model, str):
            raise TypeError("to_model must be a string")
        self.to_model = to_model
        kwargs["default"] = kwargs.get("default", 0)
        super().__init__(*args, **kwargs)


class MacAddress(models.CharField):
    def db_type(self, connection):
        return "macaddr"


class Computed(models.CharField):
    def __init__(self, *args, **kwargs):
        kwargs["max_length"] = settings_length()
        super().__init__(*args, **kwargs)
"#;

/// Each migration changes `item.code` (varchar(20)) to one project field class.
fn project_field_migration(dependency: &str, field: &str) -> String {
    let operation = format!("        migrations.AlterField(model_name=\"item\", name=\"code\", field={field}),");
    format!("import store.fields\nfrom store.fields import Counter as Count\n{}", migration(dependency, &operation))
}

#[test]
fn project_field_classes_are_read_as_the_django_field_they_subclass() {
    let dir = project(&[
        ("store/__init__.py", ""),
        ("store/fields.py", PROJECT_FIELDS),
        ("store/migrations/0001_initial.py", INITIAL),
        ("store/migrations/0002_wide.py", &project_field_migration("0001_initial", "store.fields.UpperWideCode()")),
        ("store/migrations/0003_count.py", &project_field_migration("0002_wide", "Count(\"store.Item\")")),
        ("store/migrations/0004_mac.py", &project_field_migration("0003_count", "store.fields.MacAddress()")),
        ("store/migrations/0005_computed.py", &project_field_migration("0004_mac", "store.fields.Computed()")),
    ]);
    let json = lint(dir.path(), &[]);
    // varchar(20) → varchar(200), through a subclass of a subclass: catalog-only.
    assert_eq!(without_timeouts(rules_in(&json, "0002_wide.py")), Vec::<String>::new());
    // varchar → integer rewrites; the positional `to_model` is the class's own.
    assert_eq!(without_timeouts(rules_in(&json, "0003_count.py")), vec!["alter-column-type-rewrite"]);
    // A type decided by db_type(), or a length computed at run time: only the code knows (and
    // a change from integer to a type lockgate does not know is taken as a rewrite).
    for file in ["0004_mac.py", "0005_computed.py"] {
        assert_eq!(
            without_timeouts(rules_in(&json, file)),
            vec!["alter-column-type-rewrite", "unanalyzable-operation"],
            "{file}"
        );
    }
    // A class `[django] field_types` maps keeps the type the user gave, whatever its code says:
    // varchar(20) → bigint rewrites, where the class read alone is a catalog-only wider varchar.
    std::fs::write(dir.path().join("lockgate.toml"), "[django.field_types]\nUpperWideCode = \"bigint\"\n")
        .expect("write");
    let json = lint(dir.path(), &[]);
    assert_eq!(without_timeouts(rules_in(&json, "0002_wide.py")), vec!["alter-column-type-rewrite"]);
}

/// Django's schema editor defers a new model's foreign keys and indexes, and an added field's
/// index, to the end of the migration: a RunPython in the same migration runs before them, so
/// no lock on the referenced table is held while it runs; the index builds still come.
#[test]
fn deferred_foreign_keys_and_indexes_run_after_run_python() {
    let bundle = migration(
        "0001_initial",
        "        migrations.CreateModel(name=\"Bundle\", fields=[(\"id\", models.BigAutoField(primary_key=True)), (\"item\", models.ForeignKey(on_delete=models.CASCADE, to=\"store.item\"))]),\n        migrations.RunPython(fill),",
    )
    .replace("class Migration", "def fill(apps, schema_editor):\n    for item in apps.get_model(\"store\", \"Item\").objects.all():\n        item.save()\n\n\nclass Migration");
    let dir = project(&[("store/migrations/0001_initial.py", INITIAL), ("store/migrations/0002_bundle.py", &bundle)]);
    let json = lint(dir.path(), &[]);
    let data: Vec<&serde_json::Value> =
        json["findings"].as_array().into_iter().flatten().filter(|f| f["rule"] == "data-change-in-migration").collect();
    assert_eq!(data.len(), 1, "{json}");
    let message = data[0]["message"].as_str().unwrap_or_default();
    assert!(!message.contains("already holds"), "the foreign key to store_item comes after the RunPython: {message}");
    assert_eq!(data[0]["severity"], "warning", "{}", data[0]);
}
