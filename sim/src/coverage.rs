//! Reading Verilator coverage databases (`coverage.dat`) and summarising them.
//!
//! Each record of the database is one coverage point: `C '<keys>' <count>`, the keys
//! being `\x01key\x02value` pairs (`f` file, `l` line, `page` kind such as
//! `v_line/top` or `v_toggle/top`, `o` comment, `h` hierarchy). Points of the same
//! kind are counted here as covered when their count is above zero.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::error::{Result, SimError};

/// One coverage point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Point {
    /// Kind: `line`, `branch`, `toggle`, `expr`, `user`, ...
    pub kind: String,
    /// Source file.
    pub file: String,
    /// Source line.
    pub line: u32,
    /// Verilator's comment (signal name for toggles, `if`/`else`/`block` for lines).
    pub comment: String,
    /// Hierarchy path of the instance.
    pub hier: String,
    /// Hit count.
    pub count: u64,
}

/// Covered and total points of one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Points hit at least once.
    pub covered: u64,
    /// All points.
    pub total: u64,
}

impl Tally {
    /// Covered fraction (1.0 when there are no points).
    pub fn ratio(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.covered as f64 / self.total as f64
        }
    }
}

/// A parsed coverage database.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// All points.
    pub points: Vec<Point>,
}

fn unescape(s: &str) -> String {
    // Verilator writes keys with C-like escapes for the separators.
    s.replace("\\001", "\x01").replace("\\002", "\x02")
}

impl Summary {
    /// Parses a database's text.
    pub fn parse(text: &str) -> Result<Summary> {
        let mut points = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = || {
                SimError::Invalid(format!(
                    "coverage data line {}: cannot parse `{line}`",
                    n + 1
                ))
            };
            let rest = line.strip_prefix("C '").ok_or_else(bad)?;
            let end = rest.rfind('\'').ok_or_else(bad)?;
            let keys = unescape(&rest[..end]);
            let count: u64 = rest[end + 1..].trim().parse().map_err(|_| bad())?;
            let mut p = Point {
                kind: String::new(),
                file: String::new(),
                line: 0,
                comment: String::new(),
                hier: String::new(),
                count,
            };
            for kv in keys.split('\x01').filter(|s| !s.is_empty()) {
                let (k, v) = kv.split_once('\x02').unwrap_or((kv, ""));
                match k {
                    "f" => p.file = v.to_string(),
                    "l" => p.line = v.parse().unwrap_or(0),
                    "o" => p.comment = v.to_string(),
                    "h" => p.hier = v.to_string(),
                    "page" => {
                        let t = v.split('/').next().unwrap_or(v);
                        p.kind = t.strip_prefix("v_").unwrap_or(t).to_string();
                    }
                    _ => {}
                }
            }
            points.push(p);
        }
        Ok(Summary { points })
    }

    /// Reads and parses a database file.
    pub fn from_file(path: &Path) -> Result<Summary> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SimError::io("cannot read coverage data", path, e))?;
        Summary::parse(&text)
    }

    /// Tally of one kind, `None` when there are no points of that kind.
    pub fn kind(&self, kind: &str) -> Option<Tally> {
        let mut t = Tally::default();
        for p in self.points.iter().filter(|p| p.kind == kind) {
            t.total += 1;
            t.covered += (p.count > 0) as u64;
        }
        (t.total > 0).then_some(t)
    }

    /// Tallies of every kind present.
    pub fn kinds(&self) -> BTreeMap<String, Tally> {
        let mut m: BTreeMap<String, Tally> = BTreeMap::new();
        for p in &self.points {
            let t = m.entry(p.kind.clone()).or_default();
            t.total += 1;
            t.covered += (p.count > 0) as u64;
        }
        m
    }

    /// Line coverage in Verilator's sense: statement blocks (`line`) and the arms of
    /// every `if`/`case` (`branch`) together.
    pub fn line_coverage(&self) -> Tally {
        let mut t = Tally::default();
        for k in ["line", "branch"] {
            if let Some(x) = self.kind(k) {
                t.covered += x.covered;
                t.total += x.total;
            }
        }
        t
    }

    /// Points of a kind never hit.
    pub fn uncovered<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Point> + 'a {
        self.points
            .iter()
            .filter(move |p| p.kind == kind && p.count == 0)
    }
}
