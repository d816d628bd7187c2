//! Settings: the validated, clap-free description of a run. The CLI builds it; the pipeline
//! reads it. Also holds the worker/thread plan so the whole run never uses more threads than
//! there are cores.

use std::path::PathBuf;

use serde::Serialize;

use crate::models::ResolvedModel;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentChannel {
    Left,
    Right,
}

impl AgentChannel {
    /// Channel index (0 = left) that carries the agent.
    pub fn index(self) -> usize {
        match self {
            AgentChannel::Left => 0,
            AgentChannel::Right => 1,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(
        "--jobs {jobs} × --threads {threads} = {total} threads, more than the {cores} cores of this machine\nhint: keep jobs × threads ≤ {cores}; leaving both out picks 2 threads per job"
    )]
    Oversubscribed {
        jobs: usize,
        threads: usize,
        total: usize,
        cores: usize,
    },
    #[error("--{name} must be at least 1")]
    Zero { name: &'static str },
    #[error("--beam-size must be between 1 and 16, got {0}")]
    BeamSize(u32),
    #[error(
        "--watchdog-factor must be a number of seconds per second of audio, 0 or more, got {0}"
    )]
    WatchdogFactor(f64),
    #[error("give recordings to process (files or folders) or --manifest calls.csv")]
    NoInput,
    #[error("{origin}: {value:?} is not a shard\nhint: {hint}")]
    Shard {
        origin: String,
        value: String,
        hint: &'static str,
    },
}

/// A deterministic slice of the inputs: the calls whose interaction id hashes to `index`
/// modulo `count`. Shards of one input set are disjoint and together cover it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shard {
    /// 0-based, `< count`.
    pub index: usize,
    pub count: usize,
    /// Where it came from: `--shard`, an environment variable, or `none`.
    pub origin: String,
}

impl Default for Shard {
    fn default() -> Self {
        Shard {
            index: 0,
            count: 1,
            origin: "none".into(),
        }
    }
}

const SHARD_HINT: &str = "use --shard K/N with 0 <= K < N, e.g. --shard 0/4 for the first of four";

impl Shard {
    /// `K/N`, 0-based K.
    pub fn parse(value: &str, origin: &str) -> Result<Shard, SettingsError> {
        let bad = || SettingsError::Shard {
            origin: origin.into(),
            value: value.into(),
            hint: SHARD_HINT,
        };
        let (k, n) = value.split_once('/').ok_or_else(bad)?;
        let index: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard {
            index,
            count,
            origin: origin.into(),
        })
    }

    /// The shard given by a cluster engine, from its environment: a Slurm job array
    /// (`SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN` of `SLURM_ARRAY_TASK_COUNT`) or a
    /// Kubernetes Indexed Job (`JOB_COMPLETION_INDEX` of `CALLSIFT_SHARD_COUNT`, which the
    /// Job sets to its `completions`). `None` outside both.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Option<Shard>, SettingsError> {
        let num = |name: &str| -> Result<Option<usize>, SettingsError> {
            match var(name) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| SettingsError::Shard {
                        origin: name.into(),
                        value: v,
                        hint: "the variable must be a non-negative integer",
                    }),
            }
        };
        if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
            let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let count = num("SLURM_ARRAY_TASK_COUNT")?.ok_or(SettingsError::Shard {
                origin: "SLURM_ARRAY_TASK_COUNT".into(),
                value: String::new(),
                hint: "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; pass --shard K/N",
            })?;
            let index = id.checked_sub(min).ok_or(SettingsError::Shard {
                origin: "SLURM_ARRAY_TASK_ID".into(),
                value: id.to_string(),
                hint: "the task id is below SLURM_ARRAY_TASK_MIN; pass --shard K/N",
            })?;
            if index >= count {
                return Err(SettingsError::Shard {
                    origin: "SLURM_ARRAY_TASK_ID".into(),
                    value: format!("{index}/{count}"),
                    hint: "use a contiguous array (--array=0-N) or pass --shard K/N",
                });
            }
            return Ok(Some(Shard {
                index,
                count,
                origin: "SLURM_ARRAY_TASK_ID".into(),
            }));
        }
        if let Some(index) = num("JOB_COMPLETION_INDEX")? {
            let count = num("CALLSIFT_SHARD_COUNT")?.ok_or(SettingsError::Shard {
                origin: "CALLSIFT_SHARD_COUNT".into(),
                value: String::new(),
                hint: "JOB_COMPLETION_INDEX is set: set CALLSIFT_SHARD_COUNT to the Job's completions, or pass --shard K/N",
            })?;
            if count == 0 || index >= count {
                return Err(SettingsError::Shard {
                    origin: "JOB_COMPLETION_INDEX".into(),
                    value: format!("{index}/{count}"),
                    hint: "CALLSIFT_SHARD_COUNT must equal the Job's completions",
                });
            }
            return Ok(Some(Shard {
                index,
                count,
                origin: "JOB_COMPLETION_INDEX".into(),
            }));
        }
        Ok(None)
    }

    /// Whether this shard takes the call with this id (stable across machines and versions:
    /// the first 8 bytes of SHA-256 of the id, modulo the shard count).
    pub fn takes(&self, interaction_id: &str) -> bool {
        use sha2::Digest;
        if self.count <= 1 {
            return true;
        }
        let h = sha2::Sha256::digest(interaction_id.as_bytes());
        let v = u64::from_be_bytes(h[..8].try_into().expect("8 bytes"));
        (v % self.count as u64) as usize == self.index
    }
}

