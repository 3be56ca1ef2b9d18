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
//!
//! `LOCKGATE_TEST_PG` picks server versions from those `scripts/pg-versions` installed: one
//! major (`11`), a list (`11,18`) or `all`. The first listed serves `database()`; the tests
//! whose answer depends on the version (the lock model, trace) run on each of `versions()`,
//! one throwaway cluster per major. Unset, the machine's own server is used.
#![allow(dead_code)]

pub mod project;
pub mod workload;

use std::collections::HashMap;
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
    /// The server it lives on (a shared one; `None` for a cluster of its own).
    server: Option<&'static Server>,
    /// The server's connection settings (another database on it: `dbname`).
    config: Config,
    /// On the shared server, dropped when the test ends; elsewhere the cluster goes whole.
    shared: bool,
}

impl TestDb {
    /// The server's major version (15 for 15.18).
    pub fn major(&self) -> u32 {
        self.server.map_or_else(server_major, |server| server.major)
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
        let (true, Some(server)) = (self.shared, self.server) else { return };
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
    database_in(server())
}

/// A fresh, empty database on a server of this major version, one of `versions()`.
pub fn database_on(major: u32) -> TestDb {
    if selected_versions().is_empty() && major == server_major() {
        return database();
    }
    database_in(server_on(major))
}

fn database_in(server: &'static Server) -> TestDb {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let name = format!("lockgate_test_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
    {
        let mut admin = server.admin.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        admin.batch_execute(&format!("CREATE DATABASE {name}")).expect("CREATE DATABASE");
    }
    let client = server.config.clone().dbname(&name).connect(NoTls).expect("connect to the new test database");
    TestDb { client, name, server: Some(server), config: server.config.clone(), shared: true }
}

/// The major version of the server the tests run against.
pub fn server_major() -> u32 {
    server().major
}

/// The major versions that version-dependent tests run on: those `LOCKGATE_TEST_PG` names, or
/// the default server's alone.
pub fn versions() -> Vec<u32> {
    let selected = selected_versions();
    if selected.is_empty() {
        vec![server_major()]
    } else {
        selected
    }
}

/// The majors `LOCKGATE_TEST_PG` names (`11`, `11,18`, `all`); empty when it is unset.
fn selected_versions() -> Vec<u32> {
    let Ok(value) = std::env::var("LOCKGATE_TEST_PG") else { return vec![] };
    let value = value.trim();
    if value.is_empty() {
        return vec![];
    }
    if value == "all" {
        return (11..=18).collect();
    }
    value
        .split(',')
        .map(|major| {
            major
                .trim()
                .parse::<u32>()
                .unwrap_or_else(|_| panic!("LOCKGATE_TEST_PG={value}: expected major versions like 11,18 or `all`"))
        })
        .collect()
}

fn server() -> &'static Server {
    static SERVER: OnceLock<&'static Server> = OnceLock::new();
    SERVER.get_or_init(|| match std::env::var("LOCKGATE_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Box::leak(Box::new(external(&url))),
        _ => match selected_versions().first() {
            Some(&major) => server_on(major),
            None => Box::leak(Box::new(throwaway(&postgres_bin_dir(), "system"))),
        },
    })
}

/// The throwaway server of one major version, started on first use from the binaries
/// `scripts/pg-versions` installed.
fn server_on(major: u32) -> &'static Server {
    static SERVERS: OnceLock<Mutex<HashMap<u32, &'static Server>>> = OnceLock::new();
    let servers = SERVERS.get_or_init(Default::default);
    let mut servers = servers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    servers.entry(major).or_insert_with(|| {
        let bin = version_bin_dir(major);
        let server = throwaway(&bin, &major.to_string());
        assert_eq!(server.major, major, "the binaries in {} are not PostgreSQL {major}", bin.display());
        Box::leak(Box::new(server))
    })
}

/// Where `scripts/pg-versions` installs the binaries of each major version.
pub fn versions_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LOCKGATE_PG_DIR").filter(|dir| !dir.is_empty()) {
        return PathBuf::from(dir);
    }
    if run_capture(Command::new("id").arg("-u")).trim() == "0" {
        return PathBuf::from("/var/cache/lockgate/postgres");
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"));
    cache.join("lockgate/postgres")
}

