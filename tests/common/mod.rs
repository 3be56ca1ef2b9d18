//! A throwaway PostgreSQL for integration tests.
//!
//! One cluster per test process: the first test that asks for a database runs `initdb` into
//! `/tmp/lockgate-test-pg-<pid>` and starts `postgres` on a unix socket in that directory (no
//! TCP, fsync off). Every test then gets a database of its own, so tests run in parallel without
//! seeing each other's tables. When running as root, initdb and the server run as the
//! `postgres` OS user, since PostgreSQL refuses to run as root.
//!
//! A small shell watcher holds the other end of a pipe this process keeps open. When the test
//! process exits, however it exits, the kernel closes the pipe; the watcher sees end-of-file,
//! stops the server (`pg_ctl stop -m immediate`) and removes the directory. Nothing leaks.
//!
//! `LOCKGATE_TEST_DATABASE_URL` (e.g. `postgres://user@localhost/postgres`) uses an existing
//! server instead; the test databases are then dropped when each test ends.
#![allow(dead_code)]

pub mod project;
pub mod workload;

use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Mutex, OnceLock};

use postgres::{Client, Config, NoTls};

/// The connection settings of the shared server, and what keeps it alive.
struct Server {
    config: Config,
    /// An admin connection to the `postgres` database, for CREATE/DROP DATABASE.
    admin: Mutex<Client>,
    major: u32,
    /// Our end of the watcher's stdin; closed by the kernel when this process exits.
    _lifeline: Option<ChildStdin>,
    /// Names of databases to drop, for a background thread (throwaway cluster only).
    janitor: Option<Sender<String>>,
    /// A server from LOCKGATE_TEST_DATABASE_URL rather than our own.
    external: bool,
}

/// A database of its own for one test, and a superuser connection to it.
pub struct TestDb {
    pub client: Client,
    pub name: String,
    /// The server's connection settings (another database on it: `dbname`).
    config: Config,
    /// On the shared server, dropped when the test ends; elsewhere the cluster goes whole.
    shared: bool,
}

impl TestDb {
    /// The server's major version (15 for 15.18).
    pub fn major(&self) -> u32 {
        server().major
    }

    /// libpq key=value settings for this database, for `lockgate --database-url`.
    pub fn url(&self) -> String {
        let config = &self.config;
        let host = match config.get_hosts().first() {
            Some(postgres::config::Host::Unix(path)) => path.display().to_string(),
            Some(postgres::config::Host::Tcp(host)) => host.clone(),
            None => "localhost".into(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config.get_user().unwrap_or("postgres");
        let mut url = format!("host={host} port={port} user={user} dbname={} sslmode=disable", self.name);
        if let Some(password) = config.get_password() {
            url.push_str(&format!(" password={}", String::from_utf8_lossy(password)));
        }
        url
    }

    /// Another connection to the same database (for tests that need two sessions).
    pub fn connect(&self) -> Client {
        self.config.clone().dbname(&self.name).connect(NoTls).expect("connect to the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Each database is a ~7 MB copy of template1. On the throwaway cluster the janitor
        // drops it in the background (DROP DATABASE … WITH (FORCE) sleeps 100 ms while our
        // connection goes); on a server we were lent, drop it now, before the process can exit.
        // Before PostgreSQL 13 (no FORCE) the databases stay.
        if !self.shared {
            return;
        }
        let server = server();
        if let Some(janitor) = &server.janitor {
            let _ = janitor.send(self.name.clone());
        } else if server.external && server.major >= 13 {
            let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            let _ = server.admin.lock().map(|mut admin| admin.batch_execute(&drop));
        }
    }
}

/// A fresh, empty database on the shared server.
pub fn database() -> TestDb {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let server = server();
    let name = format!("lockgate_test_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
    {
        let mut admin = server.admin.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        admin.batch_execute(&format!("CREATE DATABASE {name}")).expect("CREATE DATABASE");
    }
    let client = server.config.clone().dbname(&name).connect(NoTls).expect("connect to the new test database");
    TestDb { client, name, config: server.config.clone(), shared: true }
}

/// The major version of the server the tests run against.
pub fn server_major() -> u32 {
    server().major
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| match std::env::var("LOCKGATE_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => external(&url),
        _ => {
            let mut server = throwaway();
            server.janitor = janitor(&server);
            server
        }
    })
}

/// A thread with its own connection that drops the databases of finished tests.
fn janitor(server: &Server) -> Option<Sender<String>> {
    if server.major < 13 {
        return None;
    }
    let mut client = server.config.connect(NoTls).ok()?;
    let (sender, receiver) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for name in receiver {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    });
    Some(sender)
}

fn external(url: &str) -> Server {
    let config: Config = url.parse().unwrap_or_else(|e| panic!("LOCKGATE_TEST_DATABASE_URL is not valid: {e}"));
    let mut admin =
        config.connect(NoTls).unwrap_or_else(|e| panic!("cannot connect to LOCKGATE_TEST_DATABASE_URL: {e}"));
    let major = major_version(&mut admin);
    Server { config, admin: Mutex::new(admin), major, _lifeline: None, janitor: None, external: true }
}

fn throwaway() -> Server {
    let dir = PathBuf::from(format!("/tmp/lockgate-test-pg-{}", std::process::id()));
    // No TCP, no durability. No parallel maintenance or query workers: their scans would be
    // counted in other backends, out of sight of the test's pg_stat_xact_user_tables.
    let options = format!(
        "-k {} -p 5432 -c listen_addresses= -c fsync=off -c full_page_writes=off -c synchronous_commit=off \
         -c max_parallel_maintenance_workers=0 -c max_parallel_workers_per_gather=0 -c max_connections=200",
        dir.display()
    );
    let lifeline = start_cluster(&dir, &options, |_| {});
    let mut config = Config::new();
    config.host_path(&dir).port(5432).user("postgres").dbname("postgres");
    let mut admin = config.connect(NoTls).unwrap_or_else(|e| panic!("cannot connect to the test server: {e}"));
    let major = major_version(&mut admin);
    Server { config, admin: Mutex::new(admin), major, _lifeline: lifeline, janitor: None, external: false }
}

/// A second throwaway server that speaks TLS on 127.0.0.1, with a certificate for `localhost`
/// signed by a test CA.
pub struct TlsServer {
    pub port: u16,
    /// The CA that signed the server's certificate (PEM file).
    pub ca_file: PathBuf,
    /// A CA that did not sign it.
    pub other_ca_file: PathBuf,
    _lifeline: Option<ChildStdin>,
}

pub fn tls_server() -> &'static TlsServer {
    static SERVER: OnceLock<TlsServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = PathBuf::from(format!("/tmp/lockgate-test-pg-{}-tls", std::process::id()));
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap();
        let (ca, server_cert, server_key) = certificates();
        let (_, other_ca, _) = certificates();
        let options = format!(
            "-k {dir} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off -c ssl=on \
             -c ssl_cert_file={dir}/server.crt -c ssl_key_file={dir}/server.key",
            dir = dir.display()
        );
        let lifeline = start_cluster(&dir, &options, |dir| {
            std::fs::write(dir.join("server.crt"), &server_cert).unwrap();
            std::fs::write(dir.join("server.key"), &server_key).unwrap();
            let key = dir.join("server.key");
            std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
            if let Some((uid, gid)) = server_user_ids() {
                std::os::unix::fs::chown(&key, Some(uid), Some(gid)).unwrap();
                std::os::unix::fs::chown(dir.join("server.crt"), Some(uid), Some(gid)).unwrap();
            }
        });
        let ca_file = dir.join("ca.pem");
        let other_ca_file = dir.join("other-ca.pem");
        std::fs::write(&ca_file, ca).unwrap();
        std::fs::write(&other_ca_file, other_ca).unwrap();
        TlsServer { port, ca_file, other_ca_file, _lifeline: lifeline }
    })
}

