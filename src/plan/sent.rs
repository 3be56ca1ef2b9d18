//! The statements a framework operation sends, resolved against the schema it runs on.
//!
//! The Django and Alembic front ends give each operation they lower what writes the SQL their
//! schema editors send for it ([`crate::ir::Op::sent`], see `crate::source::editor_sql`); the
//! few statements that depend on what the database holds when the migration runs (the foreign
//! keys on a column, what a name stands for) are resolved here against the replayed catalog, or
//! refused when the catalog cannot tell. Ops read from SQL text carry nothing to send: their SQL is
//! their statement's text (`Op::embedded_sql`, or the text at the span).

use crate::catalog::Catalog;
use crate::ir::{
    quote_identifier as ident, quote_relation as relation, ConstraintKind, Op, QualifiedName, SentStatement,
};

/// The SQL statements the runner sends for this framework op, against `catalog` as it stands
/// just before the op, or why they cannot be known statically.
pub fn statements(op: &Op, catalog: &Catalog) -> Result<Vec<String>, String> {
    match op.sent() {
        None => {
            Err("this statement was read from SQL text (a SQL file, RunSQL or op.execute): its SQL is that text".into())
        }
        Some(Err(why)) => Err(why),
        Some(Ok(statements)) => {
            let mut out = vec![];
            for statement in statements {
                match statement {
                    SentStatement::Sql(sql) => out.push(sql),
                    SentStatement::DropForeignKeysOn { table, column } => {
                        out.extend(drop_foreign_keys_on(&table, &column, catalog)?)
                    }
                    SentStatement::DropNamed { table, name } => out.extend(drop_named(&table, &name, catalog)?),
                }
            }
            Ok(out)
        }
    }
}

/// Each single-column foreign key on `table.column`, made IMMEDIATE and dropped; the catalog
/// must know the whole table to say there are no others.
fn drop_foreign_keys_on(table: &QualifiedName, column: &str, catalog: &Catalog) -> Result<Vec<String>, String> {
    let state = catalog.table(table).filter(|t| t.complete).ok_or_else(|| {
        format!(
            "the foreign keys of `{column}` are looked up in the database when the migration runs, and the catalog \
             does not know all of `{table}`"
        )
    })?;
    let mut out = vec![];
    for constraint in &state.constraints {
        if let ConstraintKind::ForeignKey { columns, .. } = &constraint.kind {
            if columns.len() == 1 && columns[0] == column {
                out.extend(drop_foreign_key(table, &constraint.name));
            }
        }
    }
    Ok(out)
}

/// `SET CONSTRAINTS … IMMEDIATE` first, so that checks still deferred in the transaction run
/// before the constraint goes rather than failing the drop.
fn drop_foreign_key(table: &QualifiedName, name: &str) -> Vec<String> {
    vec![
        format!("SET CONSTRAINTS {} IMMEDIATE", ident(name)),
        format!("ALTER TABLE {} DROP CONSTRAINT {}", relation(table), ident(name)),
    ]
}

