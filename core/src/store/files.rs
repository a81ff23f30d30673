//! A store's files are its owner's alone, whatever the process's umask: its folder 0700, the
//! database and SQLite's files beside it (`-wal`, `-shm`) 0600. A store holds health and
//! legal-status records: encrypted or not, another account of the machine has no business
//! reading, copying or listing it. Unix only; elsewhere these do nothing.

use std::io;
use std::path::Path;

/// SQLite's files beside a database: the write-ahead log, its shared index, and the rollback
/// journal a new database may use before it switches to the log.
const SIDE_FILES: [&str; 3] = ["-wal", "-shm", "-journal"];

#[cfg(unix)]
const FOLDER_MODE: u32 = 0o700;
#[cfg(unix)]
const FILE_MODE: u32 = 0o600;

/// Makes `dir` a private folder: created 0700 (with any missing parent) when absent, tightened
/// to 0700 when it is open to its group or to others. A shared folder (the sticky bit, as on
/// `/tmp`) is left alone: it is meant for everyone and narrowing it would break other programs;
/// the files a store puts in it are still private.
pub fn private_folder(dir: &Path) -> io::Result<()> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        match std::fs::metadata(dir) {
            Ok(meta) => {
                let mode = meta.permissions().mode();
                let sticky = mode & 0o1000 != 0;
                if mode & 0o077 != 0 && !sticky {
                    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(FOLDER_MODE))?;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(FOLDER_MODE)
                    .create(dir)?;
                // The mode given to mkdir is narrowed by the umask; say it once more without.
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(FOLDER_MODE))?;
            }
            Err(e) => return Err(e),
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)?;
    Ok(())
}

/// Creates an empty file that only its owner can read and write; fails if `path` exists. SQLite
/// takes an empty file for a new database, and gives its `-wal` and `-shm` files the mode of
/// the database file: they are born private too.
pub(crate) fn create_private_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(FILE_MODE);
        let file = options.open(path)?;
        // The mode given to open is narrowed by the umask; say it once more without.
        file.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))?;
    }
    #[cfg(not(unix))]
    options.open(path)?;
    Ok(())
}

/// Narrows the database at `path` and SQLite's files beside it to 0600 where they are open to
/// the group or to others (a store made before this rule, a log file left by another program).
/// Files that are not there are skipped.
pub(crate) fn tighten_store_files(path: &Path) -> io::Result<()> {
    tighten_file(path)?;
    for suffix in SIDE_FILES {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        tighten_file(Path::new(&side))?;
    }
    Ok(())
}

fn tighten_file(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = match std::fs::metadata(path) {
            Ok(meta) => meta.permissions().mode(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(FILE_MODE))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