/// Everything `callsift run` needs.
#[derive(Debug, Clone, Serialize)]
pub struct RunSettings {
    pub inputs: Vec<PathBuf>,
    pub manifest: Option<PathBuf>,
    pub out_dir: PathBuf,
    #[serde(skip)]
    pub model: ResolvedModel,
    pub language: String,
    pub beam_size: u32,
    /// Encode each window at whisper's full 30 s context rather than trimmed to its length.
    pub full_context: bool,
    /// Requested workers / threads per worker; `None` = choose from the cores and file count.
    pub jobs: Option<usize>,
    pub threads: Option<usize>,
    pub cores: usize,
    pub agent_channel: AgentChannel,
    /// Thresholds of the conversation metrics (non-talk, hold, interruption tolerance).
    pub metrics: crate::analyze::metrics::MetricParams,
    /// Redact card numbers, CVV, expiry, national ids, phones and e-mails before writing.
    pub redact_pii: bool,
    /// Where the rules came from: `builtin` or the file's path.
    pub rules_source: String,
    /// Behaviour/event/topic categories, validated before any audio is read.
    #[serde(skip)]
    pub rules: std::sync::Arc<crate::analyze::rules::RuleSet>,
    /// SHA-256 of the rules text (part of the settings hash that decides what a rerun skips).
    pub rules_sha256: String,
    /// Which slice of the inputs this process takes.
    pub shard: Shard,
    /// Process every input again, even when the dataset holds an up-to-date row for it.
    pub force: bool,
    /// Rows per committed batch (a killed run loses at most this many finished calls).
    pub commit_every: usize,
    /// How long one file may take before it becomes an error row.
    pub watchdog: crate::watchdog::Limits,
}

impl RunSettings {
    /// Check what can be checked before any file is looked at.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.inputs.is_empty() && self.manifest.is_none() {
            return Err(SettingsError::NoInput);
        }
        if !(1..=16).contains(&self.beam_size) {
            return Err(SettingsError::BeamSize(self.beam_size));
        }
        if !self.watchdog.per_audio.is_finite() || self.watchdog.per_audio < 0.0 {
            return Err(SettingsError::WatchdogFactor(self.watchdog.per_audio));
        }
        plan_threads(self.jobs, self.threads, self.cores, usize::MAX).map(|_| ())
    }
}

/// whisper.cpp threads per worker when neither --jobs nor --threads is given.
const DEFAULT_THREADS: usize = 2;

