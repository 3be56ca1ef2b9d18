//! Delivering what a command writes: a report that could not be written is an error (exit 2),
//! never a run that passed or failed on its findings, except a pipe closed by its reader.

use std::io;
use std::path::Path;

/// The outcome of writing `what` to standard output. A closed pipe (`lockgate lint … | head`)
/// means the reader has what it wanted: quiet. Anything else (a full disk, a closed
/// descriptor) lost the report, and the run must not look as if it passed.
pub fn delivered(written: io::Result<()>, what: &str) -> Result<(), String> {
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(format!("cannot write {what} to standard output: {e}")),
        Ok(()) => Ok(()),
    }
}

/// Prints `text` to standard output, as [`delivered`] judges the write.
pub fn print(text: &str, what: &str) -> Result<(), String> {
    use std::io::Write;
    let mut stdout = io::stdout().lock();
    delivered(stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()), what)
}

/// Writes `bytes` to the file `path`, or says which file could not be written and why.
pub fn write_file(path: &Path, bytes: impl AsRef<[u8]>, what: &str) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {what} to {}: {e}", path.display()))
}
