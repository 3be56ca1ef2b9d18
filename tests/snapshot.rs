//! Snapshot first: `apply` takes the snapshot before any DDL, records it, names it with its
//! restore command when a step fails, and does not start the phase when it cannot be taken.
//! RDS is a local moto server on loopback (started here; `scripts/deps` installs it); pg_dump
//! runs against the throwaway PostgreSQL cluster.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::project::{lockgate, write, Project};
use common::TestDb;

const SEED: &str = "CREATE TABLE orders (id bigint PRIMARY KEY, amount int);
                    INSERT INTO orders SELECT g, g FROM generate_series(1, 500) g;";

/// A throwaway database holding the `orders` table.
fn seeded() -> TestDb {
    let mut db = common::database();
    db.client.batch_execute(SEED).unwrap();
    db
}

/// A one-migration project adding an index and a column to `orders`, planned against `db`.
fn planned(db: &TestDb) -> (Project, String) {
    let project = Project::new(&[(
        "0001_orders_note.sql",
        "ALTER TABLE orders ADD COLUMN note text;\nCREATE INDEX orders_amount_idx ON orders (amount);\n",
    )]);
    let plan = project.plan(db);
    (project, plan["checksum"].as_str().unwrap().to_string())
}

/// `lockgate apply` of a phase with this `--snapshot`, `environment` set for lockgate only.
fn apply(project: &Project, db: &TestDb, phase: &str, snapshot: &str, environment: &[(&str, &str)]) -> Output {
    lockgate()
        .args(["apply", &project.plan_file(), "--phase", phase, "--database-url", &db.url()])
        .args(["--snapshot", snapshot, "--config", project.config.to_str().unwrap()])
        .envs(environment.iter().copied())
        .output()
        .unwrap()
}

fn has_column(db: &TestDb, column: &str) -> bool {
    let query = "SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = $1";
    db.connect().query_one(query, &[&column]).unwrap().get::<_, i64>(0) == 1
}

fn steps_started(db: &TestDb) -> i64 {
    let query = "SELECT count(*) FROM lockgate.steps WHERE started_at IS NOT NULL";
    db.connect().query_one(query, &[]).map(|r| r.get(0)).unwrap_or(0)
}

/// `lockgate status` of the database.
fn status(db: &TestDb) -> String {
    let output = lockgate().args(["status", "--database-url", &db.url()]).output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn journaled_snapshots(db: &mut TestDb) -> Vec<(String, String)> {
    let rows = db.client.query("SELECT status, snapshot_id FROM lockgate.snapshots ORDER BY taken_at", &[]).unwrap();
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}

/// The archives in a pg_dump snapshot directory.
fn archives(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    found.sort();
    found
}

#[test]
fn a_pg_dump_snapshot_is_verified_and_restores() {
    let mut db = seeded();
    let (project, checksum) = planned(&db);
    let dumps = project.dir.path().join("dumps");
    let spec = format!("pg_dump:{}", dumps.display());

    let output = apply(&project, &db, "expand", &spec, &[]);
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{log}");
    assert!(log.contains("readable by pg_restore"), "{log}");
    let archive = match archives(&dumps).as_slice() {
        [one] => one.clone(),
        other => panic!("one archive, not {other:?}"),
    };
    let name = archive.file_name().unwrap().to_str().unwrap().to_string();
    assert!(name.starts_with(&format!("lockgate-{}-expand-", &checksum[..12])) && name.ends_with("Z.dump"), "{name}");
    let journaled = journaled_snapshots(&mut db);
    assert_eq!(journaled, [("available".to_string(), archive.display().to_string())]);

    let restored = common::database();
    let status = Command::new(common::postgres_bin_dir().join("pg_restore"))
        .args(["--no-owner", "--dbname", &restored.url()])
        .arg(&archive)
        .status()
        .unwrap();
    assert!(status.success());
    let rows: i64 = restored.connect().query_one("SELECT count(*) FROM orders", &[]).unwrap().get(0);
    assert_eq!(rows, 500);
    assert!(!has_column(&restored, "note"), "the archive holds the database as it was before the phase");

    let listed = lockgate().args(["snapshots", "list", "--snapshot", &spec]).output().unwrap();
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&name));

    let rerun = apply(&project, &db, "expand", &spec, &[]);
    assert!(rerun.status.success(), "{}", String::from_utf8_lossy(&rerun.stderr));
    assert_eq!(archives(&dumps), [archive], "a finished phase takes no second snapshot");
}

