//! Connection strings as libpq reads them: every form a `psql` user types reaches the test
//! server, over its socket (never with TLS) and over TCP (with TLS when the server offers it).

mod common;

use std::path::Path;

use assert_cmd::Command;
use lockgate::live::{Endpoint, Session};

fn lockgate() -> Command {
    let mut cmd = Command::cargo_bin("lockgate").expect("binary builds");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).env("NO_COLOR", "1");
    // Only what each test sets: the machine's own libpq settings stay out.
    for var in [
        "LOCKGATE_DATABASE_URL",
        "PGHOST",
        "PGPORT",
        "PGUSER",
        "PGDATABASE",
        "PGPASSWORD",
        "PGSERVICE",
        "PGSERVICEFILE",
        "PGPASSFILE",
        "PGSSLMODE",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

const APP_PASSWORD: &str = "s3:cr@t/pw";

/// The role `app`, which must give its password over TCP.
fn with_app_role(server: &common::TlsServer) {
    let mut admin = postgres::Config::new()
        .host_path(&server.socket_dir)
        .port(server.port)
        .user("postgres")
        .dbname("postgres")
        .connect(postgres::NoTls)
        .expect("connect over the socket");
    let create = format!(
        "DO $$ BEGIN CREATE ROLE app LOGIN PASSWORD '{APP_PASSWORD}'; EXCEPTION WHEN duplicate_object THEN NULL; END $$"
    );
    admin.batch_execute(&create).expect("CREATE ROLE app");
}

/// Who the session is and whether it runs over TLS.
fn session_facts(text: &str) -> Result<(String, bool), String> {
    let target = Endpoint::parse(text).map_err(|e| e.to_string())?;
    let session = Session::open_writable(&target).map_err(|e| e.to_string())?;
    let rows = session
        .query_raw(
            "SELECT current_user::text, coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)",
        )
        .map_err(|e| e.to_string())?;
    Ok((rows[0].get(0), rows[0].get(1)))
}

fn encoded(path: &Path) -> String {
    path.to_string_lossy().replace('/', "%2F")
}

fn private_file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    path.to_string_lossy().into_owned()
}

#[test]
fn every_connection_form_reaches_the_server() {
    let server = common::tls_server();
    with_app_role(server);
    let dir = server.socket_dir.display().to_string();
    let port = server.port;
    let files = tempfile::tempdir().expect("temp dir");
    let pgpass =
        private_file(files.path(), "pgpass", &format!("127.0.0.1:{port}:*:app:{}\n", APP_PASSWORD.replace(':', "\\:")));
    let password = APP_PASSWORD.replace(':', "%3A").replace('@', "%40").replace('/', "%2F");
    // (connection string, user, TLS)
    let cases: Vec<(String, &str, bool)> = vec![
        // A socket directory as the URL's `host` parameter overrides `localhost`: no TLS.
        (format!("postgresql://postgres@localhost:{port}/postgres?host={dir}"), "postgres", false),
        (format!("postgresql://postgres@{}:{port}/postgres", encoded(&server.socket_dir)), "postgres", false),
        (format!("postgres://postgres@:{port}/postgres?host={}", encoded(&server.socket_dir)), "postgres", false),
        (format!("host={dir} port={port} user=postgres dbname=postgres"), "postgres", false),
        // libpq never negotiates TLS over a socket, whatever sslmode says.
        (format!("host={dir} port={port} user=postgres dbname=postgres sslmode=require"), "postgres", false),
        // Over TCP, `prefer` takes the TLS the server offers; `disable` does not.
        (format!("postgresql://postgres@127.0.0.1:{port}/postgres"), "postgres", true),
        (format!("host=127.0.0.1 port={port} user=postgres dbname=postgres sslmode=disable"), "postgres", false),
        // Several hosts: the first that answers.
        (format!("host={dir}/nowhere,127.0.0.1 port={port} user=postgres dbname=postgres"), "postgres", true),
        (format!("postgresql://postgres@127.0.0.1:1,127.0.0.1:{port}/postgres?connect_timeout=2"), "postgres", true),
        (format!("host=127.0.0.1,{dir} port=1,{port} user=postgres dbname=postgres"), "postgres", false),
        // A password in the URL (percent-encoded) or from the password file.
        (format!("postgresql://app:{password}@127.0.0.1:{port}/postgres"), "app", true),
        (format!("host=127.0.0.1 port={port} user=app dbname=postgres passfile={pgpass}"), "app", true),
    ];
    for (text, user, tls) in cases {
        let facts = session_facts(&text);
        assert_eq!(facts, Ok((user.to_string(), tls)), "{text}");
    }
    let wrong = format!("host=127.0.0.1 port={port} user=app dbname=postgres password=wrong");
    let error = session_facts(&wrong).expect_err("a wrong password is refused");
    assert!(
        error.contains("password authentication failed") && error.contains(&format!("127.0.0.1:{port}")),
        "{error}"
    );
}

