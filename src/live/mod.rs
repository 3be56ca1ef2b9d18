//! The live database, read-only: its schema and sizes (`schema`), which migrations its
//! runners recorded (`history`), and the sessions that would block a migration now
//! (`activity`). Every query reads the system catalogs or statistics views; none scans a user
//! table.

pub mod activity;
pub mod connect;
pub mod conninfo;
pub mod history;
pub mod schema;

use crate::catalog::Catalog;
use serde::{Deserialize, Serialize};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

pub use connect::Endpoint;

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("database URL: {0}")]
    Url(String),
    /// The driver refused the settings lockgate passes on to it.
    #[error("database URL: {0}")]
    Settings(#[source] tokio_postgres::Error),
    #[error("TLS: {0}")]
    Tls(#[source] rustls::Error),
    #[error("TLS: {0}")]
    Verifier(#[source] rustls::client::VerifierBuilderError),
    #[error("TLS: cannot read sslrootcert {path}: {source}")]
    RootCertUnreadable { path: String, source: rustls::pki_types::pem::Error },
    /// A certificate of the `sslrootcert` file could not be read, or was refused as a root.
    #[error("TLS: sslrootcert {path}: {source}")]
    RootCert { path: String, source: Box<dyn std::error::Error + Send + Sync> },
    #[error(
        "TLS: no trusted root certificates to check the server with: pass sslrootcert=/path/to/ca.pem \
         (RDS: the global-bundle.pem from AWS)"
    )]
    NoRootCertificates,
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("query failed ({what}): {message}")]
    Query { what: &'static str, message: String },
    #[error("cannot start the I/O runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// Why a statistics file (`lockgate stats dump`'s output) could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatsFileError {
    #[error("{}: {source}", path.display())]
    Read { path: std::path::PathBuf, source: std::io::Error },
    #[error("{}: not a `lockgate stats dump` file: {source}", path.display())]
    Invalid { path: std::path::PathBuf, source: serde_json::Error },
    #[error(
        "{}: schema_version {found} is not {}; dump the statistics again with this lockgate",
        path.display(),
        Observation::SCHEMA_VERSION
    )]
    Version { path: std::path::PathBuf, found: u32 },
}

impl LiveError {
    fn connect(error: tokio_postgres::Error) -> LiveError {
        LiveError::Connect(describe(&error))
    }
}

/// The server's message, with its detail and hint when it has them.
pub fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => {
            let mut text = db.message().to_string();
            if let Some(detail) = db.detail() {
                text.push_str(&format!(" ({detail})"));
            }
            if let Some(hint) = db.hint() {
                text.push_str(&format!("; hint: {hint}"));
            }
            text
        }
        None => {
            let mut text = error.to_string();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            text
        }
    }
}

/// A read-only session: `default_transaction_read_only`, a short `statement_timeout`, and a
/// `lock_timeout` so that a catalog read never queues behind a migration's lock.
pub struct Session {
    client: tokio_postgres::Client,
    runtime: tokio::runtime::Runtime,
    pub target: Endpoint,
}

impl Session {
    pub fn open(target: &Endpoint) -> Result<Session, LiveError> {
        let session = Session::open_writable(target)?;
        session.batch(
            "read-only session settings",
            "SET default_transaction_read_only = on; SET statement_timeout = '10s'; \
             SET lock_timeout = '100ms'; SET idle_in_transaction_session_timeout = '60s'",
        )?;
        Ok(session)
    }

    /// A session that may change the database (the executor's): no read-only default; every
    /// step sets its own timeouts.
    pub fn open_writable(target: &Endpoint) -> Result<Session, LiveError> {
        // One thread is enough: every call blocks until its query is answered.
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(LiveError::Runtime)?;
        let (client, _connection) = runtime.block_on(target.connect())?;
        Ok(Session { client, runtime, target: target.clone() })
    }

    /// Runs statements as they are, returning the server's error itself (the executor looks
    /// at its SQLSTATE).
    pub fn execute(&self, sql: &str) -> Result<(), tokio_postgres::Error> {
        self.runtime.block_on(self.client.batch_execute(sql))
    }

