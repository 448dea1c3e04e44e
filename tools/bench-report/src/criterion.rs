//! Reading criterion's results.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::Value;

use crate::Failure;

/// A criterion result: the median and its 95% confidence interval, in nanoseconds.
#[derive(Debug, Clone, Copy)]
pub struct Median {
    pub ns: f64,
    pub low: f64,
    pub high: f64,
}

/// Every `new/estimates.json` under `target/criterion` (newer than `since`, when
/// given), by criterion's full id (`group/function`).
pub fn read_criterion(
    target: &Path,
    since: Option<SystemTime>,
) -> Result<BTreeMap<String, Median>, Failure> {
    let home = std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| target.join("criterion"));
    let mut found = BTreeMap::new();
    let mut stack = vec![home];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let in_new = path.parent().and_then(Path::file_name) == Some("new".as_ref());
            if !in_new || path.file_name() != Some("estimates.json".as_ref()) {
                continue;
            }
            let modified = entry.metadata()?.modified()?;
            if since.is_some_and(|s| modified < s) {
                continue; // from an earlier run
            }
            let benchmark: Value =
                serde_json::from_slice(&std::fs::read(path.with_file_name("benchmark.json"))?)?;
            let estimates: Value = serde_json::from_slice(&std::fs::read(&path)?)?;
            let median = &estimates["median"];
            let (Some(id), Some(ns)) = (
                benchmark["full_id"].as_str(),
                median["point_estimate"].as_f64(),
            ) else {
                continue;
            };
            let bound = |b: &str| median["confidence_interval"][b].as_f64().unwrap_or(ns);
            found.insert(
                id.to_owned(),
                Median {
                    ns,
                    low: bound("lower_bound"),
                    high: bound("upper_bound"),
                },
            );
        }
    }
    Ok(found)
}