/// Decide (workers, threads per worker) so that workers × threads ≤ cores. Explicit values are
/// honoured or rejected, never silently changed; missing ones fill the cores, with no more
/// workers than files. The default is 2 threads per worker: on the 2-core machine 1 × 2 runs as
/// fast as 2 × 1 with one whisper state instead of two (peak RSS 282 against 451 MiB,
/// benches/RESULTS.md), and more threads per worker only add synchronisation.
pub fn plan_threads(
    jobs: Option<usize>,
    threads: Option<usize>,
    cores: usize,
    files: usize,
) -> Result<(usize, usize), SettingsError> {
    let cores = cores.max(1);
    if jobs == Some(0) {
        return Err(SettingsError::Zero { name: "jobs" });
    }
    if threads == Some(0) {
        return Err(SettingsError::Zero { name: "threads" });
    }
    let (j, t) = match (jobs, threads) {
        (Some(j), Some(t)) => (j, t),
        (Some(j), None) => (j, (cores / j).max(1)),
        (None, Some(t)) => ((cores / t).max(1).min(files.max(1)), t),
        (None, None) => {
            let j = (cores / DEFAULT_THREADS).max(1).min(files.max(1));
            (j, (cores / j).max(1))
        }
    };
    if j * t > cores {
        return Err(SettingsError::Oversubscribed {
            jobs: j,
            threads: t,
            total: j * t,
            cores,
        });
    }
    Ok((j, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_partition_the_ids() {
        let s = Shard::parse("2/4", "--shard").unwrap();
        assert_eq!((s.index, s.count), (2, 4));
        for bad in ["4/4", "1", "a/2", "0/0", "-1/3"] {
            assert!(Shard::parse(bad, "--shard").is_err(), "{bad}");
        }
        let ids: Vec<String> = (0..400).map(|i| format!("C-{i}")).collect();
        let shards: Vec<Shard> = (0..4)
            .map(|k| Shard::parse(&format!("{k}/4"), "t").unwrap())
            .collect();
        for id in &ids {
            assert_eq!(shards.iter().filter(|s| s.takes(id)).count(), 1, "{id}");
        }
        for s in &shards {
            let n = ids.iter().filter(|id| s.takes(id)).count();
            assert!((60..140).contains(&n), "shard {} takes {n} of 400", s.index);
        }
        // stable: the same id always lands in the same shard
        assert!(Shard::parse("3/4", "t").unwrap().takes("C-1001") == shards[3].takes("C-1001"));
    }

    #[test]
    fn shards_come_from_the_cluster_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(Shard::from_env(env(&[])).unwrap(), None);
        let s = Shard::from_env(env(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!((s.index, s.count), (2, 4));
        let s = Shard::from_env(env(&[
            ("JOB_COMPLETION_INDEX", "0"),
            ("CALLSIFT_SHARD_COUNT", "2"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            (s.index, s.count, s.origin.as_str()),
            (0, 2, "JOB_COMPLETION_INDEX")
        );
        assert!(Shard::from_env(env(&[("JOB_COMPLETION_INDEX", "0")])).is_err());
        assert!(Shard::from_env(env(&[("SLURM_ARRAY_TASK_ID", "0")])).is_err());
    }

    #[test]
    fn threads_never_exceed_cores() {
        assert_eq!(plan_threads(None, None, 2, 10).unwrap(), (1, 2));
        assert_eq!(plan_threads(None, None, 2, 1).unwrap(), (1, 2));
        assert_eq!(plan_threads(None, None, 1, 10).unwrap(), (1, 1));
        assert_eq!(plan_threads(None, None, 8, 10).unwrap(), (4, 2));
        assert_eq!(plan_threads(None, None, 8, 3).unwrap(), (3, 2));
        assert_eq!(plan_threads(None, None, 16, 1).unwrap(), (1, 16));
        assert_eq!(plan_threads(Some(1), None, 4, 10).unwrap(), (1, 4));
        assert_eq!(plan_threads(None, Some(2), 4, 10).unwrap(), (2, 2));
        assert!(matches!(
            plan_threads(Some(2), Some(2), 2, 10),
            Err(SettingsError::Oversubscribed { total: 4, .. })
        ));
        assert!(plan_threads(Some(3), None, 2, 10).is_err());
        assert!(plan_threads(Some(0), None, 2, 10).is_err());
    }
}
