//! Which snapshots to keep, with restic's `forget` semantics, and removing the rest with the
//! chunks and file blobs no kept snapshot names.
//!
//! Snapshots are taken newest first; each rule (`last`, `hourly`, `daily`, `weekly`,
//! `monthly`) has a count and remembers the period of the last snapshot it kept; a snapshot in
//! a new period for a rule with count left is kept by that rule, whose count goes down — even
//! when another rule keeps it too (restic does the same). The rules are ORed. Periods are
//! calendar periods in UTC (ISO weeks). A policy that keeps nothing is refused: it would delete
//! every snapshot.

use super::run::{manifest_of, snapshot_names, target_error};
use super::unhex;
use crate::CoreError;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use strongroom_blobs::Blobs;
use strongroom_crypto::backup::BackupKeys;
use strongroom_domain::{Timestamp, from_millis};

/// How many snapshots of each kind to keep (`backup.keep`); default `daily = 30` (seed 000).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Keep {
    pub last: u32,
    pub hourly: u32,
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
}

impl Default for Keep {
    fn default() -> Self {
        Self {
            last: 0,
            hourly: 0,
            daily: 30,
            weekly: 0,
            monthly: 0,
        }
    }
}

/// The calendar period a rule groups snapshots by (for `last`: the snapshot itself).
type Bucket = (i64, i64, i64);
type Period = fn(u64, Timestamp) -> Bucket;

/// Which of `times` (any order) to keep: their indexes.
pub fn keep(policy: &Keep, times: &[Timestamp]) -> Result<HashSet<usize>, CoreError> {
    let rules: [(u32, Period); 5] = [
        (policy.last, |nr, _| {
            (i64::try_from(nr).unwrap_or(i64::MAX), -1, -1)
        }),
        (policy.hourly, |_, t| {
            (
                i64::from(t.year()),
                i64::from(t.ordinal()),
                i64::from(t.hour()),
            )
        }),
        (policy.daily, |_, t| {
            (i64::from(t.year()), i64::from(t.ordinal()), -1)
        }),
        (policy.weekly, |_, t| {
            let (y, w, _) = t.to_iso_week_date();
            (i64::from(y), i64::from(w), -2)
        }),
        (policy.monthly, |_, t| {
            (i64::from(t.year()), i64::from(u8::from(t.month())), -3)
        }),
    ];
    if rules.iter().all(|(n, _)| *n == 0) {
        return Err(CoreError::Invalid(
            "a keep policy must keep something (every count is 0)".into(),
        ));
    }
    let mut newest_first: Vec<(usize, Timestamp)> = times.iter().copied().enumerate().collect();
    newest_first.sort_by_key(|(_, t)| std::cmp::Reverse(*t));
    // Per rule: the count left and the period of the last snapshot it kept.
    let mut state: Vec<(u32, Period, Option<Bucket>)> =
        rules.iter().map(|(n, p)| (*n, *p, None)).collect();
    let mut kept = HashSet::new();
    for (nr, (i, t)) in (0u64..).zip(newest_first) {
        for (left, period, last) in &mut state {
            if *left == 0 {
                continue;
            }
            let p = period(nr, t);
            if *last != Some(p) {
                kept.insert(i);
                *last = Some(p);
                *left -= 1;
            }
        }
    }
    Ok(kept)
}

/// What `backup prune` prints.
#[derive(Clone, Debug, Serialize)]
pub struct PruneSummary {
    pub kept: Vec<String>,
    pub removed: Vec<String>,
    pub chunks_removed: usize,
    pub files_removed: usize,
}