/// `PGHOST=/var/run/postgresql PGUSER=u lockgate check migrations/`: the environment alone, as
/// psql reads it; a service file entry; the password file from `PGPASSFILE`.
#[test]
fn the_environment_and_service_and_password_files_alone_connect() {
    let server = common::tls_server();
    with_app_role(server);
    let dir = server.socket_dir.display().to_string();
    let port = server.port.to_string();
    let status_command = || {
        let mut cmd = lockgate();
        cmd.arg("status");
        cmd
    };
    let status = |cmd: &mut Command| {
        let output = cmd.output().expect("runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        (output.status.code(), stdout, String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let (code, stdout, stderr) = status(
        status_command()
            .env("PGHOST", &dir)
            .env("PGPORT", &port)
            .env("PGUSER", "postgres")
            .env("PGDATABASE", "postgres"),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("lockgate has not run on this database"), "{stdout}");

    let files = tempfile::tempdir().expect("temp dir");
    let services = private_file(
        files.path(),
        "services",
        &format!("[shop]\nhost=127.0.0.1\nport={port}\nuser=app\ndbname=postgres\n\n[other]\nhost=nowhere\n"),
    );
    let pgpass = private_file(files.path(), "pgpass", &format!("*:*:*:app:{}\n", APP_PASSWORD.replace(':', "\\:")));
    let (code, _, stderr) = status(
        status_command()
            .env("PGSERVICEFILE", &services)
            .env("PGPASSFILE", &pgpass)
            .args(["--database-url", "service=shop"]),
    );
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, stderr) =
        status(status_command().env("PGSERVICEFILE", &services).env("PGPASSFILE", &pgpass).env("PGSERVICE", "shop"));
    assert_eq!(code, Some(0), "{stderr}");
    // Without the password file, the server's refusal is the message.
    let (code, _, stderr) =
        status(status_command().env("PGSERVICEFILE", &services).args(["--database-url", "service=shop"]));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("password"), "{stderr}");
    let (code, _, stderr) =
        status(status_command().env("PGSERVICEFILE", &services).args(["--database-url", "service=nope"]));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("service `nope` is not defined"), "{stderr}");
}

