//! The dataset on disk: three hive-partitioned tables that grow run by run, and the
//! bookkeeping that keeps them exact under crashes and concurrent shards.
//!
//! ```text
//! OUT/interactions/date=2026-11-22/part-<run>-<shard>-<seq>.parquet
//! OUT/segments/date=…/part-…parquet     (same file name as its interactions part)
//! OUT/events/date=…/part-…parquet
//! OUT/_callsift/runs/<run>-<shard>.json  run manifests
//! OUT/_callsift/locks/<run>-<shard>.lock held (flock) while that run is alive
//! OUT/_callsift/journal/<run>-<shard>.json  removals in progress (redo log)
//! OUT/_callsift/claims/<run>-<shard>.json   interaction ids a live run is processing
//! OUT/_callsift/write.lock               serialises claims, removals and clean-up
//! ```
//!
//! Concurrent runs cooperate through claims: under the write lock a run reads what the
//! dataset holds and which ids other live runs have claimed, then claims what it will process;
//! an id claimed by a live run is left to it. A claim dies with its run (its lock). An id found
//! in more than one row (a dataset written before claims existed) is redone by the next run,
//! which removes every copy first.
//!
//! Commit protocol: a batch is written to hidden temporary files, each fsynced, then renamed —
//! segments and events first, interactions last. The interactions part is the commit point:
//! a segments/events part without its interactions part is an orphan of a crashed run and is
//! removed by the next run's clean-up, as are temporary files of dead runs. A run is dead when
//! its lock file can be locked (the kernel drops the lock of a killed process).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File, TryLockError};

use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use super::StoreError;

/// The tables of a run's dataset, in publish order (interactions last: the commit point).
pub const SEGMENTS: &str = "segments";
pub const EVENTS: &str = "events";
pub const INTERACTIONS: &str = "interactions";
pub const PUBLISH_ORDER: [&str; 3] = [SEGMENTS, EVENTS, INTERACTIONS];
pub const META_DIR: &str = "_callsift";
/// The hive partition column (`date=YYYY-MM-DD` folders) that readers add to every table.
pub const PARTITION_COLUMN: &str = "date";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read_err(path: &Path, detail: impl ToString) -> StoreError {
    StoreError::Read {
        path: path.to_path_buf(),
        detail: detail.to_string(),
    }
}

/// Identity of one run of one shard; names its part files, lock, journal and manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunKey {
    pub run_id: String,
    /// `<index>of<count>`, e.g. `0of1` for an unsharded run.
    pub shard: String,
}

impl RunKey {
    /// A new run id: UTC start time (sorts chronologically) plus a random suffix.
    pub fn new(shard_index: usize, shard_count: usize) -> RunKey {
        let now = chrono::Utc::now();
        let salt = format!(
            "{}-{}-{:?}",
            std::process::id(),
            now.timestamp_nanos_opt().unwrap_or_default(),
            std::thread::current().id()
        );
        RunKey {
            run_id: format!(
                "{}_{}",
                now.format("%Y%m%dT%H%M%SZ"),
                &crate::fsutil::sha256_hex(salt.as_bytes())[..6]
            ),
            shard: format!("{shard_index}of{shard_count}"),
        }
    }

    /// `<run>-<shard>`: the prefix shared by everything this run writes.
    pub fn prefix(&self) -> String {
        format!("{}-{}", self.run_id, self.shard)
    }
}

/// `<run>-<shard>` of a part file or its temporary file, if the name is one of ours.
fn prefix_of(name: &str) -> Option<&str> {
    let name = name.strip_prefix('.').unwrap_or(name);
    let stem = name
        .strip_prefix("part-")?
        .strip_suffix(".partial")
        .unwrap_or(name.strip_prefix("part-")?);
    let stem = stem.strip_suffix(".parquet")?;
    Some(stem.rsplit_once('-')?.0)
}

