//! Which migrations already ran, from the runners' own history tables: Django's
//! `django_migrations`, Alembic's `alembic_version` (heads; the revision graph gives the rest),
//! golang-migrate's and dbmate's `schema_migrations`, goose, Flyway, diesel, sqlx, and
//! lockgate's own `lockgate.migration_history`.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::{LiveError, Session};
use crate::ir::{quote_relation, Framework, Migration, QualifiedName};
use crate::source::layout::{Layout, MigrationFile};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Runner {
    Django,
    Alembic,
    GolangMigrate,
    Dbmate,
    Goose,
    Flyway,
    Diesel,
    Sqlx,
    Lockgate,
}

impl Runner {
    fn framework(self) -> Framework {
        match self {
            Runner::Django => Framework::Django,
            Runner::Alembic => Framework::Alembic,
            _ => Framework::Sql,
        }
    }
}

/// One history table and what it says ran.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryTable {
    pub runner: Runner,
    /// `schema.table`.
    pub table: String,
    /// Django `app.name`; Alembic heads; versions as the runner stores them. For
    /// golang-migrate, the one current version.
    pub applied: Vec<String>,
    /// golang-migrate's `dirty` flag: the last migration failed halfway.
    #[serde(default)]
    pub dirty: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct History {
    pub tables: Vec<HistoryTable>,
}

/// How one history table is recognised and read.
struct Source {
    runner: Runner,
    schema: Option<&'static str>,
    table: &'static str,
    /// A column the table must have (tells golang-migrate's `schema_migrations` from dbmate's).
    column: Option<&'static str>,
    query: &'static str,
}

const SOURCES: &[Source] = &[
    Source {
        runner: Runner::Django,
        schema: None,
        table: "django_migrations",
        column: None,
        query: "SELECT app || '.' || name, false FROM {t}",
    },
    Source {
        runner: Runner::Alembic,
        schema: None,
        table: "alembic_version",
        column: None,
        query: "SELECT version_num::text, false FROM {t}",
    },
    Source {
        runner: Runner::GolangMigrate,
        schema: None,
        table: "schema_migrations",
        column: Some("dirty"),
        query: "SELECT version::text, dirty FROM {t}",
    },
    Source {
        runner: Runner::Dbmate,
        schema: None,
        table: "schema_migrations",
        column: None,
        query: "SELECT version::text, false FROM {t}",
    },
    Source {
        runner: Runner::Goose,
        schema: None,
        table: "goose_db_version",
        column: None,
        query: "SELECT version_id::text, false FROM (SELECT DISTINCT ON (version_id) version_id, is_applied FROM {t} \
                ORDER BY version_id, id DESC) latest WHERE is_applied AND version_id > 0",
    },
    Source {
        runner: Runner::Flyway,
        schema: None,
        table: "flyway_schema_history",
        column: None,
        query: "SELECT version, false FROM {t} WHERE success AND version IS NOT NULL",
    },
    Source {
        runner: Runner::Diesel,
        schema: None,
        table: "__diesel_schema_migrations",
        column: None,
        query: "SELECT version::text, false FROM {t}",
    },
    Source {
        runner: Runner::Sqlx,
        schema: None,
        table: "_sqlx_migrations",
        column: None,
        query: "SELECT version::text, false FROM {t} WHERE success",
    },
    Source {
        runner: Runner::Lockgate,
        schema: Some("lockgate"),
        table: "migration_history",
        column: None,
        query: "SELECT id, false FROM {t} WHERE finished_at IS NOT NULL",
    },
];