#[test]
fn a_failing_step_names_the_snapshot_and_a_rerun_reuses_it() {
    let db = seeded();
    let project = Project::new(&[(
        "0001_bad.sql",
        "ALTER TABLE orders ADD COLUMN note text;\nCREATE UNIQUE INDEX orders_parity ON orders ((amount % 2));\n",
    )]);
    project.plan(&db);
    let dumps = project.dir.path().join("dumps");
    let spec = format!("pg_dump:{}", dumps.display());
    let output = apply(&project, &db, "expand", &spec, &[]);
    let log = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{log}");
    let archive = archives(&dumps).pop().expect("an archive");
    assert!(
        log.contains(&format!(
            "the database was snapshotted before this phase (pg_dump snapshot {}",
            archive.display()
        )),
        "{log}"
    );
    assert!(log.contains("pg_restore --clean --if-exists --single-transaction --dbname="), "{log}");

    let rerun = apply(&project, &db, "expand", &spec, &[]);
    let log = String::from_utf8_lossy(&rerun.stderr);
    assert_eq!(rerun.status.code(), Some(1), "{log}");
    assert!(log.contains("taken before this phase by an earlier run"), "{log}");
    assert_eq!(archives(&dumps), [archive], "the phase keeps the snapshot taken before its first step");
}

#[test]
fn a_command_hook_learns_the_phase_and_a_failing_one_stops_it() {
    let mut db = seeded();
    let (project, checksum) = planned(&db);
    let seen = project.dir.path().join("seen");
    let hook = write(
        project.dir.path(),
        "snap.sh",
        &format!(
            "echo \"$LOCKGATE_PHASE $LOCKGATE_PLAN_CHECKSUM $LOCKGATE_MIGRATIONS $LOCKGATE_DATABASE\" > {}\necho vol-snap-42\n",
            seen.display()
        ),
    );

    let failing = apply(&project, &db, "expand", "command:echo disk full >&2; exit 3", &[]);
    let log = String::from_utf8_lossy(&failing.stderr);
    assert_eq!(failing.status.code(), Some(1), "{log}");
    assert!(log.contains("failed (exit status: 3): disk full"), "{log}");
    assert!(!has_column(&db, "note"), "no DDL ran");
    assert_eq!(steps_started(&db), 0);
    assert!(status(&db).contains("failed: the snapshot command"), "status says why the phase did not start");

    let output = apply(&project, &db, "expand", &format!("command:sh {}", hook.display()), &[]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let said = std::fs::read_to_string(&seen).unwrap();
    let database = db.url().rsplit('/').next().unwrap().split('?').next().unwrap().to_string();
    assert!(said.starts_with(&format!("expand {checksum} 0001_orders_note ")), "{said}");
    assert!(said.trim_end().contains(&database), "LOCKGATE_DATABASE names the database: {said}");
    assert_eq!(journaled_snapshots(&mut db), [("available".to_string(), "vol-snap-42".to_string())]);
    assert!(status(&db).contains("vol-snap-42"), "the hook's last line is the snapshot's id");
}

#[test]
fn a_phase_that_needs_a_snapshot_refuses_to_start_without_a_provider() {
    let db = seeded();
    let (project, _) = planned(&db);
    std::fs::write(&project.config, "[apply]\nlock_timeout_ms = 200\n").unwrap();
    let output = project.apply(&db, "expand");
    let log = String::from_utf8_lossy(&output.stderr);
    // Its configuration, not a step, stopped it: exit 2, as for any phase that could not start.
    assert_eq!(output.status.code(), Some(2), "{log}");
    assert!(log.contains("no snapshot provider is set") && log.contains("--snapshot none"), "{log}");
    assert!(!has_column(&db, "note"));
}

#[test]
fn a_phase_whose_work_is_already_there_takes_no_snapshot() {
    let mut db = seeded();
    let (project, _) = planned(&db);
    // Someone ran the migration by hand after the plan was made.
    db.client
        .batch_execute("ALTER TABLE orders ADD COLUMN note text; CREATE INDEX orders_amount_idx ON orders (amount);")
        .unwrap();
    std::fs::write(&project.config, "[apply]\nlock_timeout_ms = 200\n").unwrap();
    let output = project.apply(&db, "expand");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "no provider is needed when no step runs: {log}");
    assert!(log.contains("0 steps ran, 2 already there"), "{log}");
    assert_eq!(journaled_snapshots(&mut db), []);
}

