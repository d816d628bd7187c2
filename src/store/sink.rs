//! The run's writer: buffers `Interaction` rows and commits them in small batches into the
//! dataset (one part per table and date partition), keeping the run manifest up to date.

use std::path::{Path, PathBuf};

use parquet::file::metadata::KeyValue;

use crate::analyze::rules::RuleSet;
use crate::record::Interaction;
use crate::store::StoreError;
use crate::store::dataset::{self, PartBatch};
use crate::store::run_tables::{self, EventOf, SegmentOf};
use crate::store::table::Table;

/// Rows per committed batch and the longest a finished row waits to be committed.
#[derive(Debug, Clone, Copy)]
pub struct CommitPolicy {
    pub rows: usize,
    pub max_wait: std::time::Duration,
}

impl Default for CommitPolicy {
    fn default() -> Self {
        CommitPolicy {
            rows: 32,
            max_wait: std::time::Duration::from_secs(60),
        }
    }
}

/// `YYYY-MM-DD` (UTC) of a time in ms since the epoch: the `date=` partition of a call.
pub fn partition_date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string()
}

/// Writes one run's rows into the dataset under `dir` (see [`dataset`]): rows are buffered and
/// committed in small batches (one part file per table and date partition), so a killed run
/// loses at most the rows of its current batch. Dropped unfinished, it leaves nothing visible
/// beyond the batches already committed.
pub struct ParquetSink {
    ds: dataset::Dataset,
    interactions: Table<Interaction>,
    meta: Vec<KeyValue>,
    /// (id, kind) of each rule category, in column order.
    categories: Vec<(String, &'static str)>,
    pending: Vec<Interaction>,
    policy: CommitPolicy,
    oldest_pending: Option<std::time::Instant>,
    seq: u32,
    parts: Vec<PathBuf>,
    committed: (usize, usize),
    /// Run manifest fields set by the caller; counts and parts are added on each commit.
    run_info: serde_json::Map<String, serde_json::Value>,
}

impl ParquetSink {
    /// A sink for a new unsharded run with the default commit policy.
    pub fn create(
        dir: &Path,
        rules: &RuleSet,
        extra_columns: &[String],
        meta: &[(String, String)],
    ) -> Result<Self, StoreError> {
        Self::open(
            dir,
            dataset::RunKey::new(0, 1),
            rules,
            extra_columns,
            meta,
            CommitPolicy::default(),
        )
    }

    /// Open the dataset under `dir` for the run `key` (cleaning up after dead runs).
    pub fn open(
        dir: &Path,
        key: dataset::RunKey,
        rules: &RuleSet,
        extra_columns: &[String],
        meta: &[(String, String)],
        policy: CommitPolicy,
    ) -> Result<Self, StoreError> {
        let interactions = run_tables::interactions(rules, extra_columns)?;
        let ds = dataset::Dataset::open(dir, key)?;
        let mut run_info = serde_json::Map::new();
        run_info.insert("run_id".into(), ds.key.run_id.clone().into());
        run_info.insert("shard".into(), ds.key.shard.clone().into());
        run_info.insert("status".into(), "running".into());
        // the folder relative paths were given from (store::recordings)
        if let Ok(cwd) = std::env::current_dir() {
            run_info.insert(
                "working_dir".into(),
                cwd.to_string_lossy().into_owned().into(),
            );
        }
        run_info.insert(
            "started_at".into(),
            chrono::Utc::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                .into(),
        );
        let sink = ParquetSink {
            ds,
            interactions,
            meta: meta
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
                .collect(),
            categories: rules
                .categories
                .iter()
                .map(|c| (c.id.clone(), c.kind.as_str()))
                .collect(),
            pending: Vec::new(),
            policy,
            oldest_pending: None,
            seq: 0,
            parts: Vec::new(),
            committed: (0, 0),
            run_info,
        };
        sink.write_manifest()?;
        Ok(sink)
    }

    /// Key-value metadata of the part files written from now on.
    pub fn set_file_metadata(&mut self, meta: &[(String, String)]) {
        self.meta = meta
            .iter()
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
            .collect();
    }

    pub fn run_key(&self) -> &dataset::RunKey {
        &self.ds.key
    }

    /// Record a field of the run manifest (`_callsift/runs/<run>-<shard>.json`).
    pub fn note(&mut self, key: &str, value: serde_json::Value) -> Result<(), StoreError> {
        self.run_info.insert(key.into(), value);
        self.write_manifest()
    }

    fn write_manifest(&self) -> Result<(), StoreError> {
        let mut v = self.run_info.clone();
        v.insert("rows_committed".into(), self.committed.0.into());
        v.insert("rows_failed".into(), self.committed.1.into());
        v.insert("batches".into(), self.seq.into());
        let root = &self.ds.root;
        v.insert(
            "parts".into(),
            self.parts
                .iter()
                .map(|p| {
                    p.strip_prefix(root)
                        .unwrap_or(p)
                        .to_string_lossy()
                        .into_owned()
                })
                .collect::<Vec<_>>()
                .into(),
        );
        self.ds.write_manifest(&serde_json::Value::Object(v))
    }