/// What the database holds under `name` on `table`: a foreign key, another constraint, or a
/// unique index (which a unique constraint with INCLUDE or a condition is).
fn drop_named(table: &QualifiedName, name: &str, catalog: &Catalog) -> Result<Vec<String>, String> {
    match catalog.table(table).and_then(|t| t.constraint(name)) {
        Some(c) if matches!(c.kind, ConstraintKind::ForeignKey { .. }) => Ok(drop_foreign_key(table, name)),
        Some(_) => Ok(vec![format!("ALTER TABLE {} DROP CONSTRAINT {}", relation(table), ident(name))]),
        None => {
            let index = QualifiedName::new(table.schema.clone(), name);
            match catalog.index(&index) {
                Some(i) if i.table == *table && i.unique => {
                    Ok(vec![format!("DROP INDEX IF EXISTS {}", relation(&index))])
                }
                _ => Err(format!(
                    "constraint `{name}` on `{table}` is looked up in the database when the migration runs, and the \
                     catalog has no such constraint"
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! What the Django and Alembic front ends write for an op, resolved against the catalog
    //! replayed up to it, as `plan` and `trace` see it. Every expected statement below is what
    //! Django 6.1 or Alembic 1.20 with SQLAlchemy 2.1 sent to PostgreSQL for the same migration,
    //! with SQLAlchemy's bare identifiers double-quoted.

    use std::path::Path;

    use super::{statements, SentStatement};
    use crate::analysis::{self, ReplayStep, Visitor};
    use crate::catalog::Catalog;
    use crate::config::Config;
    use crate::postgres::PgVersion;
    use crate::source::{self, InputPaths};

    /// One op: its migration, its kind, and what `statements` says about it.
    type Rendered = (String, String, Result<Vec<String>, String>);

    /// Replays the migrations, asking `statements` about each op against the catalog as it
    /// stands just before that op.
    struct Collect(Vec<Rendered>);

    impl Visitor for Collect {
        fn op(&mut self, step: &ReplayStep) {
            let kind = format!("{:?}", step.op.kind);
            let tag = kind.split([' ', '(']).next().unwrap_or_default().to_string();
            // The planner runs a statement of RunSQL / `op.execute` as its own text.
            let sql = match &step.op.embedded_sql {
                Some(sql) => Ok(vec![sql.to_string()]),
                None => statements(step.op, step.catalog),
            };
            self.0.push((step.migration.id.clone(), tag, sql));
        }
    }

    fn render(path: &Path) -> Vec<Rendered> {
        let config = Config::default();
        let paths = [path.to_path_buf()];
        let inputs = InputPaths { paths: &paths, stdin_name: "<stdin>" };
        let discovered = source::discover(&inputs, &config).expect("discovers");
        let migrations = source::load_all(&discovered, &config);
        let mut collect = Collect(vec![]);
        analysis::replay(&migrations, Catalog::default(), PgVersion::default(), &mut collect);
        collect.0
    }

    fn render_files(files: &[(String, String)]) -> Vec<Rendered> {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        render(dir.path())
    }

    /// Django migrations `shop/migrations/0001_step.py`, … in a chain: `(atomic, operations)`.
    fn django(migrations: &[(bool, &str)]) -> Vec<Rendered> {
        let files: Vec<(String, String)> = migrations
            .iter()
            .enumerate()
            .map(|(i, (atomic, operations))| {
                let dependencies = if i == 0 { String::new() } else { format!("(\"shop\", \"{i:04}_step\")") };
                let atomic = if *atomic { "" } else { "    atomic = False\n" };
                let text = format!(
                    "from django.db import migrations, models\n\
                     import django.db.models.deletion\n\
                     from django.db.models import Q\n\
                     from django.db.models.functions import Now\n\
                     from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently\n\
                     from django.contrib.postgres.indexes import GinIndex\n\n\n\
                     class Migration(migrations.Migration):\n\
                     {atomic}    dependencies = [{dependencies}]\n    operations = [\n{operations}\n    ]\n"
                );
                (format!("shop/migrations/{:04}_step.py", i + 1), text)
            })
            .collect();
        render_files(&files)
    }

    /// Alembic revisions `r1`, `r2`, … in a chain, each given as the body of `upgrade()`.
    fn alembic(revisions: &[&str]) -> Vec<Rendered> {
        let mut files = vec![("alembic.ini".to_string(), "[alembic]\nscript_location = migrations\n".to_string())];
        for (i, body) in revisions.iter().enumerate() {
            let down = if i == 0 { "None".to_string() } else { format!("\"r{i}\"") };
            let text = format!(
                "from alembic import op\nimport sqlalchemy as sa\nfrom sqlalchemy.dialects import postgresql\n\n\
                 revision = \"r{}\"\ndown_revision = {down}\n\n\ndef upgrade():\n{body}\n",
                i + 1
            );
            files.push((format!("migrations/versions/r{}_step.py", i + 1), text));
        }
        render_files(&files)
    }

    /// What an op should give: these statements, or a refusal whose reason contains the text.
    enum Expect<'a> {
        Sql(&'a [&'a str]),
        Refused(&'a str),
    }
    use Expect::{Refused, Sql};

    /// Compares the ops of `migration` (all ops when `None`) with `expected`, in order, and
    /// checks PostgreSQL's parser accepts every statement as exactly one statement.
    fn check(rendered: &[Rendered], migration: Option<&str>, expected: &[(&str, Expect)]) {
        let ops: Vec<&Rendered> = rendered.iter().filter(|r| migration.is_none_or(|m| r.0 == m)).collect();
        let shown: Vec<String> = ops.iter().map(|r| format!("{} {} {:?}", r.0, r.1, r.2)).collect();
        assert_eq!(ops.len(), expected.len(), "ops:\n{}", shown.join("\n"));
        for ((id, tag, result), (expected_tag, expect)) in ops.into_iter().zip(expected) {
            assert_eq!(tag, expected_tag, "{id}: {result:?}");
            match (result, expect) {
                (Ok(sql), Sql(expected)) => {
                    assert_eq!(sql, expected, "{id} {tag}");
                    for statement in sql {
                        let parsed = pg_query::parse(statement, pg_query::ParserOptions::DEFAULT);
                        let count = parsed.as_ref().map(|p| p.protobuf.stmts.len());
                        assert_eq!(count.as_ref().ok(), Some(&1), "{statement}: {parsed:?}");
                    }
                }
                (Err(why), Refused(part)) => assert!(why.contains(part), "{id} {tag}: {why}"),
                (result, _) => panic!("{id} {tag}: unexpected {result:?}"),
            }
        }
    }

    const SHOP: &[(bool, &str)] = &[
        (
            true,
            r#"        migrations.CreateModel(
            name="Author",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ("handle", models.SlugField(unique=True)),
                ("name", models.CharField(max_length=100, null=True)),
                ("age", models.PositiveIntegerField()),
                ("joined", models.DateTimeField(auto_now_add=True)),
                ("score", models.DecimalField(max_digits=10, decimal_places=2, db_default=0)),
                ("tags", models.JSONField(default=dict)),
            ],
        ),
        migrations.CreateModel(
            name="Book",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ("title", models.CharField(max_length=200, db_index=True)),
                ("pages", models.IntegerField()),
                ("author", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="shop.author")),
            ],
        ),"#,
        ),
        (
            true,
            r#"        migrations.AddField(model_name="author", name="bio", field=models.TextField(null=True)),
        migrations.AddField(model_name="author", name="nick", field=models.CharField(max_length=20, default="it's")),
        migrations.AddField(model_name="author", name="rank", field=models.PositiveSmallIntegerField(default=1)),
        migrations.AddField(model_name="author", name="seen", field=models.DateTimeField(db_default=Now())),
        migrations.AddField(
            model_name="book",
            name="editor",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, to="shop.author"),
        ),"#,
        ),
        (
            true,
            r#"        migrations.AlterField(model_name="book", name="pages", field=models.BigIntegerField()),
        migrations.AlterField(model_name="author", name="name", field=models.CharField(max_length=150, null=True)),
        migrations.AlterField(model_name="author", name="name", field=models.CharField(max_length=150)),
        migrations.AlterField(model_name="author", name="name", field=models.TextField(null=True)),
        migrations.AlterField(
            model_name="author",
            name="score",
            field=models.DecimalField(max_digits=10, decimal_places=2, db_default=5),
        ),"#,
        ),
        (
            true,
            r#"        migrations.RenameField(model_name="author", old_name="nick", new_name="nickname"),
        migrations.AlterModelTable(name="book", table="library_book"),
        migrations.AddIndex(model_name="author", index=models.Index(fields=["name"], name="author_name_idx")),
        migrations.AddIndex(
            model_name="author",
            index=models.Index(fields=["handle"], name="author_handle_inc", include=["age"]),
        ),
        migrations.RenameIndex(model_name="author", new_name="author_name_ix", old_name="author_name_idx"),
        migrations.RemoveIndex(model_name="author", name="author_handle_inc"),
        migrations.AddConstraint(
            model_name="author",
            constraint=models.UniqueConstraint(fields=["name", "age"], name="author_name_age_uniq"),
        ),
        migrations.AddConstraint(
            model_name="author",
            constraint=models.CheckConstraint(condition=Q(name__isnull=False), name="author_name_nn"),
        ),
        migrations.AddConstraint(
            model_name="author",
            constraint=models.UniqueConstraint(fields=["nickname"], name="author_nick_uniq", include=["age"]),
        ),
        migrations.RemoveConstraint(model_name="author", name="author_name_age_uniq"),
        migrations.RemoveConstraint(model_name="author", name="author_nick_uniq"),"#,
        ),
        (
            false,
            r#"        AddIndexConcurrently(
            model_name="author",
            index=GinIndex(fields=["tags"], name="author_tags_gin"),
        ),
        RemoveIndexConcurrently(model_name="author", name="author_tags_gin"),"#,
        ),
        (
            true,
            r#"        migrations.RemoveField(model_name="book", name="editor"),
        migrations.RemoveField(model_name="author", name="bio"),
        migrations.DeleteModel(name="Book"),"#,
        ),
    ];

    const FK_SHOP_BOOK_EDITOR: &str = "shop_book_editor_id_71eff3c6_fk_shop_author_id";

    #[test]
    fn django_create_model_writes_the_table_its_like_indexes_and_field_indexes() {
        let rendered = django(&SHOP[..1]);
        check(
            &rendered,
            Some("shop.0001_step"),
            &[
                (
                    "CreateTable",
                    Sql(&[
                        "CREATE TABLE \"shop_author\" (\"id\" bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY, \"handle\" varchar(50) NOT NULL UNIQUE, \"name\" varchar(100) NULL, \"age\" integer NOT NULL CHECK (\"age\" >= 0), \"joined\" timestamp with time zone NOT NULL, \"score\" numeric(10, 2) DEFAULT 0 NOT NULL, \"tags\" jsonb NOT NULL)",
                        "CREATE INDEX \"shop_author_handle_060c933f_like\" ON \"shop_author\" (\"handle\" varchar_pattern_ops)",
                    ]),
                ),
                (
                    "CreateTable",
                    Sql(&[
                        "CREATE TABLE \"shop_book\" (\"id\" bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY, \"title\" varchar(200) NOT NULL, \"pages\" integer NOT NULL, \"author_id\" bigint NOT NULL)",
                        "CREATE INDEX \"shop_book_title_1f19d72a_like\" ON \"shop_book\" (\"title\" varchar_pattern_ops)",
                    ]),
                ),
                (
                    "AddConstraint",
                    Sql(&[
                        "ALTER TABLE \"shop_book\" ADD CONSTRAINT \"shop_book_author_id_82b8ab51_fk_shop_author_id\" FOREIGN KEY (\"author_id\") REFERENCES \"shop_author\" (\"id\") DEFERRABLE INITIALLY DEFERRED",
                    ]),
                ),
                ("CreateIndex", Sql(&["CREATE INDEX \"shop_book_title_1f19d72a\" ON \"shop_book\" (\"title\")"])),
                ("CreateIndex", Sql(&["CREATE INDEX \"shop_book_author_id_82b8ab51\" ON \"shop_book\" (\"author_id\")"])),
            ],
        );
    }

    #[test]
    fn django_add_field_writes_defaults_checks_and_inline_foreign_keys() {
        let rendered = django(&SHOP[..2]);
        let fk = format!(
            "ALTER TABLE \"shop_book\" ADD COLUMN \"editor_id\" bigint NULL CONSTRAINT \"{FK_SHOP_BOOK_EDITOR}\" REFERENCES \"shop_author\"(\"id\") DEFERRABLE INITIALLY DEFERRED"
        );
        let immediate = format!("SET CONSTRAINTS \"{FK_SHOP_BOOK_EDITOR}\" IMMEDIATE");
        check(
            &rendered,
            Some("shop.0002_step"),
            &[
                ("AddColumn", Sql(&["ALTER TABLE \"shop_author\" ADD COLUMN \"bio\" text NULL"])),
                ("AddColumn", Sql(&["ALTER TABLE \"shop_author\" ADD COLUMN \"nick\" varchar(20) DEFAULT 'it''s' NOT NULL"])),
                ("SetDefault", Sql(&["ALTER TABLE \"shop_author\" ALTER COLUMN \"nick\" DROP DEFAULT"])),
                (
                    "AddColumn",
                    Sql(&["ALTER TABLE \"shop_author\" ADD COLUMN \"rank\" smallint DEFAULT 1 NOT NULL CHECK (\"rank\" >= 0)"]),
                ),
                ("SetDefault", Sql(&["ALTER TABLE \"shop_author\" ALTER COLUMN \"rank\" DROP DEFAULT"])),
                (
                    "AddColumn",
                    Sql(&["ALTER TABLE \"shop_author\" ADD COLUMN \"seen\" timestamp with time zone DEFAULT (STATEMENT_TIMESTAMP()) NOT NULL"]),
                ),
                // Django sends these two as one string: `…DEFERRED; SET CONSTRAINTS … IMMEDIATE`.
                ("AddColumn", Sql(&[fk.as_str(), immediate.as_str()])),
                ("CreateIndex", Sql(&["CREATE INDEX \"shop_book_editor_id_71eff3c6\" ON \"shop_book\" (\"editor_id\")"])),
            ],
        );
    }

    #[test]
    fn django_alter_field_casts_only_when_the_data_type_changes() {
        let rendered = django(&SHOP[..3]);
        check(
            &rendered,
            Some("shop.0003_step"),
            &[
                (
                    "AlterColumnType",
                    Sql(&["ALTER TABLE \"shop_book\" ALTER COLUMN \"pages\" TYPE bigint USING \"pages\"::bigint"]),
                ),
                ("AlterColumnType", Sql(&["ALTER TABLE \"shop_author\" ALTER COLUMN \"name\" TYPE varchar(150)"])),
                ("SetNotNull", Sql(&["ALTER TABLE \"shop_author\" ALTER COLUMN \"name\" SET NOT NULL"])),
                // Django combines one AlterField's actions into one ALTER TABLE:
                // `ALTER TABLE "shop_author" ALTER COLUMN "name" TYPE text USING "name"::text, ALTER COLUMN "name" DROP NOT NULL`.
                (
                    "AlterColumnType",
                    Sql(&["ALTER TABLE \"shop_author\" ALTER COLUMN \"name\" TYPE text USING \"name\"::text"]),
                ),
                ("DropNotNull", Sql(&["ALTER TABLE \"shop_author\" ALTER COLUMN \"name\" DROP NOT NULL"])),
                ("SetDefault", Sql(&["ALTER TABLE \"shop_author\" ALTER COLUMN \"score\" SET DEFAULT 5"])),
            ],
        );
    }

    #[test]
    fn django_renames_indexes_and_constraints_match_django() {
        let rendered = django(&SHOP[..4]);
        check(
            &rendered,
            Some("shop.0004_step"),
            &[
                ("RenameColumn", Sql(&["ALTER TABLE \"shop_author\" RENAME COLUMN \"nick\" TO \"nickname\""])),
                ("RenameTable", Sql(&["ALTER TABLE \"shop_book\" RENAME TO \"library_book\""])),
                ("CreateIndex", Sql(&["CREATE INDEX \"author_name_idx\" ON \"shop_author\" (\"name\")"])),
                (
                    "CreateIndex",
                    Sql(&["CREATE INDEX \"author_handle_inc\" ON \"shop_author\" (\"handle\") INCLUDE (\"age\")"]),
                ),
                ("RenameIndex", Sql(&["ALTER INDEX \"author_name_idx\" RENAME TO \"author_name_ix\""])),
                ("DropIndex", Sql(&["DROP INDEX IF EXISTS \"author_handle_inc\""])),
                (
                    "AddConstraint",
                    Sql(&["ALTER TABLE \"shop_author\" ADD CONSTRAINT \"author_name_age_uniq\" UNIQUE (\"name\", \"age\")"]),
                ),
                (
                    "AddConstraint",
                    Sql(&["ALTER TABLE \"shop_author\" ADD CONSTRAINT \"author_name_nn\" CHECK (\"name\" IS NOT NULL)"]),
                ),
                (
                    "CreateIndex",
                    Sql(&["CREATE UNIQUE INDEX \"author_nick_uniq\" ON \"shop_author\" (\"nickname\") INCLUDE (\"age\")"]),
                ),
                ("DropConstraint", Sql(&["ALTER TABLE \"shop_author\" DROP CONSTRAINT \"author_name_age_uniq\""])),
                ("DropConstraint", Sql(&["DROP INDEX IF EXISTS \"author_nick_uniq\""])),
            ],
        );
    }

    #[test]
    fn django_concurrent_index_operations_match_django() {
        let rendered = django(&SHOP[..5]);
        check(
            &rendered,
            Some("shop.0005_step"),
            &[
                (
                    "CreateIndex",
                    Sql(&["CREATE INDEX CONCURRENTLY \"author_tags_gin\" ON \"shop_author\" USING gin (\"tags\")"]),
                ),
                ("DropIndex", Sql(&["DROP INDEX CONCURRENTLY IF EXISTS \"author_tags_gin\""])),
            ],
        );
    }

    #[test]
    fn django_remove_field_drops_its_foreign_keys_first() {
        let rendered = django(SHOP);
        let immediate = format!("SET CONSTRAINTS \"{FK_SHOP_BOOK_EDITOR}\" IMMEDIATE");
        let drop_fk = format!("ALTER TABLE \"library_book\" DROP CONSTRAINT \"{FK_SHOP_BOOK_EDITOR}\"");
        check(
            &rendered,
            Some("shop.0006_step"),
            &[
                (
                    "DropColumn",
                    Sql(&[
                        immediate.as_str(),
                        drop_fk.as_str(),
                        "ALTER TABLE \"library_book\" DROP COLUMN \"editor_id\"",
                    ]),
                ),
                ("DropColumn", Sql(&["ALTER TABLE \"shop_author\" DROP COLUMN \"bio\""])),
                ("DropTable", Sql(&["DROP TABLE \"library_book\" CASCADE"])),
            ],
        );
    }

    #[test]
    fn django_operations_decided_at_run_time_are_refused() {
        let rendered = django(&[(
            true,
            r#"        migrations.CreateModel(
            name="Doc",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("body", app.fields.EncryptedTextField()),
            ],
        ),
        migrations.AddField(model_name="doc", name="key", field=models.UUIDField(default=uuid.uuid4)),
        migrations.AddField(model_name="doc", name="made", field=models.DateTimeField(auto_now_add=True)),
        migrations.AddConstraint(
            model_name="doc",
            constraint=models.CheckConstraint(condition=Q(id__gt=0), name="doc_id_positive"),
        ),
        migrations.AddIndex(
            model_name="doc",
            index=models.Index(fields=["key"], name="doc_key_made", condition=Q(made__isnull=False)),
        ),
        migrations.RunPython(migrations.RunPython.noop),
        migrations.RunSQL("CREATE INDEX doc_made ON shop_doc (made)"),"#,
        )]);
        check(
            &rendered,
            None,
            &[
                ("CreateTable", Refused("custom field class `EncryptedTextField`")),
                ("AddColumn", Refused("uuid.uuid4")),
                ("SetDefault", Sql(&["ALTER TABLE \"shop_doc\" ALTER COLUMN \"key\" DROP DEFAULT"])),
                ("AddColumn", Refused("auto_now_add")),
                ("SetDefault", Sql(&["ALTER TABLE \"shop_doc\" ALTER COLUMN \"made\" DROP DEFAULT"])),
                (
                    "AddConstraint",
                    Sql(&["ALTER TABLE \"shop_doc\" ADD CONSTRAINT \"doc_id_positive\" CHECK (\"id\" > 0)"]),
                ),
                ("CreateIndex", Refused("condition")),
                ("Other", Sql(&[])),
                ("CreateIndex", Sql(&["CREATE INDEX doc_made ON shop_doc (made)"])),
            ],
        );
    }

    #[test]
    fn alembic_create_table_matches_sqlalchemy() {
        let rendered = alembic(&[r#"    op.create_table(
        "author",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("handle", sa.String(50), nullable=False, unique=True),
        sa.Column("name", sa.Text()),
        sa.Column("score", sa.Numeric(10, 2), server_default=sa.text("0")),
        sa.Column("born", sa.Date()),
        sa.Column("tags", postgresql.ARRAY(sa.String(20))),
        sa.Column("seen", sa.DateTime(), server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        "book",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), primary_key=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), index=True),
        sa.ForeignKeyConstraint(["author_id"], ["author.id"], name="fk_book_author", ondelete="CASCADE", deferrable=True, initially="DEFERRED"),
        sa.CheckConstraint("length(title) > 0", name="ck_book_title"),
        sa.UniqueConstraint("author_id", "title", name="uq_book"),
    )"#]);
        check(
            &rendered,
            None,
            &[
                (
                    "CreateTable",
                    Sql(&["CREATE TABLE \"author\" (\"id\" SERIAL NOT NULL, \"handle\" VARCHAR(50) NOT NULL, \"name\" TEXT, \"score\" NUMERIC(10, 2) DEFAULT 0, \"born\" DATE, \"tags\" VARCHAR(20)[], \"seen\" TIMESTAMP WITHOUT TIME ZONE DEFAULT now() NOT NULL, PRIMARY KEY (\"id\"), UNIQUE (\"handle\"))"]),
                ),
                (
                    "CreateTable",
                    Sql(&["CREATE TABLE \"book\" (\"id\" BIGINT GENERATED ALWAYS AS IDENTITY, \"author_id\" INTEGER NOT NULL, \"title\" VARCHAR(200), PRIMARY KEY (\"id\"), CONSTRAINT \"fk_book_author\" FOREIGN KEY(\"author_id\") REFERENCES \"author\" (\"id\") ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED, CONSTRAINT \"ck_book_title\" CHECK (length(title) > 0), CONSTRAINT \"uq_book\" UNIQUE (\"author_id\", \"title\"))"]),
                ),
                ("CreateIndex", Sql(&["CREATE INDEX \"ix_book_title\" ON \"book\" (\"title\")"])),
            ],
        );
    }

    #[test]
    fn alembic_column_operations_match_alembic() {
        let rendered = alembic(&[
            r#"    op.create_table("author", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("name", sa.Text()), sa.Column("born", sa.Date()))
    op.create_table("book", sa.Column("id", sa.Integer(), primary_key=True))"#,
            r#"    op.add_column("author", sa.Column("bio", sa.Text(), server_default="n/a"))
    op.add_column("book", sa.Column("rank", sa.SmallInteger(), nullable=False, server_default="1"))
    op.drop_column("author", "born")
    op.alter_column("author", "name", type_=sa.String(100), postgresql_using="left(name, 100)")
    op.alter_column("author", "name", nullable=False)
    op.alter_column("author", "name", nullable=True)
    op.alter_column("author", "bio", server_default=sa.text("'none'"))
    op.alter_column("author", "bio", server_default=None)
    op.alter_column("author", "bio", new_column_name="about")"#,
        ]);
        check(
            &rendered,
            Some("r2"),
            &[
                ("AddColumn", Sql(&["ALTER TABLE \"author\" ADD COLUMN \"bio\" TEXT DEFAULT 'n/a'"])),
                ("AddColumn", Sql(&["ALTER TABLE \"book\" ADD COLUMN \"rank\" SMALLINT DEFAULT '1' NOT NULL"])),
                ("DropColumn", Sql(&["ALTER TABLE \"author\" DROP COLUMN \"born\""])),
                (
                    "AlterColumnType",
                    Sql(&["ALTER TABLE \"author\" ALTER COLUMN \"name\" TYPE VARCHAR(100) USING left(name, 100)"]),
                ),
                ("SetNotNull", Sql(&["ALTER TABLE \"author\" ALTER COLUMN \"name\" SET NOT NULL"])),
                ("DropNotNull", Sql(&["ALTER TABLE \"author\" ALTER COLUMN \"name\" DROP NOT NULL"])),
                ("SetDefault", Sql(&["ALTER TABLE \"author\" ALTER COLUMN \"bio\" SET DEFAULT 'none'"])),
                ("SetDefault", Sql(&["ALTER TABLE \"author\" ALTER COLUMN \"bio\" DROP DEFAULT"])),
                ("RenameColumn", Sql(&["ALTER TABLE \"author\" RENAME \"bio\" TO \"about\""])),
            ],
        );
    }

    #[test]
    fn alembic_index_and_constraint_operations_match_alembic() {
        let rendered = alembic(&[
            r#"    op.create_table("author", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("handle", sa.String(50)), sa.Column("name", sa.Text()), sa.Column("score", sa.Integer()), sa.Column("tags", postgresql.ARRAY(sa.Text())), sa.Column("seen", sa.DateTime()))
    op.create_table("book", sa.Column("id", sa.Integer(), primary_key=True))"#,
            r#"    op.create_index("ix_author_lower_handle", "author", [sa.text("lower(handle)")], unique=True)
    op.create_index("ix_author_tags", "author", ["tags"], postgresql_using="gin")
    op.create_index("ix_author_seen", "author", ["seen"], postgresql_include=["score"], postgresql_where=sa.text("seen IS NOT NULL"))
    op.create_unique_constraint("uq_author_name", "author", ["name"])
    op.create_check_constraint("ck_author_name", "author", "name IS NOT NULL")
    op.drop_constraint("uq_author_name", "author", type_="unique")
    op.rename_table("book", "volume")
    op.drop_index("ix_author_seen", table_name="author")
    op.drop_table("volume")"#,
        ]);
        check(
            &rendered,
            Some("r2"),
            &[
                (
                    "CreateIndex",
                    Sql(&["CREATE UNIQUE INDEX \"ix_author_lower_handle\" ON \"author\" (lower(handle))"]),
                ),
                ("CreateIndex", Sql(&["CREATE INDEX \"ix_author_tags\" ON \"author\" USING gin (\"tags\")"])),
                (
                    "CreateIndex",
                    Sql(&["CREATE INDEX \"ix_author_seen\" ON \"author\" (\"seen\") INCLUDE (\"score\") WHERE seen IS NOT NULL"]),
                ),
                ("AddConstraint", Sql(&["ALTER TABLE \"author\" ADD CONSTRAINT \"uq_author_name\" UNIQUE (\"name\")"])),
                // Alembic sends the condition as written.
                ("AddConstraint", Sql(&["ALTER TABLE \"author\" ADD CONSTRAINT \"ck_author_name\" CHECK (name IS NOT NULL)"])),
                ("DropConstraint", Sql(&["ALTER TABLE \"author\" DROP CONSTRAINT \"uq_author_name\""])),
                ("RenameTable", Sql(&["ALTER TABLE \"book\" RENAME TO \"volume\""])),
                ("DropIndex", Sql(&["DROP INDEX \"ix_author_seen\""])),
                ("DropTable", Sql(&["DROP TABLE \"volume\""])),
            ],
        );
    }

    #[test]
    fn alembic_operations_decided_at_run_time_are_refused() {
        let rendered = alembic(&[
            r#"    op.create_table("t", sa.Column("id", sa.BigInteger(), sa.Identity(start=5), primary_key=True))
    op.add_column("t", sa.Column("secret", app.types.Encrypted()))
    sa.Enum("a", "b", name="mood").create(op.get_bind())
    op.create_check_constraint("ck_t_id", "t", sa.column("id") > 0)
    op.create_foreign_key("fk_t_t", "t", "t", ["id"], ["id"])
    op.drop_index("ix_unknown")
    op.drop_index("ix_gone", if_exists=True, postgresql_concurrently=True)
    op.execute("UPDATE t SET id = id")"#,
        ]);
        check(
            &rendered,
            None,
            &[
                ("CreateTable", Refused("Identity() with sequence options")),
                ("AddColumn", Refused("`app.types.Encrypted`")),
                ("CreateEnum", Sql(&["CREATE TYPE \"mood\" AS ENUM ('a', 'b')"])),
                ("AddConstraint", Refused("CHECK condition built from SQLAlchemy expressions")),
                (
                    "AddConstraint",
                    Sql(&["ALTER TABLE \"t\" ADD CONSTRAINT \"fk_t_t\" FOREIGN KEY(\"id\") REFERENCES \"t\" (\"id\")"]),
                ),
                // Alembic writes IF EXISTS only when asked; the index need not be known.
                ("DropIndex", Sql(&["DROP INDEX \"ix_unknown\""])),
                ("DropIndex", Sql(&["DROP INDEX CONCURRENTLY IF EXISTS \"ix_gone\""])),
                ("DataChange", Sql(&["UPDATE t SET id = id"])),
            ],
        );
    }

    /// The bundled fixtures, op by op: what is rendered (checked against the SQL Django and
    /// Alembic sent for them) and why the rest is refused.
    #[test]
    fn bundled_fixtures_render_or_say_why() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let timeout = "SET lock_timeout = '3s'";
        let fk = "shop_order_account_id_01539d85_fk_accounts_account_id";
        let set_fk = format!("SET CONSTRAINTS \"{fk}\" IMMEDIATE");
        let drop_fk = format!("ALTER TABLE \"shop_order\" DROP CONSTRAINT \"{fk}\"");
        let add_fk = format!(
            "ALTER TABLE \"shop_order\" ADD CONSTRAINT \"{fk}\" FOREIGN KEY (\"account_id\") REFERENCES \"accounts_account\" (\"id\") DEFERRABLE INITIALLY DEFERRED"
        );
        check(
            &render(&root.join("fixtures/django")),
            None,
            &[
                (
                    "CreateTable",
                    Sql(&["CREATE TABLE \"accounts_account\" (\"id\" bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY, \"email\" varchar(100) NOT NULL, \"name\" varchar(50) NULL, \"created_at\" timestamp with time zone NOT NULL)"]),
                ),
                ("AddColumn", Sql(&["ALTER TABLE \"accounts_account\" ADD COLUMN \"bio\" text NULL"])),
                ("AlterColumnType", Sql(&["ALTER TABLE \"accounts_account\" ALTER COLUMN \"email\" TYPE varchar(255)"])),
                ("Other", Sql(&[])),
                ("SetNotNull", Sql(&["ALTER TABLE \"accounts_account\" ALTER COLUMN \"name\" SET NOT NULL"])),
                (
                    "CreateTable",
                    Sql(&[
                        "CREATE TABLE \"shop_product\" (\"id\" bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY, \"sku\" varchar(32) NOT NULL UNIQUE, \"price\" numeric(10, 2) NOT NULL)",
                        "CREATE INDEX \"shop_product_sku_20049d15_like\" ON \"shop_product\" (\"sku\" varchar_pattern_ops)",
                    ]),
                ),
                (
                    "CreateTable",
                    Sql(&["CREATE TABLE \"shop_order\" (\"id\" bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY, \"quantity\" integer NOT NULL, \"account_id\" bigint NOT NULL, \"product_id\" bigint NOT NULL)"]),
                ),
                ("AddConstraint", Sql(&[add_fk.as_str()])),
                (
                    "AddConstraint",
                    Sql(&["ALTER TABLE \"shop_order\" ADD CONSTRAINT \"shop_order_product_id_0eef2166_fk_shop_product_id\" FOREIGN KEY (\"product_id\") REFERENCES \"shop_product\" (\"id\") DEFERRABLE INITIALLY DEFERRED"]),
                ),
                ("CreateIndex", Sql(&["CREATE INDEX \"shop_order_account_id_01539d85\" ON \"shop_order\" (\"account_id\")"])),
                ("CreateIndex", Sql(&["CREATE INDEX \"shop_order_product_id_0eef2166\" ON \"shop_order\" (\"product_id\")"])),
                ("AlterColumnType", Sql(&["ALTER TABLE \"shop_product\" ALTER COLUMN \"price\" TYPE numeric(12, 2)"])),
                ("AddColumn", Sql(&["ALTER TABLE \"shop_order\" ADD COLUMN \"note\" varchar(200) DEFAULT '' NOT NULL"])),
                ("SetDefault", Sql(&["ALTER TABLE \"shop_order\" ALTER COLUMN \"note\" DROP DEFAULT"])),
                ("AddColumn", Sql(&["ALTER TABLE \"shop_order\" ADD COLUMN \"channel\" varchar(20) DEFAULT 'web' NOT NULL"])),
                (
                    "AlterColumnType",
                    Sql(&["ALTER TABLE \"shop_order\" ALTER COLUMN \"quantity\" TYPE bigint USING \"quantity\"::bigint"]),
                ),
                ("DropConstraint", Sql(&[set_fk.as_str(), drop_fk.as_str()])),
                ("DropIndex", Sql(&["DROP INDEX IF EXISTS \"shop_order_account_id_01539d85\""])),
                ("AddConstraint", Sql(&[add_fk.as_str()])),
                (
                    "CreateIndex",
                    Sql(&["CREATE INDEX CONCURRENTLY \"order_product_qty_idx\" ON \"shop_order\" (\"product_id\", \"quantity\" DESC)"]),
                ),
                ("AddColumn", Sql(&["ALTER TABLE \"shop_product\" ADD COLUMN \"stock\" integer NULL"])),
                ("DataChange", Refused("RunPython")),
                ("CreateIndex", Sql(&["CREATE INDEX \"product_stock_idx\" ON \"shop_product\" (\"stock\")"])),
                ("CreateIndex", Sql(&["CREATE INDEX accounts_account_created_idx ON accounts_account (created_at)"])),
            ],
        );
        check(
            &render(&root.join("fixtures/alembic")),
            None,
            &[
                ("CreateEnum", Sql(&["CREATE TYPE \"user_status\" AS ENUM ('active', 'disabled')"])),
                (
                    "CreateTable",
                    Sql(&["CREATE TABLE \"users\" (\"id\" SERIAL NOT NULL, \"email\" VARCHAR(255) NOT NULL, \"name\" VARCHAR(50), \"status\" \"user_status\" DEFAULT 'active' NOT NULL, \"created_at\" TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, PRIMARY KEY (\"id\"), UNIQUE (\"email\"))"]),
                ),
                (
                    "CreateTable",
                    Sql(&["CREATE TABLE \"accounts\" (\"id\" BIGINT GENERATED BY DEFAULT AS IDENTITY, \"user_id\" INTEGER NOT NULL, \"balance\" INTEGER DEFAULT '0' NOT NULL, \"settings\" JSONB, PRIMARY KEY (\"id\"), FOREIGN KEY(\"user_id\") REFERENCES \"users\" (\"id\") ON DELETE CASCADE)"]),
                ),
                ("CreateIndex", Sql(&["CREATE INDEX \"ix_accounts_user_id\" ON \"accounts\" (\"user_id\")"])),
                ("Setting", Sql(&[timeout])),
                ("AddColumn", Sql(&["ALTER TABLE \"users\" ADD COLUMN \"phone\" VARCHAR(20)"])),
                ("AlterColumnType", Sql(&["ALTER TABLE \"users\" ALTER COLUMN \"name\" TYPE VARCHAR(100)"])),
                ("Setting", Sql(&[timeout])),
                ("AlterColumnType", Sql(&["ALTER TABLE \"accounts\" ALTER COLUMN \"balance\" TYPE BIGINT"])),
                ("Transaction", Sql(&["COMMIT"])),
                ("Setting", Sql(&[timeout])),
                (
                    "CreateIndex",
                    Sql(&["CREATE INDEX CONCURRENTLY IF NOT EXISTS \"ix_users_name\" ON \"users\" (\"name\")"]),
                ),
                ("Setting", Sql(&[timeout])),
                (
                    "CreateIndex",
                    Sql(&["CREATE INDEX CONCURRENTLY \"ix_accounts_balance\" ON \"accounts\" (\"balance\") WHERE balance > 0"]),
                ),
                ("Setting", Sql(&[timeout])),
                ("DataChange", Sql(&["UPDATE users\n           SET name = split_part(email, '@', 1)\n         WHERE name IS NULL"])),
                ("SetNotNull", Sql(&["ALTER TABLE \"users\" ALTER COLUMN \"name\" SET NOT NULL"])),
                ("Setting", Sql(&[timeout])),
                ("AddColumn", Sql(&["ALTER TABLE \"accounts\" ADD COLUMN \"currency\" VARCHAR(3) DEFAULT 'EUR' NOT NULL"])),
                (
                    "AddConstraint",
                    Sql(&["ALTER TABLE \"accounts\" ADD CONSTRAINT \"fk_accounts_owner\" FOREIGN KEY(\"user_id\") REFERENCES \"users\" (\"id\") NOT VALID"]),
                ),
                (
                    "AddConstraint",
                    Sql(&["ALTER TABLE \"accounts\" ADD CONSTRAINT \"ck_accounts_currency\" CHECK (currency IS NOT NULL)"]),
                ),
                ("Setting", Sql(&[timeout])),
                ("ValidateConstraint", Sql(&["ALTER TABLE accounts VALIDATE CONSTRAINT fk_accounts_owner"])),
                (
                    "CreateTable",
                    Sql(&["CREATE TABLE \"audit_log\" (\"id\" BIGINT GENERATED ALWAYS AS IDENTITY, \"user_id\" INTEGER, \"payload\" JSONB DEFAULT '{}'::jsonb NOT NULL, \"request_id\" UUID DEFAULT gen_random_uuid(), PRIMARY KEY (\"id\"), FOREIGN KEY(\"user_id\") REFERENCES \"users\" (\"id\"))"]),
                ),
                ("AddColumn", Sql(&["ALTER TABLE \"users\" ADD COLUMN \"api_token\" UUID DEFAULT gen_random_uuid()"])),
                ("DropColumn", Sql(&["ALTER TABLE \"users\" DROP COLUMN \"phone\""])),
                ("Other", Sql(&["SELECT relname FROM pg_class WHERE relispartition"])),
                ("Opaque", Refused("fetch_partitions")),
                ("Opaque", Refused("f-string")),
            ],
        );
    }

    /// Gives the op one statement that depends on the database.
    #[derive(Debug)]
    struct Lookup(SentStatement);

    impl crate::ir::Sender for Lookup {
        fn sent(&self, _: &crate::ir::OpKind) -> Result<Vec<SentStatement>, String> {
            Ok(vec![self.0.clone()])
        }
    }

    #[test]
    fn lookups_the_catalog_cannot_answer_are_refused() {
        use crate::catalog::Origin;
        use crate::ir::{Op, OpKind, QualifiedName, Span};

        let table = QualifiedName::unqualified("shop_book");
        let op = |statement| {
            let other = OpKind::Other { tag: "a lookup".into() };
            Op::new(other, Span::default(), 0).sending(std::sync::Arc::new(Lookup(statement)))
        };
        // A table the migrations only alter: the catalog knows part of it.
        let mut catalog = Catalog::default();
        let alter = OpKind::DropNotNull { table: table.clone(), column: "title".into() };
        catalog.apply(&alter, Origin { migration: 0, statement: 0 });
        let fks = SentStatement::DropForeignKeysOn { table: table.clone(), column: "editor_id".into() };
        let refused = statements(&op(fks), &catalog).expect_err("the table is not known whole");
        assert!(refused.contains("does not know all of `shop_book`"), "{refused}");
        let named = SentStatement::DropNamed { table, name: "book_uniq".into() };
        let refused = statements(&op(named), &catalog).expect_err("no such constraint");
        assert!(refused.contains("`book_uniq` on `shop_book`") && refused.contains("no such constraint"), "{refused}");
    }
}