#[test]
fn a_contract_phase_waiting_for_its_window_takes_no_snapshot_yet() {
    let db = seeded();
    let project = Project::new(&[("0001_drop_amount.sql", "ALTER TABLE orders DROP COLUMN amount;\n")]);
    project.plan(&db);
    assert!(project.apply(&db, "expand").status.success());
    assert!(project.apply(&db, "backfill").status.success());
    std::fs::write(&project.config, "[backfill]\n[[backfill.windows]]\nstart = \"01:00\"\nend = \"02:00\"\n").unwrap();
    let dumps = project.dir.path().join("dumps");
    let spec = format!("pg_dump:{}", dumps.display());
    let clock = write(project.dir.path(), "clock", "2026-11-23T12:00:00Z");
    let contract = |clock: &Path| {
        lockgate()
            .env("LOCKGATE_CLOCK_FILE", clock)
            .args(["apply", &project.plan_file(), "--phase", "contract", "--database-url", &db.url()])
            .args(["--snapshot", &spec, "--config", project.config.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let waiting = contract(&clock);
    assert_eq!(waiting.status.code(), Some(3), "{}", String::from_utf8_lossy(&waiting.stderr));
    assert_eq!(archives(&dumps), Vec::<PathBuf>::new(), "a snapshot now would miss the writes until the window");

    std::fs::write(&clock, "2026-11-23T01:30:00Z").unwrap();
    let in_window = contract(&clock);
    assert!(in_window.status.success(), "{}", String::from_utf8_lossy(&in_window.stderr));
    assert_eq!(archives(&dumps).len(), 1);
    assert!(!has_column(&db, "amount"));
}

#[test]
fn a_refused_rollback_points_at_the_snapshot() {
    let db = seeded();
    let project = Project::new(&[("0001_drop_amount.sql", "ALTER TABLE orders DROP COLUMN amount;\n")]);
    project.plan(&db);
    let dumps = project.dir.path().join("dumps");
    let spec = format!("pg_dump:{}", dumps.display());
    for phase in ["expand", "backfill", "contract"] {
        let output = apply(&project, &db, phase, &spec, &[]);
        assert!(output.status.success(), "{phase}: {}", String::from_utf8_lossy(&output.stderr));
    }
    let archive = archives(&dumps).pop().expect("the contract phase's archive");

    let output = lockgate()
        .args(["rollback", &project.plan_file(), "--database-url", &db.url()])
        .args(["--config", project.config.to_str().unwrap()])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{log}");
    assert!(log.contains(&format!("pg_dump snapshot {}", archive.display())) && log.contains("pg_restore"), "{log}");
}

/// `lockgate snapshots` that cannot list a source exits 2 and says which source and why.
#[test]
fn a_source_that_cannot_be_listed_exits_2_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("backups");
    let list = |spec: Option<&str>| {
        let mut command = lockgate();
        command.current_dir(dir.path()).args(["snapshots", "list"]);
        if let Some(spec) = spec {
            command.args(["--snapshot", spec]);
        }
        let output = command.output().unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let (code, said) = list(None);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("--snapshot rds:<id> or pg_dump:<directory> is required"), "{said}");
    let (code, said) = list(Some(&format!("pg_dump:{}", missing.display())));
    assert_eq!(code, Some(2), "{said}");
    assert!(said.starts_with(&format!("error: pg_dump:{}: ", missing.display())), "names the directory: {said}");
    let (code, said) = list(Some("command:./snap.sh"));
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("only rds: and pg_dump: snapshots can be listed"), "{said}");
    let (code, said) = list(Some("s3:bucket"));
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("snapshot provider `s3:bucket` is not one lockgate knows: use rds:"), "{said}");
}