/// An unreachable database: the message names every host tried and why, and the run exits 2.
#[test]
fn an_unreachable_database_says_where_it_looked() {
    let output = lockgate()
        .args(["stats", "dump", "--database-url", "postgresql://postgres@127.0.0.1:1/shop?connect_timeout=2"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot connect") && stderr.contains("127.0.0.1:1"), "{stderr}");
    let output =
        lockgate().args(["check", "fixtures/sql", "--database-url", "host=/nowhere user=x"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("socket /nowhere (port 5432)"), "{stderr}");
    let output = lockgate()
        .args(["check", "fixtures/sql", "--database-url", "postgres://db/x?sslmode=sometimes"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("sslmode `sometimes`"));

    // A root certificate file that cannot be used is named, with what is wrong with it.
    let dir = tempfile::tempdir().expect("temp dir");
    let no_pem = dir.path().join("none.pem");
    let corrupt = dir.path().join("corrupt.pem");
    std::fs::write(&corrupt, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").expect("write");
    let not_pem = dir.path().join("notes.pem");
    std::fs::write(&not_pem, "not a certificate\n").expect("write");
    let cases = [
        (&no_pem, format!("TLS: cannot read sslrootcert {}: I/O error", no_pem.display())),
        (&corrupt, format!("TLS: sslrootcert {}: invalid peer certificate", corrupt.display())),
        (&not_pem, "TLS: no trusted root certificates to check the server with: pass sslrootcert=".to_string()),
    ];
    for (file, expected) in cases {
        let url = format!("postgresql://127.0.0.1:1/x?sslmode=verify-full&sslrootcert={}", file.display());
        let output = lockgate().args(["stats", "dump", "--database-url", &url]).output().expect("runs");
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(&expected), "{expected} in {stderr}");
    }
}

/// Several hosts with `target_session_attrs`: the one that fits, whatever the order.
#[test]
fn target_session_attrs_picks_among_several_hosts() {
    let pair = common::replicated();
    let (primary, replica) = (pair.primary_socket_dir(), pair.replica_socket_dir());
    let in_recovery = |hosts: String, attrs: &str| -> Result<bool, String> {
        let text = format!("host={hosts} port=5432 user=postgres dbname=postgres target_session_attrs={attrs}");
        let target = Endpoint::parse(&text).map_err(|e| e.to_string())?;
        let session = Session::open_writable(&target).map_err(|e| e.to_string())?;
        let rows = session.query_raw("SELECT pg_is_in_recovery()").map_err(|e| e.to_string())?;
        Ok(rows[0].get(0))
    };
    let (p, r) = (primary.display(), replica.display());
    assert_eq!(in_recovery(format!("{r},{p}"), "read-write"), Ok(false));
    assert_eq!(in_recovery(format!("{r},{p}"), "primary"), Ok(false));
    assert_eq!(in_recovery(format!("{p},{r}"), "standby"), Ok(true));
    assert_eq!(in_recovery(format!("{p},{r}"), "read-only"), Ok(true));
    assert_eq!(in_recovery(format!("{p},{r}"), "prefer-standby"), Ok(true));
    assert_eq!(in_recovery(format!("{p},{r}"), "any"), Ok(false));
    assert_eq!(in_recovery(format!("{p}"), "prefer-standby"), Ok(false), "no standby: any will do");
    let error = in_recovery(format!("{p}"), "standby").expect_err("no standby");
    assert!(error.contains("not a standby server"), "{error}");
}

/// What a connected command writes is delivered or the run fails: `stats dump > /dev/full`,
/// `calibrate -o` into a folder that does not exist.
#[test]
fn connected_commands_fail_when_their_output_is_lost() {
    let server = common::tls_server();
    let url = format!("host={} port={} user=postgres dbname=postgres", server.socket_dir.display(), server.port);
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("lockgate"))
        .args(["stats", "dump", "--database-url", &url])
        .stdout(full)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot write the statistics") && stderr.contains("No space left on device"), "{stderr}");

    let mut db = common::database();
    db.client
        .batch_execute("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g; ANALYZE t")
        .expect("a table");
    let url = db.url();
    let output = lockgate()
        .args(["calibrate", "--database-url", &url, "-o", "/nonexistent-folder/profile.json"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot write the throughput profile to /nonexistent-folder/profile.json"), "{stderr}");

    // trace, on a scratch database of its own: its report lost is a failed run too.
    let scratch = common::database();
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("lockgate"))
        .args(["trace", "--all", "--database-url", &scratch.url()])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sql"))
        .stdout(full)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot write the trace") && stderr.contains("No space left on device"), "{stderr}");
}