    /// A query whose error is returned as the server's (the executor looks at its SQLSTATE).
    pub fn query_raw(&self, sql: &str) -> Result<Vec<Row>, tokio_postgres::Error> {
        self.runtime.block_on(self.client.query(sql, &[]))
    }

    pub fn query(&self, what: &'static str, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, LiveError> {
        self.runtime
            .block_on(self.client.query(sql, params))
            .map_err(|e| LiveError::Query { what, message: describe(&e) })
    }

    pub fn batch(&self, what: &'static str, sql: &str) -> Result<(), LiveError> {
        self.runtime
            .block_on(self.client.batch_execute(sql))
            .map_err(|e| LiveError::Query { what, message: describe(&e) })
    }

    /// `server_version_num`, e.g. 150004.
    pub fn server_version_num(&self) -> Result<u32, LiveError> {
        let rows = self.query("server version", "SELECT current_setting('server_version_num')::int4", &[])?;
        Ok(rows.first().map(|r| r.get::<_, i32>(0) as u32).unwrap_or(0))
    }
}

/// The server facts an estimate depends on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Server {
    /// `server_version_num`, e.g. 150004.
    pub version_num: u32,
    pub version: String,
    pub database: String,
    pub block_size: u64,
    pub max_parallel_maintenance_workers: u32,
    pub maintenance_work_mem_kb: u64,
    /// The `TimeZone` a new session gets: whether `timestamp` ↔ `timestamptz` rewrites depends
    /// on it. Absent from statistics files written before it was read.
    #[serde(default)]
    pub time_zone: Option<String>,
}

impl Server {
    pub fn major(&self) -> u32 {
        self.version_num / 10000
    }

    pub fn read(session: &Session) -> Result<Server, LiveError> {
        let rows = session.query(
            "server settings",
            "SELECT current_setting('server_version_num')::int4, current_setting('server_version'), \
                    current_database()::text, current_setting('block_size')::int8, \
                    current_setting('max_parallel_maintenance_workers')::int4, \
                    pg_size_bytes(current_setting('maintenance_work_mem'))::int8 / 1024, \
                    current_setting('TimeZone')",
            &[],
        )?;
        let row = rows.first().ok_or(LiveError::Query { what: "server settings", message: "no row".into() })?;
        Ok(Server {
            version_num: row.get::<_, i32>(0) as u32,
            version: row.get(1),
            database: row.get(2),
            block_size: row.get::<_, i64>(3) as u64,
            max_parallel_maintenance_workers: row.get::<_, i32>(4) as u32,
            maintenance_work_mem_kb: row.get::<_, i64>(5) as u64,
            time_zone: Some(row.get(6)),
        })
    }
}

/// Everything the gate knows about the database apart from its current sessions: what
/// `lockgate stats dump` writes and `lockgate check --stats` reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Observation {
    pub schema_version: u32,
    /// When it was read (RFC 3339).
    pub observed_at: String,
    pub server: Server,
    pub schema: schema::LiveSchema,
    pub history: history::History,
}

impl Observation {
    pub const SCHEMA_VERSION: u32 = 1;

    pub fn read(session: &Session) -> Result<Observation, LiveError> {
        let server = Server::read(session)?;
        let schema = schema::LiveSchema::read(session, &server)?;
        let history = history::History::read(session)?;
        Ok(Observation {
            schema_version: Self::SCHEMA_VERSION,
            observed_at: jiff::Timestamp::now().to_string(),
            server,
            schema,
            history,
        })
    }

    /// Reads a file `lockgate stats dump` wrote, refusing one of another schema version (its
    /// fields would be misread).
    pub fn load(path: &std::path::Path) -> Result<Observation, StatsFileError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| StatsFileError::Read { path: path.into(), source })?;
        let observation: Observation =
            serde_json::from_str(&text).map_err(|source| StatsFileError::Invalid { path: path.into(), source })?;
        if observation.schema_version != Self::SCHEMA_VERSION {
            return Err(StatsFileError::Version { path: path.into(), found: observation.schema_version });
        }
        Ok(observation)
    }

    /// The schema as a catalog, with the server's `TimeZone` for the sessions that replay
    /// migrations on it.
    pub fn catalog(&self) -> Catalog {
        let mut catalog = self.schema.catalog();
        catalog.set_server_time_zone(self.server.time_zone.clone());
        catalog
    }
}
