//! Reading and writing a report file (JSON, written atomically).

use std::path::{Path, PathBuf};

use serde::{de::DeserializeOwned, Serialize};

/// Why a report could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The report file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not JSON of the expected report type.
    #[error("{path} is not the expected report ({what}): {message}")]
    Shape {
        /// The report file.
        path: PathBuf,
        /// The expected report type.
        what: &'static str,
        /// serde's message (names the missing or mistyped field).
        message: String,
    },
}

fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

/// Reads a report of type `T`; `Ok(None)` when the file does not exist.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, ReportError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ReportError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| ReportError::Shape {
            path: path.to_path_buf(),
            what: short_type_name::<T>(),
            message: e.to_string(),
        })
}

/// Writes `report` as pretty JSON to `path` atomically, creating its folder.
pub fn write<T: Serialize>(path: &Path, report: &T) -> Result<(), ReportError> {
    let io = |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut text = serde_json::to_string_pretty(report).map_err(|e| io(e.into()))?;
    text.push('\n');
    tbn_golden::atomic::write_file(path, text.as_bytes())
        .map_err(|e| io(std::io::Error::other(e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EvalReport;

    #[test]
    fn round_trip_missing_and_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/eval.json");
        assert!(read::<EvalReport>(&p).unwrap().is_none());
        let r = EvalReport {
            model: "m".into(),
            path: crate::EvalPath::Integer,
            correct: 9,
            total: 10,
            accuracy: 0.9,
            seconds: 0.5,
            act_bits: Some(8),
        };
        write(&p, &r).unwrap();
        assert_eq!(read::<EvalReport>(&p).unwrap(), Some(r));
        std::fs::write(&p, br#"{"cycles_per_inference": 5}"#).unwrap();
        let e = read::<EvalReport>(&p).unwrap_err().to_string();
        assert!(e.contains("not the expected report (EvalReport)"), "{e}");
        assert!(e.contains("missing field"), "{e}");
    }
}
