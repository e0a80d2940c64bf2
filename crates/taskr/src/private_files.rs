//! Taskr's files hold usernames, password hashes and sealed tokens: they are private to the
//! account that runs Taskr (directory 0700, files 0600) whatever the umask, and files left
//! readable by an older version are tightened at start-up.

use std::path::Path;

use anyhow::Context;

/// Creates `dir` (and its parents) if needed and makes it 0700.
pub fn private_dir(dir: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating the data directory {}", dir.display()))?;
        tighten(dir, 0o700)?;
        // Read back: a file system that ignores modes should not pass for private.
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(path = %dir.display(), mode = format!("{mode:o}"), "the data directory could not be made private");
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the data directory {}", dir.display()))?;
    Ok(())
}

/// Creates `path` empty with mode 0600 if it does not exist, and makes it 0600 if it does.
/// SQLite gives its `-wal` and `-shm` files the database file's mode, so a private database
/// file keeps them private too; existing ones are tightened here all the same.
pub fn private_file(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
        }
        tighten(path, 0o600)?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Makes an existing file private, if it exists.
pub fn private_if_present(path: &Path) -> anyhow::Result<()> {
    if path.exists() {
        #[cfg(unix)]
        tighten(path, 0o600)?;
    }
    Ok(())
}

#[cfg(unix)]
fn tighten(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let current = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .permissions()
        .mode()
        & 0o777;
    if current != mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("making {} private", path.display()))?;
        if current & 0o077 != 0 {
            tracing::info!(path = %path.display(), from = format!("{current:o}"), to = format!("{mode:o}"), "made a file private");
        }
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn directories_and_files_end_up_private_whether_new_or_not() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);

        let file = dir.join("taskr.db");
        private_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::write(&file, b"data").unwrap();
        private_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        assert_eq!(std::fs::read(&file).unwrap(), b"data", "contents kept");

        let wal = dir.join("taskr.db-wal");
        private_if_present(&wal).unwrap();
        assert!(!wal.exists(), "nothing is created");
        std::fs::write(&wal, b"").unwrap();
        std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o666)).unwrap();
        private_if_present(&wal).unwrap();
        assert_eq!(mode(&wal), 0o600);
    }
}
