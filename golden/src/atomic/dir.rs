//! Atomic output folders: the new contents are built in a staging folder
//! next to the target and swapped into place only when complete, so an error
//! late in a run leaves the previous folder exactly as it was.
//!
//! The swap is one `renameat2(RENAME_EXCHANGE)` on Linux (the target never
//! disappears, not even for an instant); elsewhere, or on a file system
//! without it, the old folder is renamed aside, the new one renamed in, and
//! the old one removed only after that succeeded (put back if it failed).

use std::path::{Path, PathBuf};

use super::parent_of;
use crate::error::{Error, Result};

/// Fills the folder `out` atomically: `fill` writes into a fresh staging
/// folder next to `out` (same file system); only when it succeeds does the
/// staging folder replace `out` (a previous `out` and everything in it is
/// removed then). On error the staging folder is removed and `out` is
/// untouched. Returns `fill`'s result with staged paths mapped into `out`
/// by [`Staged::final_path`].
///
/// Refuses an `out` that is the current directory or one of its ancestors
/// (replacing it would remove the folder the command runs in), and an
/// existing `out` that is not a folder.
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

fn refuse(out: &Path, why: &str) -> Error {
    Error::io(
        out,
        std::io::Error::new(std::io::ErrorKind::InvalidInput, why.to_string()),
    )
}

/// Checks that `out` may be replaced as a whole.
pub fn check_out_dir(out: &Path) -> Result<()> {
    if out.as_os_str().is_empty() {
        return Err(refuse(out, "an empty output folder name"));
    }
    let Ok(meta) = std::fs::symlink_metadata(out) else {
        return Ok(()); // Nothing there yet: nothing to replace.
    };
    if !meta.is_dir() {
        return Err(refuse(out, "exists and is not a folder"));
    }
    let here = std::env::current_dir().and_then(|d| d.canonicalize());
    let there = out.canonicalize();
    if let (Ok(here), Ok(there)) = (here, there) {
        if here.starts_with(&there) {
            return Err(refuse(
                out,
                "is the current directory or one of its ancestors; an output folder is \
                 replaced as a whole, so give a folder of its own (e.g. out/NAME)",
            ));
        }
    }
    Ok(())
}

fn fill_dir_with<T, E: From<Error>>(
    out: &Path,
    keep_failed: bool,
    fill: impl FnOnce(&Staged) -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    check_out_dir(out)?;
    let parent = parent_of(out);
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let name = out
        .file_name()
        .map_or("out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.partial-"))
        .tempdir_in(parent)
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
    // The staging folder is private (0700, from tempfile); an output folder
    // gets the usual 0755.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io(out, e))?;
    }
    swap_in(tmp, out, &name)?;
    Ok(value)
}

/// Moves the complete staging folder to `out`, replacing a previous `out`.
fn swap_in(tmp: tempfile::TempDir, out: &Path, name: &str) -> Result<()> {
    if std::fs::symlink_metadata(out).is_err() {
        let staged = tmp.keep();
        return std::fs::rename(&staged, out).map_err(|e| {
            let _ = std::fs::remove_dir_all(&staged);
            Error::io(out, e)
        });
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        if renameat_with(CWD, tmp.path(), CWD, out, RenameFlags::EXCHANGE).is_ok() {
            // `tmp` now holds the previous folder; dropping it removes it.
            return Ok(());
        }
    }
    // Portable fallback: old aside (inside a fresh hidden folder), new in,
    // then the old removed; on failure the old one is put back.
    let aside = tempfile::Builder::new()
        .prefix(&format!(".{name}.old-"))
        .tempdir_in(parent_of(out))
        .map_err(|e| Error::io(out, e))?;
    let old = aside.path().join("old");
    std::fs::rename(out, &old).map_err(|e| Error::io(out, e))?;
    if let Err(e) = std::fs::rename(tmp.path(), out) {
        let _ = std::fs::rename(&old, out);
        return Err(Error::io(out, e));
    }
    let _ = tmp.keep(); // renamed away: nothing left to remove
    drop(aside);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

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
        assert_eq!(entries(d.path()), ["o"]);
    }

    /// A late error leaves the previous folder as it was; success replaces
    /// it as a whole (stale files of the previous run go) and leaves no
    /// staging or old folder behind.
    #[test]
    fn late_error_keeps_the_previous_folder() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("o");
        fill_dir(&out, |s| -> Result<()> {
            std::fs::write(s.path().join("a"), "1").unwrap();
            std::fs::write(s.path().join("stale"), "1").unwrap();
            Ok(())
        })
        .unwrap();
        let r: Result<()> = fill_dir(&out, |s| {
            std::fs::write(s.path().join("a"), "2").unwrap();
            Err(Error::Unsupported("late".into()))
        });
        assert!(r.is_err());
        assert_eq!(entries(&out), ["a", "stale"]);
        assert_eq!(std::fs::read_to_string(out.join("a")).unwrap(), "1");
        assert_eq!(entries(d.path()), ["o"]);
        fill_dir(&out, |s| -> Result<()> {
            std::fs::write(s.path().join("a"), "3").unwrap();
            Ok(())
        })
        .unwrap();
        assert_eq!(entries(&out), ["a"]);
        assert_eq!(std::fs::read_to_string(out.join("a")).unwrap(), "3");
        assert_eq!(entries(d.path()), ["o"]);
    }

    #[test]
    fn keep_failed_keeps_the_staging_folder_only() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("o");
        let r: Result<()> = fill_dir_keep_failed(&out, |s| {
            std::fs::write(s.path().join("log"), "why").unwrap();
            Err(Error::Unsupported("late".into()))
        });
        assert!(r.is_err());
        assert!(!out.exists());
        let left = entries(d.path());
        assert_eq!(left.len(), 1);
        assert!(left[0].starts_with(".o.partial-"), "{left:?}");
    }

    #[test]
    fn refuses_the_current_directory_and_its_ancestors_and_files() {
        let here = std::env::current_dir().unwrap();
        for p in [
            here.clone(),
            here.parent().unwrap().to_path_buf(),
            ".".into(),
        ] {
            let r = fill_dir(&p, |_| -> Result<()> { panic!("ran for {}", p.display()) });
            let e = r.unwrap_err().to_string();
            assert!(e.contains("current directory"), "{}: {e}", p.display());
        }
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("file");
        std::fs::write(&f, "x").unwrap();
        let e = fill_dir(&f, |_| -> Result<()> { Ok(()) }).unwrap_err();
        assert!(e.to_string().contains("not a folder"), "{e}");
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "x");
    }
}