    /// What the dataset already holds for these interaction ids.
    pub fn stored(
        &self,
        ids: &std::collections::HashSet<String>,
    ) -> Result<std::collections::HashMap<String, dataset::Stored>, StoreError> {
        self.ds.stored(ids)
    }

    /// See [`dataset::Dataset::claim`].
    pub fn claim<T>(
        &self,
        ids: &std::collections::HashSet<String>,
        choose: impl FnOnce(&dataset::Claimed) -> (Vec<String>, T),
    ) -> Result<(dataset::Claimed, T), StoreError> {
        self.ds.claim(ids, choose)
    }

    /// Remove earlier rows of these ids (before they are processed again).
    pub fn remove(
        &self,
        ids: &std::collections::HashSet<String>,
        stored: &[&dataset::Stored],
    ) -> Result<(), StoreError> {
        self.ds.remove(ids, stored)
    }

    /// Buffer a row; commits a batch when the policy says so.
    pub fn push(&mut self, mut rec: Interaction) -> Result<(), StoreError> {
        rec.run_id = self.ds.key.run_id.clone();
        self.pending.push(rec);
        let oldest = *self
            .oldest_pending
            .get_or_insert_with(std::time::Instant::now);
        if self.pending.len() >= self.policy.rows || oldest.elapsed() >= self.policy.max_wait {
            self.commit()?;
        }
        Ok(())
    }

    /// Commit the buffered rows now (one part per table and date partition).
    pub fn commit(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let recs = std::mem::take(&mut self.pending);
        self.oldest_pending = None;
        let today = partition_date(chrono::Utc::now().timestamp_millis());
        let mut by_date: std::collections::BTreeMap<String, Vec<Interaction>> = Default::default();
        for r in recs {
            let date = r
                .partition_date
                .clone()
                .or_else(|| r.started_at.map(partition_date))
                .unwrap_or_else(|| today.clone());
            by_date.entry(format!("date={date}")).or_default().push(r);
        }
        let mut parts = std::collections::BTreeMap::new();
        let mut counts = (0, 0);
        for (partition, recs) in &by_date {
            counts.0 += recs.len();
            counts.1 += recs.iter().filter(|r| !r.ok).count();
            parts.insert(partition.clone(), self.part_batches(recs)?);
        }
        self.seq += 1;
        let published = self.ds.publish(self.seq, &parts)?;
        self.parts.extend(published);
        self.committed.0 += counts.0;
        self.committed.1 += counts.1;
        self.write_manifest()
    }

    /// One batch of rows of each table, in publishing order (interactions last).
    fn part_batches(&self, recs: &[Interaction]) -> Result<Vec<PartBatch>, StoreError> {
        let segments: Vec<SegmentOf> = recs
            .iter()
            .flat_map(|r| {
                r.segments
                    .iter()
                    .map(move |s| (r.interaction_id.as_str(), s))
            })
            .collect();
        let events: Vec<EventOf> = recs
            .iter()
            .flat_map(|r| {
                r.hits.iter().map(move |h| {
                    let (id, kind) = &self.categories[h.category];
                    (r.interaction_id.as_str(), h, id.as_str(), *kind)
                })
            })
            .collect();
        Ok(vec![
            self.part(&run_tables::segments(), &segments)?,
            self.part(&run_tables::events(), &events)?,
            self.part(&self.interactions, recs)?,
        ])
    }

    fn part<R>(&self, table: &Table<R>, rows: &[R]) -> Result<PartBatch, StoreError> {
        let batch = table.batch(rows).map_err(|source| StoreError::Arrow {
            path: self.ds.root.join(table.name),
            source,
        })?;
        Ok((table.name, table.schema(), self.meta.clone(), batch))
    }

