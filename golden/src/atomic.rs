//! Atomic outputs: a file is written under a temporary name in its folder and
//! renamed over the target only once complete, so a failed write never leaves
//! a truncated file where the old one was; a folder's files are generated in
//! a staging folder next to it and moved in only when all of them succeeded.

use std::io::Write;
use std::path::{Path, PathBuf};

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

/// Fills the folder `out` atomically: `fill` writes into a fresh staging
/// folder next to `out` (same file system); only when it succeeds are the
/// staged entries renamed into `out` (created if needed; other files already
/// in `out` are kept). On error the staging folder is removed and `out` is
/// untouched. Returns `fill`'s result with staged paths mapped into `out`
/// by [`Staged::final_path`].
pub fn fill_dir<T, E: From<Error>>(
    out: impl AsRef<Path>,
    fill: impl FnOnce(&Staged) -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    fill_dir_with(out.as_ref(), false, fill)
}

/// [`fill_dir`] that keeps the staging folder (a hidden `.<out>.partial-*`
/// folder next to `out`) when `fill` fails, for the logs an error names;
/// `out` itself is untouched either way.
pub fn fill_dir_keep_failed<T, E: From<Error>>(
    out: impl AsRef<Path>,
    fill: impl FnOnce(&Staged) -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    fill_dir_with(out.as_ref(), true, fill)
}

fn fill_dir_with<T, E: From<Error>>(
    out: &Path,
    keep_failed: bool,
    fill: impl FnOnce(&Staged) -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    let name = out
        .file_name()
        .map_or("out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.partial-"))
        .tempdir_in(parent_of(out))
        .map_err(|e| Error::io(out, e))?;
    let staged = Staged {
        dir: tmp.path().to_path_buf(),
        out: out.to_path_buf(),
    };
    let value = match fill(&staged) {
        Ok(v) => v,
        Err(e) => {
            if keep_failed {
                let _ = tmp.keep();
            }
            return Err(e);
        }
    };
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    move_into(tmp.path(), out)?;
    Ok(value)
}

/// The staging folder of [`fill_dir`].
pub struct Staged {
    dir: PathBuf,
    out: PathBuf,
}

impl Staged {
    /// The folder to write into.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Where a path inside the staging folder ends up.
    pub fn final_path(&self, staged: &Path) -> PathBuf {
        staged
            .strip_prefix(&self.dir)
            .map_or_else(|_| staged.to_path_buf(), |rel| self.out.join(rel))
    }
}

fn move_into(from: &Path, to: &Path) -> Result<()> {
    for entry in std::fs::read_dir(from).map_err(|e| Error::io(from, e))? {
        let entry = entry.map_err(|e| Error::io(from, e))?;
        let src = entry.path();
        let dst = to.join(entry.file_name());
        if src.is_dir() && dst.is_dir() {
            move_into(&src, &dst)?;
        } else {
            std::fs::rename(&src, &dst).map_err(|e| Error::io(&dst, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_fill_leaves_nothing() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("o");
        let r: Result<()> = fill_dir(&out, |s| {
            std::fs::write(s.path().join("a"), "x").unwrap();
            Err(Error::Unsupported("late".into()))
        });
        assert!(r.is_err());
        assert!(!out.exists());
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
        fill_dir(&out, |s| -> Result<()> {
            std::fs::create_dir(s.path().join("sub")).unwrap();
            std::fs::write(s.path().join("sub/b"), "y").unwrap();
            Ok(())
        })
        .unwrap();
        assert_eq!(std::fs::read_to_string(out.join("sub/b")).unwrap(), "y");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

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