/// Applies `policy` to the target's snapshots: removes the others (their manifests), then every
/// chunk and file blob no kept snapshot names. `dry_run`: says what would go, removes nothing.
pub async fn prune(
    keys: &BackupKeys,
    target: &Blobs,
    policy: &Keep,
    dry_run: bool,
) -> Result<PruneSummary, CoreError> {
    let lock = super::lock::exclusive(target, "backup prune").await?;
    super::lock::holding(lock, async move {
        let names = snapshot_names(target).await?;
        let mut manifests = Vec::with_capacity(names.len());
        for n in &names {
            manifests.push(manifest_of(keys, target, n).await?);
        }
        let times: Vec<Timestamp> = manifests.iter().map(|m| from_millis(m.at)).collect();
        let kept = keep(policy, &times)?;
        let (mut keep_names, mut removed) = (Vec::new(), Vec::new());
        let (mut chunks, mut blobs) = (HashSet::new(), HashSet::new());
        for (i, m) in manifests.iter().enumerate() {
            if kept.contains(&i) {
                keep_names.push(m.snapshot.clone());
                chunks.extend(
                    m.tables
                        .iter()
                        .flat_map(|t| &t.chunks)
                        .map(|c| c.id.clone()),
                );
                blobs.extend(m.blobs.iter().map(|b| b.object.clone()));
            } else {
                removed.push(m.snapshot.clone());
            }
        }
        let mut summary = PruneSummary {
            kept: keep_names,
            removed,
            chunks_removed: 0,
            files_removed: 0,
        };
        if !dry_run {
            // Manifests first: a snapshot whose chunks are going is gone before they are.
            for r in &summary.removed {
                target
                    .delete(&format!("snapshots/{r}"))
                    .await
                    .map_err(target_error)?;
            }
        }
        for key in target.keys("chunks").await.map_err(target_error)? {
            let id = key.trim_start_matches("chunks/");
            if unhex(id).is_some() && !chunks.contains(id) {
                summary.chunks_removed += 1;
                if !dry_run {
                    target.delete(&key).await.map_err(target_error)?;
                }
            }
        }
        for key in target.keys("blobs").await.map_err(target_error)? {
            if !blobs.contains(key.trim_start_matches("blobs/")) {
                summary.files_removed += 1;
                if !dry_run {
                    target.delete(&key).await.map_err(target_error)?;
                }
            }
        }
        Ok(summary)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn kept(policy: Keep, times: &[Timestamp]) -> Vec<Timestamp> {
        let k = keep(&policy, times).unwrap();
        let mut out: Vec<Timestamp> = times
            .iter()
            .enumerate()
            .filter(|(i, _)| k.contains(i))
            .map(|(_, t)| *t)
            .collect();
        out.sort_by(|a, b| b.cmp(a));
        out
    }

    const NONE: Keep = Keep {
        last: 0,
        hourly: 0,
        daily: 0,
        weekly: 0,
        monthly: 0,
    };

    /// Restic's rules on fixed lists of snapshot times (UTC).
    #[test]
    fn keep_follows_restics_rules() {
        let cases: Vec<(Keep, Vec<Timestamp>, Vec<Timestamp>)> = vec![
            // The newest of each of the last three days that have a snapshot.
            (
                Keep { daily: 3, ..NONE },
                vec![
                    datetime!(2026-11-30 12:00 UTC),
                    datetime!(2026-11-30 00:00 UTC),
                    datetime!(2026-11-29 12:00 UTC),
                    datetime!(2026-11-29 00:00 UTC),
                    datetime!(2026-11-28 12:00 UTC),
                    datetime!(2026-11-27 12:00 UTC),
                ],
                vec![
                    datetime!(2026-11-30 12:00 UTC),
                    datetime!(2026-11-29 12:00 UTC),
                    datetime!(2026-11-28 12:00 UTC),
                ],
            ),
            // A rule counts a snapshot another rule keeps too: monthly 2 is used up by
            // December and November, so October goes.
            (
                Keep {
                    last: 2,
                    monthly: 2,
                    ..NONE
                },
                vec![
                    datetime!(2026-12-01 10:00 UTC),
                    datetime!(2026-11-30 12:00 UTC),
                    datetime!(2026-11-15 12:00 UTC),
                    datetime!(2026-10-31 12:00 UTC),
                    datetime!(2026-10-01 12:00 UTC),
                ],
                vec![
                    datetime!(2026-12-01 10:00 UTC),
                    datetime!(2026-11-30 12:00 UTC),
                ],
            ),
            // ISO weeks: 2026-11-30 is the Monday of week 49; Sunday the 29th ends week 48.
            (
                Keep { weekly: 2, ..NONE },
                vec![
                    datetime!(2026-11-30 08:00 UTC),
                    datetime!(2026-11-29 08:00 UTC),
                    datetime!(2026-11-28 08:00 UTC),
                    datetime!(2026-11-22 08:00 UTC),
                    datetime!(2026-11-16 08:00 UTC),
                ],
                vec![
                    datetime!(2026-11-30 08:00 UTC),
                    datetime!(2026-11-29 08:00 UTC),
                ],
            ),
            // Hours and a day, ORed; the input in any order.
            (
                Keep {
                    hourly: 2,
                    daily: 2,
                    ..NONE
                },
                vec![
                    datetime!(2026-12-01 09:59 UTC),
                    datetime!(2026-11-30 23:00 UTC),
                    datetime!(2026-12-01 10:30 UTC),
                    datetime!(2026-12-01 10:05 UTC),
                    datetime!(2026-11-30 22:00 UTC),
                ],
                vec![
                    datetime!(2026-12-01 10:30 UTC),
                    datetime!(2026-12-01 09:59 UTC),
                    datetime!(2026-11-30 23:00 UTC),
                ],
            ),
            // More asked for than there is: everything stays.
            (
                Keep::default(),
                vec![
                    datetime!(2026-12-01 10:00 UTC),
                    datetime!(2026-11-01 10:00 UTC),
                ],
                vec![
                    datetime!(2026-12-01 10:00 UTC),
                    datetime!(2026-11-01 10:00 UTC),
                ],
            ),
        ];
        for (i, (policy, times, want)) in cases.into_iter().enumerate() {
            assert_eq!(kept(policy, &times), want, "case {i}: {policy:?}");
        }
    }

    #[test]
    fn a_policy_that_keeps_nothing_is_refused() {
        assert!(matches!(
            keep(&NONE, &[datetime!(2026-12-01 10:00 UTC)]),
            Err(CoreError::Invalid(_))
        ));
    }
}