/// What the dataset already holds for one interaction id.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// Status and hashes of the last row found (parts in path order).
    pub ok: bool,
    pub content_sha256: Option<String>,
    pub settings_sha256: Option<String>,
    /// Partition folder (`date=…`) and file name of every interactions part holding a row of
    /// the id: one, unless the id is duplicated.
    pub parts: Vec<(String, String)>,
    /// How many rows hold the id (more than one is a duplicate to repair).
    pub rows: usize,
}

impl Stored {
    pub fn duplicated(&self) -> bool {
        self.rows > 1
    }
}

/// What a run found when it claimed its calls.
#[derive(Debug, Default)]
pub struct Claimed {
    /// What the dataset holds for the ids asked about.
    pub stored: HashMap<String, Stored>,
    /// Ids a live run other than this one is processing, with that run's `<run>-<shard>`.
    pub taken: HashMap<String, String>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Claims {
    ids: Vec<String>,
}

/// Every file inside the partition folders of `table` (parts and temporary files alike);
/// an absent table has none.
fn partition_files(root: &Path, table: &str) -> Result<Vec<PathBuf>, StoreError> {
    let dir = root.join(table);
    let mut out = Vec::new();
    let Ok(parts) = fs::read_dir(&dir) else {
        return Ok(out);
    };
    for p in parts {
        let p = p.map_err(io(&dir))?.path();
        if !p.is_dir() {
            continue;
        }
        for f in fs::read_dir(&p).map_err(io(&p))? {
            out.push(f.map_err(io(&p))?.path());
        }
    }
    Ok(out)
}

fn file_name(p: &Path) -> &str {
    p.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

/// Every part file of `table` (sorted by path); an absent table has none.
pub fn part_files(root: &Path, table: &str) -> Result<Vec<PathBuf>, StoreError> {
    let mut out: Vec<PathBuf> = partition_files(root, table)?
        .into_iter()
        .filter(|f| file_name(f).starts_with("part-") && file_name(f).ends_with(".parquet"))
        .collect();
    out.sort();
    Ok(out)
}

fn writer_props(meta: Option<Vec<KeyValue>>) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).expect("valid zstd level"),
        ))
        .set_key_value_metadata(meta)
        .build()
}

/// Write `batches` to `tmp` and fsync it; the caller renames it into place. (Not
/// `fsutil::write_atomic`: a commit stages every table's file first and publishes them in
/// [`PUBLISH_ORDER`], so the renames are the commit protocol's, not one file's.)
pub(super) fn write_synced(
    tmp: &Path,
    schema: SchemaRef,
    meta: Option<Vec<KeyValue>>,
    batches: &[RecordBatch],
) -> Result<(), StoreError> {
    let file = File::create(tmp).map_err(io(tmp))?;
    let parquet = |source| StoreError::Parquet {
        path: tmp.to_path_buf(),
        source,
    };
    let mut w = ArrowWriter::try_new(file, schema, Some(writer_props(meta))).map_err(parquet)?;
    for b in batches {
        w.write(b).map_err(parquet)?;
    }
    let file = w.into_inner().map_err(parquet)?;
    file.sync_all().map_err(io(tmp))
}

/// Write a whole Parquet file atomically (see [`crate::fsutil::write_atomic_with`]).
pub(super) fn write_parquet(
    path: &Path,
    schema: SchemaRef,
    meta: Option<Vec<KeyValue>>,
    batches: &[RecordBatch],
) -> Result<(), StoreError> {
    crate::fsutil::write_atomic_with(path, |file| {
        let mut w = ArrowWriter::try_new(file, schema, Some(writer_props(meta)))
            .map_err(std::io::Error::other)?;
        for b in batches {
            w.write(b).map_err(std::io::Error::other)?;
        }
        w.close().map_err(std::io::Error::other)?;
        Ok(())
    })
    .map_err(io(path))
}

/// Write a small file atomically (see [`crate::fsutil::write_atomic`]).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    crate::fsutil::write_atomic(path, bytes).map_err(io(path))
}