#[test]
fn prune_keeps_the_newest_pg_dump_archives_and_nothing_else_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    let day = std::time::Duration::from_secs(86_400);
    for (n, name) in
        ["lockgate-a-expand-1.dump", "lockgate-b-expand-2.dump", "lockgate-c-contract-3.dump"].iter().enumerate()
    {
        let file = std::fs::File::create(dir.path().join(name)).unwrap();
        file.set_modified(std::time::SystemTime::now() - day * (3 - n as u32)).unwrap();
    }
    write(dir.path(), "nightly.dump", "not lockgate's");
    let spec = format!("pg_dump:{}", dir.path().display());

    let output = lockgate().args(["snapshots", "prune", "--keep", "1", "--snapshot", &spec]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("2 deleted, the newest 1 kept"));
    let left: Vec<String> =
        archives(dir.path()).iter().map(|p| p.file_name().unwrap().to_str().unwrap().to_string()).collect();
    assert_eq!(left, ["lockgate-c-contract-3.dump", "nightly.dump"]);
}

/// RDS and Aurora, against moto.
mod rds {
    use std::net::TcpListener;
    use std::process::{ChildStdin, Stdio};
    use std::sync::OnceLock;
    use std::time::{Duration, Instant};

    use aws_sdk_rds::Client;

    use super::*;

    /// A moto server for this test process, stopped when the process exits (its watcher's stdin
    /// is our pipe, as for the PostgreSQL cluster).
    struct Moto {
        endpoint: String,
        _lifeline: ChildStdin,
    }