impl History {
    pub fn read(session: &Session) -> Result<History, LiveError> {
        let names: Vec<&str> = SOURCES.iter().map(|s| s.table).collect();
        let found = session.query(
            "history tables",
            "SELECT n.nspname::text, c.relname::text, array_agg(a.attname::text) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
             WHERE c.relkind IN ('r', 'p') AND c.relname = ANY($1) \
               AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
             GROUP BY n.nspname, c.relname ORDER BY n.nspname = 'public' DESC, n.nspname, c.relname",
            &[&names],
        )?;
        let mut tables = vec![];
        let mut seen = HashSet::new();
        for row in found {
            let (schema, name, columns): (String, String, Vec<String>) = (row.get(0), row.get(1), row.get(2));
            let source = SOURCES.iter().find(|s| {
                s.table == name
                    && s.schema.is_none_or(|wanted| wanted == schema)
                    && s.column.is_none_or(|c| columns.iter().any(|have| have == c))
            });
            // One table per runner: the one in `public` (or the first schema) wins.
            let Some(source) = source.filter(|s| seen.insert(s.runner)) else { continue };
            let table = quote_relation(&QualifiedName::new(Some(schema.clone()), name.clone()));
            let rows = session.query("history table", &source.query.replace("{t}", &table), &[])?;
            tables.push(HistoryTable {
                runner: source.runner,
                table: format!("{schema}.{name}"),
                applied: rows.iter().map(|r| r.get::<_, String>(0)).collect(),
                dirty: rows.iter().any(|r| r.get::<_, bool>(1)),
            });
        }
        Ok(History { tables })
    }

    /// The history tables that speak for a framework.
    pub fn for_framework(&self, framework: Framework) -> impl Iterator<Item = &HistoryTable> {
        self.tables.iter().filter(move |t| t.runner.framework() == framework || t.runner == Runner::Lockgate)
    }

    /// Which of the migrations (in runner order) have not run yet. A framework with no
    /// history table has recorded nothing, so all of its migrations are pending.
    pub fn pending(&self, migrations: &[Migration]) -> Vec<bool> {
        let alembic_applied = self.alembic_applied(migrations);
        migrations
            .iter()
            .map(|m| {
                let tables: Vec<&HistoryTable> = self.for_framework(m.framework).collect();
                let recorded = tables.iter().any(|t| match t.runner {
                    Runner::Alembic => alembic_applied.contains(m.id.as_str()),
                    Runner::Django => django_applied(t, m),
                    _ => sql_applied(t, m),
                });
                !recorded
            })
            .collect()
    }

    /// `django_migrations` has a row for this `app.name`.
    pub fn django_recorded(&self, id: &str) -> bool {
        self.records(Runner::Django, id)
    }

    /// The runner's history table holds `key` (a Django `app.name`, an Alembic head).
    pub fn records(&self, runner: Runner, key: &str) -> bool {
        self.tables.iter().any(|t| t.runner == runner && t.applied.iter().any(|a| a == key))
    }

    /// Alembic stores the heads it reached; every ancestor of a head ran too.
    fn alembic_applied<'a>(&self, migrations: &'a [Migration]) -> HashSet<&'a str> {
        let Some(table) = self.tables.iter().find(|t| t.runner == Runner::Alembic) else { return HashSet::new() };
        let by_id: std::collections::HashMap<&str, &Migration> =
            migrations.iter().filter(|m| m.framework == Framework::Alembic).map(|m| (m.id.as_str(), m)).collect();
        let mut applied = HashSet::new();
        let mut stack: Vec<&str> =
            table.applied.iter().filter_map(|h| by_id.get_key_value(h.as_str()).map(|(k, _)| *k)).collect();
        while let Some(id) = stack.pop() {
            if !applied.insert(id) {
                continue;
            }
            if let Some(m) = by_id.get(id) {
                stack.extend(m.parents.iter().filter_map(|p| by_id.get_key_value(p.as_str()).map(|(k, _)| *k)));
            }
        }
        applied
    }

    /// Heads recorded in `alembic_version` that no revision file has: the files are behind
    /// the database (a branch not checked out) or the wrong folder was given.
    pub fn unknown_alembic_heads(&self, migrations: &[Migration]) -> Vec<String> {
        let ids: HashSet<&str> =
            migrations.iter().filter(|m| m.framework == Framework::Alembic).map(|m| m.id.as_str()).collect();
        self.tables
            .iter()
            .filter(|t| t.runner == Runner::Alembic)
            .flat_map(|t| &t.applied)
            .filter(|h| !ids.contains(h.as_str()))
            .cloned()
            .collect()
    }
}

