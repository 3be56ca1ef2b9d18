//! A migrations folder with its lockgate.toml, planned and applied through the CLI.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

pub fn lockgate() -> Command {
    let mut cmd = Command::cargo_bin("lockgate").expect("binary builds");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).env("NO_COLOR", "1");
    cmd
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

/// A fast retry schedule, so contention tests take a second, not minutes; no snapshot (the
/// snapshot tests name their provider).
pub const FAST: &str = "[apply]\nlock_timeout_ms = 200\nstatement_timeout_ms = 30000\nretries = [[200, 100], [200, 100], [200, 100]]\nrunner_lock_timeout_ms = 300\n[snapshot]\nprovider = \"none\"\n";

pub struct Project {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Project {
    pub fn new(files: &[(&str, &str)]) -> Project {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            write(dir.path(), &format!("migrations/{name}"), text);
        }
        let config = write(dir.path(), "lockgate.toml", FAST);
        Project { dir, config }
    }

    pub fn migrations(&self) -> String {
        self.dir.path().join("migrations").display().to_string()
    }

    pub fn plan_file(&self) -> String {
        self.dir.path().join("plan.json").display().to_string()
    }

    pub fn plan(&self, db: &super::TestDb) -> Value {
        let url = db.url();
        let output = lockgate()
            .args(["plan", "--database-url", &url, "-o", &self.plan_file(), &self.migrations()])
            .args(["--config", self.config.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(output.status.success(), "plan failed: {}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_str(&std::fs::read_to_string(self.plan_file()).unwrap()).unwrap()
    }

    pub fn apply(&self, db: &super::TestDb, phase: &str) -> Output {
        let url = db.url();
        lockgate()
            .args(["apply", &self.plan_file(), "--phase", phase, "--database-url", &url])
            .args(["--config", self.config.to_str().unwrap()])
            .output()
            .unwrap()
    }

    pub fn apply_all(&self, db: &super::TestDb) {
        for phase in ["expand", "backfill", "contract"] {
            let output = self.apply(db, phase);
            assert!(output.status.success(), "{phase} failed: {}", String::from_utf8_lossy(&output.stderr));
        }
    }
}
