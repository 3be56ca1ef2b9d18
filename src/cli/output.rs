//! Delivering what a command writes: a report that could not be written is an error (exit 2),
//! never a run that passed or failed on its findings, except a pipe closed by its reader.

use std::io;
use std::path::{Path, PathBuf};

/// A command's output that did not reach its reader; `what` names it (`the report`).
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write {what} to standard output: {source}")]
    Stdout { what: &'static str, source: io::Error },
    #[error("cannot write {what} to {}: {source}", path.display())]
    File { what: &'static str, path: PathBuf, source: io::Error },
}

/// The outcome of writing `what` to standard output. A closed pipe (`lockgate lint … | head`)
/// means the reader has what it wanted: quiet. Anything else (a full disk, a closed
/// descriptor) lost the report, and the run must not look as if it passed.
pub fn delivered(written: io::Result<()>, what: &'static str) -> Result<(), OutputError> {
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(source) => Err(OutputError::Stdout { what, source }),
        Ok(()) => Ok(()),
    }
}

/// Prints `text` to standard output, as [`delivered`] judges the write.
pub fn print(text: &str, what: &'static str) -> Result<(), OutputError> {
    use std::io::Write;
    let mut stdout = io::stdout().lock();
    delivered(stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()), what)
}

/// Writes `bytes` to the file `path`, or says which file could not be written and why.
pub fn write_file(path: &Path, bytes: impl AsRef<[u8]>, what: &'static str) -> Result<(), OutputError> {
    std::fs::write(path, bytes).map_err(|source| OutputError::File { what, path: path.into(), source })
}
