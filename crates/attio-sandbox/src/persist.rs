//! The data directory: one snapshot file, `state.json`, read at start and rewritten whole after
//! changes. A write goes to `state.json.tmp` in the same directory, is flushed to disk, renamed
//! over `state.json` and the directory is flushed too, so a process killed at any moment leaves
//! either the old file or the new one, never a mix. The directory is 0700 and the file 0600 on
//! Unix: it holds webhook signing secrets.
//!
//! When it is written is `Shared`'s business (see `shared.rs`); this module counts changes and
//! does the I/O.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::store::Snapshot;

/// The snapshot file in the data directory.
pub const STATE_FILE: &str = "state.json";
/// Where a write goes before it is renamed over [`STATE_FILE`]; one left behind by a process
/// killed mid-write is removed at start.
const TEMP_FILE: &str = "state.json.tmp";

/// Why the state in a data directory could not be loaded or saved. It names the file.
#[derive(Debug)]
pub struct StateError {
    path: PathBuf,
    problem: String,
}

impl StateError {
    pub(crate) fn new(path: &Path, problem: impl fmt::Display) -> StateError {
        StateError {
            path: path.to_owned(),
            problem: problem.to_string(),
        }
    }

    /// The file (or directory) in question.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sandbox state {}: {}", self.path.display(), self.problem)
    }
}

impl std::error::Error for StateError {}

/// Where the state is written, and which changes it holds.
pub(crate) struct Persistence {
    pub files: Files,
    /// Changes made to the store so far (counted under the store's lock).
    generation: AtomicU64,
    /// The change the file holds.
    saved: AtomicU64,
    /// One write at a time; whoever writes takes the newest state, so waiting writers often
    /// find their change already saved.
    pub writer: tokio::sync::Mutex<()>,
    /// A background save is scheduled.
    pub scheduled: AtomicBool,
    /// Serving ended after a last save: nothing is written any more, so that a sandbox started
    /// on the same directory afterwards is never overwritten by this one.
    closed: AtomicBool,
}

/// The data directory's paths.
#[derive(Clone, Debug)]
pub(crate) struct Files {
    dir: PathBuf,
    file: PathBuf,
    temp: PathBuf,
}

impl Persistence {
    /// Prepares `dir` (created 0700 if missing) and reads its snapshot, if it has one. A
    /// half-written temporary file is removed; a snapshot that cannot be used is an error.
    pub fn open(dir: &Path) -> Result<(Persistence, Option<Snapshot>), StateError> {
        private_dir(dir).map_err(|e| StateError::new(dir, format!("cannot create: {e}")))?;
        let files = Files {
            dir: dir.to_owned(),
            file: dir.join(STATE_FILE),
            temp: dir.join(TEMP_FILE),
        };
        match fs::remove_file(&files.temp) {
            Ok(()) => tracing::warn!(
                path = %files.temp.display(),
                "removed a state file left half-written by an interrupted save"
            ),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(StateError::new(&files.temp, format!("cannot remove: {e}"))),
        }
        let snapshot = match fs::read(&files.file) {
            Ok(bytes) => Some(
                Snapshot::parse(&bytes).map_err(|problem| StateError::new(&files.file, problem))?,
            ),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(StateError::new(&files.file, format!("cannot read: {e}"))),
        };
        let persistence = Persistence {
            files,
            generation: AtomicU64::new(0),
            saved: AtomicU64::new(0),
            writer: tokio::sync::Mutex::new(()),
            scheduled: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        };
        Ok((persistence, snapshot))
    }

    /// Counts one change; called with the store locked.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub fn saved(&self) -> u64 {
        self.saved.load(Ordering::SeqCst)
    }

    pub fn mark_saved(&self, generation: u64) {
        self.saved.fetch_max(generation, Ordering::SeqCst);
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }
}

impl Files {
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Serialises and writes atomically (blocking: call it off the async threads).
    pub fn write(&self, snapshot: &Snapshot) -> Result<(), StateError> {
        let bytes = serde_json::to_vec(snapshot)
            .map_err(|e| StateError::new(&self.file, format!("cannot serialise: {e}")))?;
        self.write_bytes(&bytes)
            .map_err(|e| StateError::new(&self.file, format!("cannot write: {e}")))
    }

    fn write_bytes(&self, bytes: &[u8]) -> io::Result<()> {
        match fs::remove_file(&self.temp) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut file = private_file(&self.temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&self.temp, &self.file)?;
        sync_dir(&self.dir)
    }
}

#[cfg(unix)]
fn private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    // An existing directory is tightened too: the file in it holds secrets.
    let mode = fs::metadata(dir)?.permissions().mode() & 0o777;
    if mode != 0o700 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn private_file(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

/// Makes the rename itself durable. Only Unix can open a directory for this.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}