fn version_bin_dir(major: u32) -> PathBuf {
    let bin = versions_cache_dir().join(major.to_string()).join("bin");
    if !bin.join("postgres").is_file() {
        panic!(
            "LOCKGATE_TEST_PG asks for PostgreSQL {major}, which is not installed in {}: run scripts/pg-versions",
            bin.display()
        );
    }
    bin
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

/// A cluster of the binaries in `bin`, in a folder of this process named by `tag`.
fn throwaway(bin: &Path, tag: &str) -> Server {
    let dir = PathBuf::from(format!("/tmp/lockgate-test-pg-{}-{tag}", std::process::id()));
    // No TCP, no durability. No parallel maintenance or query workers: their scans would be
    // counted in other backends, out of sight of the test's pg_stat_xact_user_tables.
    let options = format!(
        "-k {} -p 5432 -c listen_addresses= -c fsync=off -c full_page_writes=off -c synchronous_commit=off \
         -c max_parallel_maintenance_workers=0 -c max_parallel_workers_per_gather=0 -c max_connections=200",
        dir.display()
    );
    let lifeline = start_cluster_from(bin, &dir, &options, Create::Initdb, |_| {});
    let mut config = Config::new();
    config.host_path(&dir).port(5432).user("postgres").dbname("postgres");
    let mut admin = config.connect(NoTls).unwrap_or_else(|e| panic!("cannot connect to the test server: {e}"));
    let major = major_version(&mut admin);
    let mut server =
        Server { config, admin: Mutex::new(admin), major, _lifeline: lifeline, janitor: None, external: false };
    server.janitor = janitor(&server);
    server
}

/// A second throwaway server that speaks TLS on 127.0.0.1, with a certificate for `localhost`
/// signed by a test CA.
pub struct TlsServer {
    pub port: u16,
    /// Its Unix-domain socket directory (the same server, without TLS).
    pub socket_dir: PathBuf,
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
             -c ssl_cert_file={dir}/server.crt -c ssl_key_file={dir}/server.key -c hba_file={dir}/pg_hba.conf",
            dir = dir.display()
        );
        let lifeline = start_cluster(&dir, &options, |dir| {
            std::fs::write(dir.join("server.crt"), &server_cert).unwrap();
            std::fs::write(dir.join("server.key"), &server_key).unwrap();
            // The role `app` must give its password over TCP (a password file is tested with
            // it); everyone else is trusted, as initdb's `-A trust` would have it.
            let hba = "local all all trust\nhost all app 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 trust\n";
            std::fs::write(dir.join("pg_hba.conf"), hba).unwrap();
            let key = dir.join("server.key");
            std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
            if let Some((uid, gid)) = server_user_ids() {
                std::os::unix::fs::chown(&key, Some(uid), Some(gid)).unwrap();
                std::os::unix::fs::chown(dir.join("server.crt"), Some(uid), Some(gid)).unwrap();
                std::os::unix::fs::chown(dir.join("pg_hba.conf"), Some(uid), Some(gid)).unwrap();
            }
        });
        let ca_file = dir.join("ca.pem");
        let other_ca_file = dir.join("other-ca.pem");
        std::fs::write(&ca_file, ca).unwrap();
        std::fs::write(&other_ca_file, other_ca).unwrap();
        TlsServer { port, socket_dir: dir, ca_file, other_ca_file, _lifeline: lifeline }
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
        TestDb { client, name, server: None, config: self.primary.clone(), shared: false }
    }

    /// The primary's Unix-domain socket directory (port 5432).
    pub fn primary_socket_dir(&self) -> PathBuf {
        socket_dir(&self.primary)
    }

    /// The standby's Unix-domain socket directory (port 5432).
    pub fn replica_socket_dir(&self) -> PathBuf {
        socket_dir(&self.replica)
    }

    /// A connection to the standby (read-only; `pg_wal_replay_pause()` works there).
    pub fn replica(&self) -> Client {
        self.replica.connect(NoTls).expect("connect to the replica")
    }
}

fn socket_dir(config: &Config) -> PathBuf {
    match config.get_hosts().first() {
        Some(postgres::config::Host::Unix(path)) => path.clone(),
        _ => panic!("the replicated pair listens on sockets only"),
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
        let replica_lifeline = start_cluster_from(
            &postgres_bin_dir(),
            &replica_dir,
            &options(&replica_dir),
            Create::StandbyOf(&primary_dir),
            |_| {},
        );
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
    start_cluster_from(&postgres_bin_dir(), dir, options, Create::Initdb, prepare)
}

/// How a cluster's data directory comes to be.
enum Create<'a> {
    Initdb,
    /// A base backup of the server listening in this socket directory, set up as its standby.
    StandbyOf(&'a Path),
}

fn start_cluster_from(
    bin: &Path,
    dir: &Path,
    options: &str,
    create: Create,
    prepare: impl FnOnce(&Path),
) -> Option<ChildStdin> {
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
    watcher.args(["-c", script, "sh"]).arg(bin).arg(dir);
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

/// The lockgate binary a benchmark example runs: `target/<profile>/lockgate`, beside the
/// `examples/` folder the example's own binary is in.
pub fn lockgate_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent().and_then(|examples| examples.parent()).expect("target dir").join("lockgate")
}

/// The directory holding `initdb` and `postgres`: the one `initdb` on PATH lives in (after
/// symlinks), else the highest version under /usr/lib/postgresql.
pub fn postgres_bin_dir() -> PathBuf {
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

/// Writes `files` (name, bytes) into a fresh temporary folder and lints it:
/// `lockgate lint --format json --fail-on never [extra] <folder>`. The JSON report; a panic
/// on standard error fails the test.
pub fn lint_files(files: &[(&str, &[u8])], extra: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    let output = assert_cmd::Command::cargo_bin("lockgate")
        .expect("binary")
        .args(["lint", "--format", "json", "--fail-on", "never"])
        .args(extra)
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
    serde_json::from_slice(&output.stdout).expect("JSON")
}

/// A connection of the test, as the library's observer (`lockgate::trace::observe`) reads it.
pub struct Session<'a>(pub &'a mut Client);

impl lockgate::trace::observe::Database for Session<'_> {
    fn execute(&mut self, sql: &str) -> Result<(), postgres::Error> {
        self.0.batch_execute(sql)
    }
    fn query(&mut self, sql: &str) -> Result<Vec<postgres::Row>, postgres::Error> {
        self.0.query(sql, &[])
    }
}