/// A primary with a streaming replica, both throwaway, for tests that need replication.
pub struct Replicated {
    primary: Config,
    replica: Config,
    _lifelines: Vec<Option<ChildStdin>>,
}

impl Replicated {
    /// A fresh database on the primary.
    pub fn database(&self) -> TestDb {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let name = format!("lockgate_replicated_{}", COUNTER.fetch_add(1, Ordering::Relaxed));
        let mut admin = self.primary.connect(NoTls).expect("connect to the primary");
        admin.batch_execute(&format!("CREATE DATABASE {name}")).expect("CREATE DATABASE");
        let client = self.primary.clone().dbname(&name).connect(NoTls).expect("connect to the new database");
        TestDb { client, name, config: self.primary.clone(), shared: false }
    }

    /// A connection to the standby (read-only; `pg_wal_replay_pause()` works there).
    pub fn replica(&self) -> Client {
        self.replica.connect(NoTls).expect("connect to the replica")
    }
}

pub fn replicated() -> &'static Replicated {
    static PAIR: OnceLock<Replicated> = OnceLock::new();
    PAIR.get_or_init(|| {
        let primary_dir = PathBuf::from(format!("/tmp/lockgate-test-pg-{}-primary", std::process::id()));
        let replica_dir = PathBuf::from(format!("/tmp/lockgate-test-pg-{}-replica", std::process::id()));
        let options = |dir: &Path| {
            format!(
                "-k {} -p 5432 -c listen_addresses= -c fsync=off -c wal_level=replica -c hot_standby=on",
                dir.display()
            )
        };
        let primary_lifeline = start_cluster(&primary_dir, &options(&primary_dir), |_| {});
        let replica_lifeline =
            start_cluster_from(&replica_dir, &options(&replica_dir), Create::StandbyOf(&primary_dir), |_| {});
        let config = |dir: &Path| {
            let mut config = Config::new();
            config.host_path(dir).port(5432).user("postgres").dbname("postgres");
            config
        };
        Replicated {
            primary: config(&primary_dir),
            replica: config(&replica_dir),
            _lifelines: vec![replica_lifeline, primary_lifeline],
        }
    })
}

/// A CA certificate, and a server certificate and key for `localhost` it signed (PEM).
fn certificates() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let server_params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = server_params.signed_by(&server_key, &issuer).unwrap();
    (ca.pem(), server.pem(), server_key.serialize_pem())
}