fn django_applied(table: &HistoryTable, migration: &Migration) -> bool {
    let recorded = |id: &str| table.applied.iter().any(|a| a == id);
    recorded(&migration.id) || (!migration.replaces.is_empty() && migration.replaces.iter().all(|r| recorded(r)))
}

/// Does this SQL runner's table record the migration, by its version as that runner reads it?
fn sql_applied(table: &HistoryTable, migration: &Migration) -> bool {
    let Some(key) = table.runner.key_for(migration) else { return false };
    match table.runner {
        Runner::GolangMigrate => {
            let current = table.applied.iter().filter_map(|v| v.trim().parse::<u128>().ok()).max();
            matches!((key.parse::<u128>().ok(), current), (Some(n), Some(c)) if n <= c)
        }
        Runner::Goose | Runner::Sqlx => table.applied.iter().any(|v| v.trim().parse::<u128>().ok() == key.parse().ok()),
        Runner::Flyway => table.applied.iter().any(|v| flyway_parts(v) == flyway_parts(&key)),
        _ => table.applied.contains(&key),
    }
}

/// `1.01.0` → [1, 1]: Flyway compares versions part by part, trailing zeros ignored.
fn flyway_parts(text: &str) -> Vec<u128> {
    let mut parts: Vec<u128> = text.split(['.', '_']).filter_map(|p| p.parse().ok()).collect();
    while parts.len() > 1 && parts.last() == Some(&0) {
        parts.pop();
    }
    parts
}

impl Runner {
    /// The runner's own key for a migration: the value its history table stores.
    pub fn key_for(self, migration: &Migration) -> Option<String> {
        let path = &migration.source.path;
        let file = MigrationFile::classify(path);
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let number = || file.version().first().map(u128::to_string);
        match self {
            Runner::Django | Runner::Alembic | Runner::Lockgate => Some(migration.id.clone()),
            Runner::GolangMigrate | Runner::Goose | Runner::Sqlx => number(),
            Runner::Dbmate => {
                let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
                (!digits.is_empty()).then_some(digits)
            }
            Runner::Diesel => {
                let folder = path.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str());
                let version = folder.and_then(|f| f.split('_').next()).unwrap_or_default().replace('-', "");
                (file.layout == Layout::Diesel && !version.is_empty()).then_some(version)
            }
            Runner::Flyway => (file.layout == Layout::Flyway && !file.version().is_empty())
                .then(|| file.version().iter().map(u128::to_string).collect::<Vec<_>>().join(".")),
        }
    }

    /// The runner's own checksum of a migration file, for history tables that keep one:
    /// Flyway's CRC32 over the file's lines (without line breaks or a byte-order mark), as a
    /// signed 32-bit integer; sqlx's SHA-384 of the file, in hex.
    pub fn checksum_for(self, bytes: &[u8]) -> Option<String> {
        match self {
            Runner::Flyway => Some(flyway_checksum(&String::from_utf8_lossy(bytes)).to_string()),
            Runner::Sqlx => Some(sha2::Sha384::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()),
            _ => None,
        }
    }
}

/// Flyway's `ChecksumCalculator`: CRC32 updated with each line as Java's `readLine` splits them
/// (at `\n`, `\r` or `\r\n`), the first line without its byte-order mark.
fn flyway_checksum(text: &str) -> i32 {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut crc = crc32fast::Hasher::new();
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        crc.update(&rest.as_bytes()[..end]);
        let after = &rest[end..];
        rest = after.strip_prefix("\r\n").or_else(|| after.get(1..)).unwrap_or_default();
    }
    crc.finalize() as i32
}

impl History {
    /// The runner table lockgate records an applied migration in, so that the runner sees it
    /// as done: Django's and Alembic's always (created when missing, as they would), a SQL
    /// runner's when its table is there and lockgate writes its format.
    pub fn recording_runner(&self, migration: &Migration) -> Option<Runner> {
        match migration.framework {
            Framework::Django => Some(Runner::Django),
            Framework::Alembic => Some(Runner::Alembic),
            Framework::Sql => self
                .tables
                .iter()
                .map(|t| t.runner)
                .find(|r| r.framework() == Framework::Sql && *r != Runner::Lockgate)
                .filter(|r| r.key_for(migration).is_some()),
        }
    }
}