    fn start_moto(snapshot_limit: Option<u32>) -> Moto {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!(
                "python3 -m moto.server -H 127.0.0.1 -p {port} >/dev/null 2>&1 & server=$!; cat >/dev/null; kill $server"
            ))
            .stdin(Stdio::piped());
        if let Some(limit) = snapshot_limit {
            command.env("MOTO_RDS_SNAPSHOT_LIMIT", limit.to_string());
        }
        let lifeline = command.spawn().expect("sh runs").stdin.take().expect("piped stdin");
        let endpoint = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto did not start (scripts/deps installs moto[server])"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto { endpoint, _lifeline: lifeline }
    }

    fn moto() -> &'static Moto {
        static MOTO: OnceLock<Moto> = OnceLock::new();
        MOTO.get_or_init(|| start_moto(None))
    }

    /// A second server whose account may keep one snapshot: the automated one of the instance
    /// the test creates.
    fn moto_without_quota() -> &'static Moto {
        static MOTO: OnceLock<Moto> = OnceLock::new();
        MOTO.get_or_init(|| start_moto(Some(1)))
    }

    /// The AWS settings of lockgate's process: moto's endpoint and fake credentials, nothing
    /// read from the machine's own AWS configuration.
    fn aws_env(moto: &Moto) -> [(&str, &str); 7] {
        [
            ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_CONFIG_FILE", "/nonexistent"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    fn rds(moto: &Moto) -> Client {
        let config = aws_sdk_rds::Config::builder()
            .behavior_version(aws_sdk_rds::config::BehaviorVersion::latest())
            .region(aws_sdk_rds::config::Region::new("us-east-1"))
            .endpoint_url(&moto.endpoint)
            .credentials_provider(aws_sdk_rds::config::Credentials::new("testing", "testing", None, None, "tests"))
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .build();
        Client::from_conf(config)
    }

    fn create_instance(moto: &Moto, id: &str, cluster: Option<&str>) {
        let client = rds(moto);
        runtime().block_on(async {
            if let Some(cluster) = cluster {
                client
                    .create_db_cluster()
                    .db_cluster_identifier(cluster)
                    .engine("aurora-postgresql")
                    .master_username("app")
                    .master_user_password("password123")
                    .send()
                    .await
                    .expect("create cluster");
            }
            let mut instance = client
                .create_db_instance()
                .db_instance_identifier(id)
                .db_instance_class("db.t3.medium")
                .engine(if cluster.is_some() { "aurora-postgresql" } else { "postgres" });
            instance = match cluster {
                Some(cluster) => instance.db_cluster_identifier(cluster),
                None => instance.allocated_storage(20).master_username("app").master_user_password("password123"),
            };
            instance.send().await.expect("create instance");
        });
    }

    /// Snapshot ids with their tags, instance and cluster snapshots alike.
    fn snapshots(moto: &Moto) -> Vec<(String, Vec<(String, String)>)> {
        let client = rds(moto);
        runtime().block_on(async {
            let pair = |t: &aws_sdk_rds::types::Tag| {
                (t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string())
            };
            let instances = client.describe_db_snapshots().send().await.expect("describe snapshots");
            let clusters = client.describe_db_cluster_snapshots().send().await.expect("describe cluster snapshots");
            let mut all: Vec<(String, Vec<(String, String)>)> = instances
                .db_snapshots()
                .iter()
                .map(|s| {
                    (
                        s.db_snapshot_identifier().unwrap_or_default().to_string(),
                        s.tag_list().iter().map(pair).collect(),
                    )
                })
                .collect();
            all.extend(clusters.db_cluster_snapshots().iter().map(|s| {
                (
                    s.db_cluster_snapshot_identifier().unwrap_or_default().to_string(),
                    s.tag_list().iter().map(pair).collect(),
                )
            }));
            all
        })
    }

    #[test]
    fn an_instance_snapshot_is_taken_and_tagged_before_any_ddl() {
        let moto = moto();
        create_instance(moto, "shop-primary", None);
        let mut db = seeded();
        let (project, checksum) = planned(&db);

        let output = apply(&project, &db, "expand", "rds:shop-primary", &aws_env(moto));
        let log = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{log}");
        assert!(log.contains("Single-AZ instance"), "the I/O pause is said: {log}");
        let id = format!("lockgate-{}-expand", &checksum[..12]);
        let (_, tags) = snapshots(moto).into_iter().find(|(s, _)| *s == id).expect("the snapshot exists");
        for (key, value) in [("tool", "lockgate"), ("lockgate:plan", checksum.as_str()), ("lockgate:phase", "expand")] {
            assert!(tags.contains(&(key.to_string(), value.to_string())), "tag {key}={value} in {tags:?}");
        }
        assert!(tags.iter().any(|(k, v)| k == "lockgate:migrations" && v.contains("0001_orders_note")), "{tags:?}");
        let before: bool = db
            .client
            .query_one(
                "SELECT (SELECT taken_at FROM lockgate.snapshots WHERE phase = 'expand') <= \
                 (SELECT min(started_at) FROM lockgate.steps)",
                &[],
            )
            .unwrap()
            .get(0);
        assert!(before, "the snapshot is journaled before the first step starts");
        assert!(has_column(&db, "note"));

        let status = lockgate().args(["status", "--database-url", &db.url()]).output().unwrap();
        assert!(String::from_utf8_lossy(&status.stdout).contains(&id), "status names the snapshot");
    }

    #[test]
    fn a_cluster_member_snapshots_its_cluster() {
        let moto = moto();
        create_instance(moto, "aurora-writer", Some("aurora-shop"));
        let db = seeded();
        let (project, checksum) = planned(&db);

        let output = apply(&project, &db, "expand", "rds:aurora-writer", &aws_env(moto));
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let id = format!("lockgate-{}-expand", &checksum[..12]);
        let client = rds(moto);
        let cluster_snapshot = runtime().block_on(async {
            client.describe_db_cluster_snapshots().db_cluster_snapshot_identifier(&id).send().await
        });
        let found = cluster_snapshot.expect("a cluster snapshot, not an instance one");
        assert_eq!(found.db_cluster_snapshots()[0].db_cluster_identifier(), Some("aurora-shop"));
    }

    #[test]
    fn an_unknown_instance_stops_the_phase_before_any_ddl() {
        let moto = moto();
        let db = seeded();
        let (project, _) = planned(&db);

        let output = apply(&project, &db, "expand", "rds:no-such-db", &aws_env(moto));
        let log = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{log}");
        assert!(log.contains("rds:no-such-db: no DB instance or DB cluster"), "{log}");
        assert!(!has_column(&db, "note"), "no DDL ran");
        assert_eq!(steps_started(&db), 0);
    }

    #[test]
    fn an_exceeded_snapshot_quota_stops_the_phase_before_any_ddl() {
        let moto = moto_without_quota();
        create_instance(moto, "quota-db", None);
        let db = seeded();
        let (project, _) = planned(&db);

        let output = apply(&project, &db, "expand", "rds:quota-db", &aws_env(moto));
        let log = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{log}");
        assert!(log.contains("snapshot quota is reached") && log.contains("snapshots prune"), "{log}");
        assert!(!has_column(&db, "note"), "no DDL ran");
        assert_eq!(steps_started(&db), 0);
    }

    #[test]
    fn a_taken_id_is_reused_when_it_is_this_phases_and_skipped_when_not() {
        let moto = moto();
        create_instance(moto, "dup-db", None);
        let client = rds(moto);
        let mut db = seeded();
        let (project, checksum) = planned(&db);
        let id = format!("lockgate-{}-expand", &checksum[..12]);
        let tag = |k: &str, v: &str| aws_sdk_rds::types::Tag::builder().key(k).value(v).build();
        // Someone else's snapshot under the id lockgate would use, and under the next one a
        // snapshot with this phase's tags but of another instance (a restored copy of this
        // database, say), which would not restore this one.
        create_instance(moto, "dup-copy", None);
        runtime().block_on(async {
            client
                .create_db_snapshot()
                .db_instance_identifier("dup-db")
                .db_snapshot_identifier(&id)
                .send()
                .await
                .unwrap();
            client
                .create_db_snapshot()
                .db_instance_identifier("dup-copy")
                .db_snapshot_identifier(format!("{id}-2"))
                .tags(tag("lockgate:plan", &checksum))
                .tags(tag("lockgate:phase", "expand"))
                .send()
                .await
                .unwrap();
        });

        let output = apply(&project, &db, "expand", "rds:dup-db", &aws_env(moto));
        let log = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{log}");
        assert!(log.contains(&format!("snapshot {id} exists and is not this phase's")), "{log}");
        assert!(log.contains(&format!("snapshot {id}-2 exists and is not this phase's")), "{log}");
        let taken: String = db.client.query_one("SELECT snapshot_id FROM lockgate.snapshots", &[]).unwrap().get(0);
        assert_eq!(taken, format!("{id}-3"));

        // A run that crashed after the snapshot but before journaling it left this phase's own
        // snapshot under the id: the rerun uses it rather than taking another.
        let mut rerun = seeded();
        let (rerun_project, rerun_checksum) = planned(&rerun);
        let own = format!("lockgate-{}-expand", &rerun_checksum[..12]);
        runtime()
            .block_on(async {
                client
                    .create_db_snapshot()
                    .db_instance_identifier("dup-db")
                    .db_snapshot_identifier(&own)
                    .tags(tag("lockgate:plan", &rerun_checksum))
                    .tags(tag("lockgate:phase", "expand"))
                    .send()
                    .await
            })
            .unwrap();
        let before = snapshots(moto).len();
        let output = apply(&rerun_project, &rerun, "expand", "rds:dup-db", &aws_env(moto));
        let log = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{log}");
        assert!(log.contains("taken for this phase by an earlier run; using it"), "{log}");
        assert_eq!(snapshots(moto).len(), before, "no second snapshot");
        let taken: String = rerun.client.query_one("SELECT snapshot_id FROM lockgate.snapshots", &[]).unwrap().get(0);
        assert_eq!(taken, own);
    }

    #[test]
    fn prune_keeps_the_newest_lockgate_snapshots() {
        let moto = moto();
        create_instance(moto, "prune-db", None);
        let client = rds(moto);
        runtime().block_on(async {
            for n in 1..=3 {
                client
                    .create_db_snapshot()
                    .db_instance_identifier("prune-db")
                    .db_snapshot_identifier(format!("lockgate-old-{n}"))
                    .tags(aws_sdk_rds::types::Tag::builder().key("tool").value("lockgate").build())
                    .send()
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(1100)).await;
            }
            client
                .create_db_snapshot()
                .db_instance_identifier("prune-db")
                .db_snapshot_identifier("manual-keep")
                .send()
                .await
                .unwrap();
        });
        let output = lockgate()
            .args(["snapshots", "prune", "--keep", "1", "--snapshot", "rds:prune-db"])
            .envs(aws_env(moto))
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let left: Vec<String> = snapshots(moto)
            .into_iter()
            .map(|(id, _)| id)
            .filter(|id| id.contains("old") || id == "manual-keep")
            .collect();
        assert!(left.contains(&"lockgate-old-3".to_string()) && left.contains(&"manual-keep".to_string()), "{left:?}");
        assert!(
            !left.contains(&"lockgate-old-1".to_string()) && !left.contains(&"lockgate-old-2".to_string()),
            "{left:?}"
        );
    }
}
