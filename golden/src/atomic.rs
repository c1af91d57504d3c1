//! Atomic outputs: a file is written under a temporary name in its folder and
//! renamed over the target only once complete, so a failed write never leaves
//! a truncated file where the old one was; a folder is built in a staging
//! folder next to it and swapped in only when all of it succeeded ([`dir`]).

use std::io::Write;
use std::path::Path;

pub mod dir;
pub use dir::{fill_dir, fill_dir_keep_failed, Staged};

use crate::error::{Error, Result};

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes `bytes` to `path` atomically (temporary file in the same folder,
/// flushed to disk, then renamed over `path`).
pub fn write_file(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    let path = path.as_ref();
    let mut tmp = tempfile::Builder::new()
        .prefix(".tbn-tmp-")
        .tempfile_in(parent_of(path))
        .map_err(|e| Error::io(path, e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io(path, e))?;
    // Temporary files are private (0600); an output gets the usual 0644.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(|e| Error::io(path, e))?;
    }
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_file_replaces_whole() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        write_file(&p, b"old").unwrap();
        write_file(&p, b"new!").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new!");
        assert!(write_file(d.path().join("missing/f"), b"x").is_err());
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }
}