    /// Commit what is left, mark the run complete and release the dataset. Returns the
    /// interactions parts this run wrote.
    pub fn finish(mut self) -> Result<Vec<PathBuf>, StoreError> {
        self.commit()?;
        self.run_info.insert("status".into(), "complete".into());
        self.run_info.insert(
            "finished_at".into(),
            chrono::Utc::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                .into(),
        );
        self.write_manifest()?;
        let parts = std::mem::take(&mut self.parts);
        self.ds.close();
        Ok(parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::{Role, SegmentRow};
    use crate::store::read::read_text_rows;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use std::fs::File;

    fn rec(id: &str, ok: bool) -> Interaction {
        Interaction {
            interaction_id: id.into(),
            source_path: format!("{id}.wav"),
            ok,
            error: (!ok).then(|| "broken".to_string()),
            model: "tiny.en".into(),
            language: "en".into(),
            started_at: Some(1_700_000_000_000),
            extra: vec![Some("north".into())],
            segments: vec![SegmentRow {
                role: Role::Agent,
                channel: 0,
                speaker: 0,
                start_ms: 0,
                end_ms: 1200,
                text: "hello".into(),
                avg_token_prob: 0.9,
                no_speech_prob: 0.01,
                times: Vec::new(),
                redactions: None,
                sentiment: 0.0,
            }],
            ..Default::default()
        }
    }

    fn parts(dir: &Path, table: &str) -> Vec<PathBuf> {
        dataset::part_files(dir, table).unwrap()
    }

    fn rows_in(files: &[PathBuf]) -> i64 {
        files
            .iter()
            .map(|f| {
                let r = SerializedFileReader::new(File::open(f).unwrap()).unwrap();
                r.metadata().file_metadata().num_rows()
            })
            .sum()
    }

    #[test]
    fn batches_appear_only_when_committed_and_carry_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let meta = vec![("callsift.version".to_string(), "test".to_string())];
        let mut sink =
            ParquetSink::create(dir.path(), &RuleSet::builtin(), &["region".into()], &meta)
                .unwrap();
        sink.push(rec("a", true)).unwrap();
        sink.push(rec("b", false)).unwrap();
        assert!(parts(dir.path(), "interactions").is_empty());
        sink.finish().unwrap();
        let inter = parts(dir.path(), "interactions");
        assert_eq!(inter.len(), 1);
        assert!(inter[0].to_string_lossy().contains("date=2023-11-14"));
        assert_eq!(rows_in(&inter), 2);
        let r = SerializedFileReader::new(File::open(&inter[0]).unwrap()).unwrap();
        let kv = r.metadata().file_metadata().key_value_metadata().unwrap();
        assert!(kv.iter().any(|k| k.key == "callsift.version"));
        assert_eq!(rows_in(&parts(dir.path(), "segments")), 2);
        // the manifest says what the run did
        let runs: Vec<_> = std::fs::read_dir(dir.path().join("_callsift/runs"))
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(runs.len(), 1);
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(runs[0].path()).unwrap()).unwrap();
        assert_eq!(m["status"], "complete");
        assert_eq!(m["rows_committed"], 2);
        assert_eq!(m["rows_failed"], 1);
    }

    #[test]
    fn an_abandoned_sink_leaves_only_committed_batches() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = ParquetSink::open(
            dir.path(),
            dataset::RunKey::new(0, 1),
            &RuleSet::default(),
            &[],
            &[],
            CommitPolicy {
                rows: 2,
                max_wait: std::time::Duration::from_secs(3600),
            },
        )
        .unwrap();
        for id in ["a", "b", "c"] {
            sink.push(rec(id, true)).unwrap();
        }
        drop(sink);
        assert_eq!(rows_in(&parts(dir.path(), "interactions")), 2);
        // rerun: the dead run's manifest is marked interrupted
        let sink = ParquetSink::create(dir.path(), &RuleSet::default(), &[], &[]).unwrap();
        sink.finish().unwrap();
        let statuses: Vec<String> = std::fs::read_dir(dir.path().join("_callsift/runs"))
            .unwrap()
            .flatten()
            .map(|e| {
                let v: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap();
                v["status"].as_str().unwrap().to_string()
            })
            .collect();
        assert!(
            statuses.contains(&"interrupted".to_string()),
            "{statuses:?}"
        );
    }

    #[test]
    fn removed_rows_leave_every_table() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = ParquetSink::create(dir.path(), &RuleSet::default(), &[], &[]).unwrap();
        for id in ["a", "b"] {
            sink.push(rec(id, true)).unwrap();
        }
        sink.finish().unwrap();
        let sink = ParquetSink::create(dir.path(), &RuleSet::default(), &[], &[]).unwrap();
        let ids: std::collections::HashSet<String> = ["a".to_string(), "zz".to_string()].into();
        let stored = sink.stored(&ids).unwrap();
        assert_eq!(stored.len(), 1);
        assert!(stored["a"].ok);
        sink.remove(&ids, &stored.values().collect::<Vec<_>>())
            .unwrap();
        sink.finish().unwrap();
        assert_eq!(rows_in(&parts(dir.path(), "interactions")), 1);
        assert_eq!(rows_in(&parts(dir.path(), "segments")), 1);
        let (h, rows) = read_text_rows(&dir.path().join("interactions")).unwrap();
        let id = h.iter().position(|c| c == "interaction_id").unwrap();
        assert_eq!(rows[0][id].as_deref(), Some("b"));
    }

    #[test]
    fn manifest_columns_may_not_shadow_built_ins() {
        let rules = RuleSet::builtin();
        let beh = rules.categories[0].column();
        assert!(run_tables::interactions(&RuleSet::default(), &["queue".into()]).is_err());
        assert!(run_tables::interactions(&RuleSet::default(), &["date".into()]).is_err());
        assert!(run_tables::interactions(&rules, &[beh]).is_err());
        assert!(run_tables::interactions(&rules, &["region".into()]).is_ok());
    }
}