fn server_user_ids() -> Option<(u32, u32)> {
    if run_capture(Command::new("id").arg("-u")).trim() != "0" {
        return None;
    }
    let owner = |flag: &str| {
        let output = Command::new("id").args([flag, "postgres"]).output().ok()?;
        String::from_utf8_lossy(&output.stdout).trim().parse::<u32>().ok()
    };
    match (owner("-u"), owner("-g")) {
        (Some(uid), Some(gid)) => Some((uid, gid)),
        _ => panic!("running as root, but there is no `postgres` OS user to run the test server as"),
    }
}

/// initdb into `dir/data`, `prepare(dir)`, then start the server with `options`; returns our
/// end of the watcher's pipe, which stops the server and removes `dir` when this process exits.
fn start_cluster(dir: &Path, options: &str, prepare: impl FnOnce(&Path)) -> Option<ChildStdin> {
    start_cluster_from(dir, options, Create::Initdb, prepare)
}

/// How a cluster's data directory comes to be.
enum Create<'a> {
    Initdb,
    /// A base backup of the server listening in this socket directory, set up as its standby.
    StandbyOf(&'a Path),
}

fn start_cluster_from(dir: &Path, options: &str, create: Create, prepare: impl FnOnce(&Path)) -> Option<ChildStdin> {
    let bin = postgres_bin_dir();
    let owner = server_user_ids();
    let as_root = owner.is_some();
    sweep_stale_dirs();
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(dir, Some(uid), Some(gid)).expect("chown the test server's directory");
    }
    let data = dir.join("data");
    match create {
        Create::Initdb => {
            let mut initdb = as_server_user(as_root, &bin.join("initdb"));
            initdb.arg("-D").arg(&data).args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ]);
            run_capture(&mut initdb);
        }
        Create::StandbyOf(primary) => {
            let mut backup = as_server_user(as_root, &bin.join("pg_basebackup"));
            backup
                .arg("-D")
                .arg(&data)
                .arg("-h")
                .arg(primary)
                .args(["-p", "5432", "-U", "postgres", "-R", "-X", "stream"]);
            run_capture(&mut backup);
        }
    }
    prepare(dir);

    // The watcher: `sh -c SCRIPT sh BIN DIR` waits for its stdin (our pipe) to close, then stops
    // the server and removes the directory.
    let script = r#"cat >/dev/null; "$1/pg_ctl" -D "$2/data" stop -m immediate >/dev/null 2>&1; rm -rf "$2""#;
    let mut watcher = as_server_user(as_root, Path::new("sh"));
    watcher.args(["-c", script, "sh"]).arg(&bin).arg(dir);
    watcher.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null());
    let lifeline = watcher.spawn().expect("start the test server's watcher").stdin.take();

    let log = dir.join("log");
    let mut start = as_server_user(as_root, &bin.join("pg_ctl"));
    start.arg("-D").arg(&data).arg("-l").arg(&log).args(["-w", "-t", "60", "-o", options, "start"]);
    let started = start.stdin(Stdio::null()).output().expect("run pg_ctl start");
    if !started.status.success() {
        panic!(
            "the test server did not start ({}):\n{}{}",
            started.status,
            String::from_utf8_lossy(&started.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    lifeline
}

fn major_version(client: &mut Client) -> u32 {
    let row = client.query_one("SELECT current_setting('server_version_num')::int", &[]).expect("server version");
    let num: i32 = row.get(0);
    num as u32 / 10000
}

/// A program of the PostgreSQL the test clusters run (`pg_dump`, `pg_restore`, …).
pub fn postgres_program(name: &str) -> PathBuf {
    postgres_bin_dir().join(name)
}

/// The directory holding `initdb` and `postgres`: the one `initdb` on PATH lives in (after
/// symlinks), else the highest version under /usr/lib/postgresql.
fn postgres_bin_dir() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("initdb"))
        .find(|initdb| initdb.is_file())
        .and_then(|initdb| std::fs::canonicalize(initdb).ok())
        .and_then(|initdb| initdb.parent().map(Path::to_path_buf))
        .filter(|dir| dir.join("postgres").is_file());
    if let Some(dir) = on_path {
        return dir;
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!(
            "PostgreSQL server binaries (initdb, postgres) not found on PATH or under /usr/lib/postgresql/*/bin; \
             run scripts/deps, or set LOCKGATE_TEST_DATABASE_URL"
        )
    })
}

fn as_server_user(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// Runs a command to completion; panics with its output if it fails.
fn run_capture(command: &mut Command) -> String {
    let output = command.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    if !output.status.success() {
        panic!(
            "{command:?} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Removes the directories of test processes that died without their wrapper cleaning up (a
/// server still running there notices its lock file is gone and shuts down).
fn sweep_stale_dirs() {
    let Ok(entries) = std::fs::read_dir("/tmp") else { return };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let pid = name.to_str().and_then(|n| n.strip_prefix("lockgate-test-pg-")).and_then(|p| p.split('-').next());
        let Some(pid) = pid else { continue };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