/// One table's rows of a batch in one partition: (table, schema, file metadata, rows).
pub type PartBatch = (&'static str, SchemaRef, Vec<KeyValue>, RecordBatch);

/// The dataset folder, opened by one run of one shard.
pub struct Dataset {
    pub root: PathBuf,
    pub key: RunKey,
    /// Held for the whole run: tells other runs this one is alive.
    lock: Option<File>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Journal {
    ids: Vec<String>,
    /// (partition, file) of the parts that may hold rows of `ids`.
    files: Vec<(String, String)>,
}

impl Dataset {
    /// Create the folders, take this run's lock and clean up after dead runs.
    pub fn open(root: &Path, key: RunKey) -> Result<Dataset, StoreError> {
        // a file where a folder belongs is found now, not when the first batch is written
        let tables = PUBLISH_ORDER.iter().map(|t| root.join(t));
        for p in std::iter::once(root.to_path_buf()).chain(tables) {
            if p.exists() && !p.is_dir() {
                return Err(StoreError::NotAFolder { path: p });
            }
        }
        for d in ["locks", "runs", "journal", "claims"] {
            let p = root.join(META_DIR).join(d);
            fs::create_dir_all(&p).map_err(io(&p))?;
        }
        let lock_path = Self::lock_path(root, &key.prefix());
        let lock = File::create(&lock_path).map_err(io(&lock_path))?;
        lock.lock().map_err(io(&lock_path))?;
        let ds = Dataset {
            root: root.to_path_buf(),
            key,
            lock: Some(lock),
        };
        ds.with_write_lock(|| ds.clean_up())?;
        Ok(ds)
    }

    fn lock_path(root: &Path, prefix: &str) -> PathBuf {
        root.join(META_DIR)
            .join("locks")
            .join(format!("{prefix}.lock"))
    }

    /// Path of this run's manifest.
    pub fn manifest_path(&self) -> PathBuf {
        self.root
            .join(META_DIR)
            .join("runs")
            .join(format!("{}.json", self.key.prefix()))
    }

    pub fn write_manifest(&self, value: &serde_json::Value) -> Result<(), StoreError> {
        let text = serde_json::to_string_pretty(value).unwrap_or_default();
        write_atomic(&self.manifest_path(), text.as_bytes())
    }

    /// Run `f` holding the dataset-wide write lock (removals and clean-up never overlap).
    fn with_write_lock<T>(
        &self,
        f: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let p = self.root.join(META_DIR).join("write.lock");
        let lock = File::create(&p).map_err(io(&p))?;
        lock.lock().map_err(io(&p))?;
        let out = f();
        let _ = lock.unlock();
        out
    }

    /// Whether the run with this prefix is still running (holds its lock).
    fn is_alive(&self, prefix: &str) -> bool {
        if prefix == self.key.prefix() {
            return true;
        }
        let Ok(f) = File::open(Self::lock_path(&self.root, prefix)) else {
            return false;
        };
        matches!(f.try_lock(), Err(TryLockError::WouldBlock))
    }

    /// Finish what dead runs left: replay their removal journals, delete their temporary
    /// files and orphaned segments/events parts, mark their manifests interrupted.
    fn clean_up(&self) -> Result<(), StoreError> {
        let meta = self.root.join(META_DIR);
        let journals = meta.join("journal");
        for j in fs::read_dir(&journals).map_err(io(&journals))? {
            let j = j.map_err(io(&journals))?.path();
            let prefix = j.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            if self.is_alive(prefix) {
                continue;
            }
            let text = fs::read_to_string(&j).map_err(io(&j))?;
            if let Ok(journal) = serde_json::from_str::<Journal>(&text) {
                let ids: HashSet<String> = journal.ids.into_iter().collect();
                self.remove_rows(&ids, &journal.files)?;
            }
            fs::remove_file(&j).map_err(io(&j))?;
        }
        for table in PUBLISH_ORDER {
            for f in partition_files(&self.root, table)? {
                let name = file_name(&f);
                let Some(prefix) = prefix_of(name) else {
                    continue;
                };
                let temporary = name.ends_with(".partial");
                let orphan = !temporary && table != INTERACTIONS && {
                    let partition = f.parent().and_then(|p| p.file_name()).unwrap_or_default();
                    !self
                        .root
                        .join(INTERACTIONS)
                        .join(partition)
                        .join(name)
                        .exists()
                };
                if (temporary || orphan) && !self.is_alive(prefix) {
                    fs::remove_file(&f).map_err(io(&f))?;
                }
            }
        }
        let locks = meta.join("locks");
        for l in fs::read_dir(&locks).map_err(io(&locks))? {
            let l = l.map_err(io(&locks))?.path();
            let prefix = l.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            if self.is_alive(prefix) {
                continue;
            }
            let _ = fs::remove_file(self.claims_path(prefix));
            let manifest = meta.join("runs").join(format!("{prefix}.json"));
            // a run killed while writing its first manifest left only the temporary file
            let partial = crate::fsutil::partial_path(&manifest);
            let text = fs::read_to_string(&manifest).or_else(|_| fs::read_to_string(&partial));
            let _ = fs::remove_file(&partial);
            if let Ok(text) = text
                && let Ok(mut v) = serde_json::from_str::<serde_json::Value>(&text)
                && v["status"] == "running"
            {
                v["status"] = "interrupted".into();
                let _ = write_atomic(
                    &manifest,
                    serde_json::to_string_pretty(&v)
                        .unwrap_or_default()
                        .as_bytes(),
                );
            }
            let _ = fs::remove_file(&l);
        }
        Ok(())
    }

    fn claims_path(&self, prefix: &str) -> PathBuf {
        self.root
            .join(META_DIR)
            .join("claims")
            .join(format!("{prefix}.json"))
    }

    /// Ids claimed by live runs other than this one, each with its run's prefix.
    fn live_claims(&self) -> Result<HashMap<String, String>, StoreError> {
        let dir = self.root.join(META_DIR).join("claims");
        let mut out = HashMap::new();
        for f in fs::read_dir(&dir).map_err(io(&dir))? {
            let f = f.map_err(io(&dir))?.path();
            let Some(prefix) = f.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            if prefix == self.key.prefix() || !self.is_alive(prefix) {
                continue;
            }
            let text = fs::read_to_string(&f).map_err(io(&f))?;
            let claims: Claims = serde_json::from_str(&text).map_err(|e| read_err(&f, e))?;
            for id in claims.ids {
                out.insert(id, prefix.to_string());
            }
        }
        Ok(out)
    }

    /// Atomically with respect to other runs (under the write lock): find what the dataset
    /// holds for `ids` and which of them live runs have claimed, let `choose` decide what this
    /// run does (returning the ids it will process, and its decision), and claim those ids.
    /// An id another live run holds is never claimed, whatever `choose` returns.
    pub fn claim<T>(
        &self,
        ids: &HashSet<String>,
        choose: impl FnOnce(&Claimed) -> (Vec<String>, T),
    ) -> Result<(Claimed, T), StoreError> {
        self.with_write_lock(|| {
            let mut taken = self.live_claims()?;
            taken.retain(|id, _| ids.contains(id));
            let found = Claimed {
                stored: self.stored(ids)?,
                taken,
            };
            let (mut mine, decision) = choose(&found);
            mine.retain(|id| !found.taken.contains_key(id));
            mine.sort();
            let text = serde_json::to_string(&Claims { ids: mine }).unwrap_or_default();
            write_atomic(&self.claims_path(&self.key.prefix()), text.as_bytes())?;
            Ok((found, decision))
        })
    }

    /// What the dataset holds for the given ids (all partitions, all runs).
    pub fn stored(&self, ids: &HashSet<String>) -> Result<HashMap<String, Stored>, StoreError> {
        let mut out = HashMap::new();
        for path in part_files(&self.root, INTERACTIONS)? {
            let f = File::open(&path).map_err(|e| read_err(&path, e))?;
            let b = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| read_err(&path, e))?;
            let mask = ProjectionMask::columns(
                b.parquet_schema(),
                [
                    "interaction_id",
                    "status",
                    "content_sha256",
                    "settings_sha256",
                ],
            );
            let reader = b
                .with_projection(mask)
                .build()
                .map_err(|e| read_err(&path, e))?;
            let partition = path
                .parent()
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            let file = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            for batch in reader {
                let batch = batch.map_err(|e| read_err(&path, e))?;
                let text = |name: &str| batch.column_by_name(name).map(|c| c.as_string::<i32>());
                let (Some(id), Some(status)) = (text("interaction_id"), text("status")) else {
                    return Err(read_err(&path, "interaction_id or status column missing"));
                };
                let content = text("content_sha256");
                let settings = text("settings_sha256");
                let opt = |c: Option<&arrow::array::StringArray>, i: usize| {
                    c.and_then(|c| c.is_valid(i).then(|| c.value(i).to_string()))
                };
                for i in 0..batch.num_rows() {
                    if !ids.contains(id.value(i)) {
                        continue;
                    }
                    let here = (partition.clone(), file.clone());
                    let entry = out.entry(id.value(i).to_string()).or_insert(Stored {
                        ok: false,
                        content_sha256: None,
                        settings_sha256: None,
                        parts: Vec::new(),
                        rows: 0,
                    });
                    entry.ok = status.value(i) == "ok";
                    entry.content_sha256 = opt(content, i);
                    entry.settings_sha256 = opt(settings, i);
                    entry.rows += 1;
                    if !entry.parts.contains(&here) {
                        entry.parts.push(here);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Remove every row of `ids` from all three tables, crash-safely: the removal is journaled
    /// first, so a run killed half-way has it finished by the next run's clean-up.
    pub fn remove(&self, ids: &HashSet<String>, stored: &[&Stored]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut files: Vec<(String, String)> = stored
            .iter()
            .flat_map(|s| s.parts.iter().cloned())
            .collect();
        files.sort();
        files.dedup();
        self.with_write_lock(|| {
            let journal = self
                .root
                .join(META_DIR)
                .join("journal")
                .join(format!("{}.json", self.key.prefix()));
            let mut ids_sorted: Vec<String> = ids.iter().cloned().collect();
            ids_sorted.sort();
            let j = Journal {
                ids: ids_sorted,
                files: files.clone(),
            };
            write_atomic(
                &journal,
                serde_json::to_string(&j).unwrap_or_default().as_bytes(),
            )?;
            self.remove_rows(ids, &files)?;
            fs::remove_file(&journal).map_err(io(&journal))
        })
    }

    /// Rewrite each listed part of every table without the rows of `ids` (idempotent).
    fn remove_rows(
        &self,
        ids: &HashSet<String>,
        files: &[(String, String)],
    ) -> Result<(), StoreError> {
        for table in PUBLISH_ORDER {
            for (partition, file) in files {
                let dir = self.root.join(table).join(partition);
                let path = dir.join(file);
                if path.exists() {
                    rewrite_without(&path, &crate::fsutil::partial_path(&dir.join(file)), ids)?;
                }
            }
        }
        Ok(())
    }

    /// Publish one batch: for each partition, the tables' parts are written to temporary files,
    /// fsynced, then renamed in `PUBLISH_ORDER`. Returns the published interactions parts.
    pub fn publish(
        &self,
        seq: u32,
        parts: &BTreeMap<String, Vec<PartBatch>>,
    ) -> Result<Vec<PathBuf>, StoreError> {
        let name = format!("part-{}-{seq:05}.parquet", self.key.prefix());
        let mut staged: Vec<(&str, PathBuf, PathBuf)> = Vec::new();
        let result = (|| {
            for (partition, tables) in parts {
                for (table, schema, meta, batch) in tables {
                    if *table != INTERACTIONS && batch.num_rows() == 0 {
                        continue;
                    }
                    let dir = self.root.join(table).join(partition);
                    fs::create_dir_all(&dir).map_err(io(&dir))?;
                    let tmp = crate::fsutil::partial_path(&dir.join(&name));
                    staged.push((table, tmp.clone(), dir.join(&name)));
                    write_synced(
                        &tmp,
                        schema.clone(),
                        Some(meta.clone()),
                        std::slice::from_ref(batch),
                    )?;
                }
            }
            let mut published = Vec::new();
            for table in PUBLISH_ORDER {
                for (t, tmp, fin) in &staged {
                    if *t == table {
                        fs::rename(tmp, fin).map_err(io(fin))?;
                        if let Some(d) = fin.parent() {
                            crate::fsutil::sync_dir(d);
                        }
                        if table == INTERACTIONS {
                            published.push(fin.clone());
                        }
                    }
                }
            }
            Ok(published)
        })();
        if result.is_err() {
            // a failed batch leaves nothing visible: no temporary files, no orphans
            for (t, tmp, fin) in &staged {
                let _ = fs::remove_file(tmp);
                if *t != INTERACTIONS {
                    let iparts = self.root.join(INTERACTIONS);
                    let committed = fin
                        .parent()
                        .and_then(|p| p.file_name())
                        .is_some_and(|p| iparts.join(p).join(&name).exists());
                    if !committed {
                        let _ = fs::remove_file(fin);
                    }
                }
            }
        }
        result
    }

    /// End of the run: drop its claims, release the lock and remove the lock file.
    pub fn close(mut self) {
        let _ = fs::remove_file(self.claims_path(&self.key.prefix()));
        if let Some(l) = self.lock.take() {
            let _ = fs::remove_file(Self::lock_path(&self.root, &self.key.prefix()));
            let _ = l.unlock();
        }
    }
}

/// Rewrite one part file without the rows whose `interaction_id` is in `ids`; delete it when
/// nothing is left. Untouched when it holds none of them.
fn rewrite_without(path: &Path, tmp: &Path, ids: &HashSet<String>) -> Result<(), StoreError> {
    let f = File::open(path).map_err(|e| read_err(path, e))?;
    let b = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| read_err(path, e))?;
    let schema = b.schema().clone();
    let meta = b.metadata().file_metadata().key_value_metadata().cloned();
    let reader = b.build().map_err(|e| read_err(path, e))?;
    let mut kept = Vec::new();
    let (mut removed, mut left) = (0usize, 0usize);
    for batch in reader {
        let batch = batch.map_err(|e| read_err(path, e))?;
        let Some(id) = batch.column_by_name("interaction_id") else {
            return Err(read_err(path, "interaction_id column missing"));
        };
        let id = id.as_string::<i32>();
        let keep = BooleanArray::from_iter(
            (0..batch.num_rows()).map(|i| Some(!ids.contains(id.value(i)))),
        );
        let filtered =
            arrow::compute::filter_record_batch(&batch, &keep).map_err(|e| read_err(path, e))?;
        removed += batch.num_rows() - filtered.num_rows();
        left += filtered.num_rows();
        kept.push(filtered);
    }
    if removed == 0 {
        return Ok(());
    }
    if left == 0 {
        fs::remove_file(path).map_err(io(path))?;
    } else {
        write_synced(tmp, schema, meta, &kept)?;
        fs::rename(tmp, path).map_err(io(path))?;
    }
    if let Some(d) = path.parent() {
        crate::fsutil::sync_dir(d);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names_carry_their_run() {
        assert_eq!(
            prefix_of("part-20261123T010203Z_ab12cd-0of1-00001.parquet"),
            Some("20261123T010203Z_ab12cd-0of1")
        );
        assert_eq!(
            prefix_of(".part-20261123T010203Z_ab12cd-2of4-00012.parquet.partial"),
            Some("20261123T010203Z_ab12cd-2of4")
        );
        assert_eq!(prefix_of("notes.parquet"), None);
        let k = RunKey::new(1, 3);
        assert_eq!(k.shard, "1of3");
        assert_eq!(
            prefix_of(&format!("part-{}-00007.parquet", k.prefix())),
            Some(k.prefix().as_str())
        );
    }

    #[test]
    fn a_dead_runs_leftovers_are_cleaned_and_a_live_runs_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // a "dead" run: lock file present but not held; orphan segments part and a temp file
        let dead = RunKey::new(0, 1);
        let seg = root.join("segments/date=2026-11-20");
        fs::create_dir_all(&seg).unwrap();
        fs::create_dir_all(root.join("_callsift/locks")).unwrap();
        File::create(Dataset::lock_path(root, &dead.prefix())).unwrap();
        let orphan = seg.join(format!("part-{}-00001.parquet", dead.prefix()));
        let temp = seg.join(format!(".part-{}-00002.parquet.partial", dead.prefix()));
        fs::write(&orphan, b"x").unwrap();
        fs::write(&temp, b"x").unwrap();
        // killed while writing its first manifest: only the temporary file is there
        let runs = root.join("_callsift/runs");
        fs::create_dir_all(&runs).unwrap();
        let partial = runs.join(format!(".{}.json.partial", dead.prefix()));
        fs::write(&partial, br#"{"status": "running"}"#).unwrap();
        // a live run (another shard): holds its lock; its temp file must survive
        let live = Dataset::open(root, RunKey::new(1, 2)).unwrap();
        let live_temp = seg.join(format!(".part-{}-00001.parquet.partial", live.key.prefix()));
        fs::write(&live_temp, b"x").unwrap();
        let me = Dataset::open(root, RunKey::new(0, 2)).unwrap();
        assert!(!orphan.exists() && !temp.exists());
        assert!(!partial.exists());
        let manifest = fs::read_to_string(runs.join(format!("{}.json", dead.prefix()))).unwrap();
        assert!(manifest.contains("interrupted"), "{manifest}");
        assert!(live_temp.exists());
        assert!(!Dataset::lock_path(root, &dead.prefix()).exists());
        live.close();
        me.close();
    }

    #[test]
    fn an_interrupted_removal_is_finished_by_the_next_run() {
        use arrow::array::StringArray;
        use arrow::datatypes::{DataType, Field, Schema};
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let dead = RunKey::new(0, 1);
        let name = format!("part-{}-00001.parquet", dead.prefix());
        let schema = Arc::new(Schema::new(vec![Field::new(
            "interaction_id",
            DataType::Utf8,
            false,
        )]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(StringArray::from(vec!["a", "b", "a"]))],
        )
        .unwrap();
        for table in PUBLISH_ORDER {
            let d = root.join(table).join("date=2026-11-20");
            fs::create_dir_all(&d).unwrap();
            let tmp = d.join("x.tmp");
            write_synced(&tmp, schema.clone(), None, std::slice::from_ref(&batch)).unwrap();
            fs::rename(&tmp, d.join(&name)).unwrap();
        }
        // the dead run journaled the removal of "a" and got as far as the segments table
        fs::create_dir_all(root.join("_callsift/journal")).unwrap();
        let j = Journal {
            ids: vec!["a".into()],
            files: vec![("date=2026-11-20".into(), name.clone())],
        };
        fs::write(
            root.join("_callsift/journal")
                .join(format!("{}.json", dead.prefix())),
            serde_json::to_string(&j).unwrap(),
        )
        .unwrap();
        let ids: HashSet<String> = ["a".to_string()].into();
        let seg = root.join("segments/date=2026-11-20");
        rewrite_without(&seg.join(&name), &seg.join("y.tmp"), &ids).unwrap();
        let ds = Dataset::open(root, RunKey::new(0, 1)).unwrap();
        for table in PUBLISH_ORDER {
            let (h, rows) = crate::store::read::read_text_rows(&root.join(table)).unwrap();
            assert_eq!(h, ["interaction_id"]);
            assert_eq!(rows, vec![vec![Some("b".to_string())]], "{table}");
        }
        assert_eq!(
            fs::read_dir(root.join("_callsift/journal"))
                .unwrap()
                .count(),
            0
        );
        ds.close();
    }
}
