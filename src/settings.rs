//! Settings: the validated, clap-free description of a run. The CLI builds it; the pipeline
//! reads it. Also holds the worker/thread plan so the whole run never uses more threads than
//! there are cores.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::analyze::rules::{self, RuleSet, RulesError};
use crate::models::ResolvedModel;

/// Which channel of a stereo recording carries the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Roles {
    /// Left, unless what is said shows with confidence that the channels are swapped.
    Auto,
    LeftAgent,
    RightAgent,
}

impl Roles {
    /// The channel (0 = left) taken to carry the agent before any evidence.
    pub fn assumed_agent(self) -> usize {
        match self {
            Roles::Auto | Roles::LeftAgent => 0,
            Roles::RightAgent => 1,
        }
    }
}

/// Diarization of mono recordings (`--diarize auto`): where to look for the speaker-embedding
/// model (found, and its absence reported, when the run loads its models — after the inputs
/// and the Whisper model are checked).
#[derive(Debug, Clone, Serialize)]
pub struct DiarizeSettings {
    #[serde(skip)]
    pub dirs: Vec<crate::models::SearchDir>,
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
    #[error("--watchdog-base {0} is not a number of seconds\nhint: give a value such as 300")]
    WatchdogBase(f64),
    #[error("cannot read rules file {path}: {source}")]
    RulesFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read evaluation set {path}: {source}")]
    EvalSet {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Rules(#[from] RulesError),
    #[error(
        "the built-in semantic heads belong to the built-in pack\nhint: calibrate heads for your pack with `callsift rules calibrate SET... --rules FILE --out HEADS` and pass `--semantic-heads HEADS`"
    )]
    BuiltinHeadsCustomPack,
    #[error(
        "cannot read {path}: {source}\nhint: pass the file `callsift rules calibrate --out` wrote"
    )]
    HeadsRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}: {detail}\nhint: write it with `callsift rules calibrate`")]
    HeadsInvalid { origin: String, detail: String },
    #[error(
        "the semantic heads ({origin}) were calibrated with {calibrated} but the installed model is {installed}\nhint: run `callsift models fetch all-minilm-l6-v2 --force`, or calibrate again"
    )]
    HeadsModel {
        origin: String,
        calibrated: String,
        installed: String,
    },
    #[error(transparent)]
    Model(#[from] crate::models::ModelError),
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

/// A rules file read once: the compiled rules, where they came from, and the SHA-256 of the
/// very bytes that were parsed (part of the settings hash).
#[derive(Debug, Clone)]
pub struct LoadedRules {
    pub rules: RuleSet,
    /// `builtin` or the file's path.
    pub source: String,
    pub sha256: String,
}

/// Read, parse and hash a rules file, or the built-in pack when `None`. A bad file is an error
/// naming its line, so it stops a run before any audio is read.
pub fn load_rules(file: Option<&Path>) -> Result<LoadedRules, SettingsError> {
    let Some(path) = file else {
        return Ok(LoadedRules {
            rules: RuleSet::builtin(),
            source: "builtin".into(),
            sha256: crate::fsutil::sha256_hex(rules::BUILTIN.as_bytes()),
        });
    };
    let read_error = |source| SettingsError::RulesFile {
        path: path.into(),
        source,
    };
    let bytes = std::fs::read(path).map_err(read_error)?;
    let text = utf8(&bytes).map_err(read_error)?;
    let source = path.display().to_string();
    Ok(LoadedRules {
        rules: RuleSet::parse(text, &source)?,
        sha256: crate::fsutil::sha256_hex(&bytes),
        source,
    })
}

fn utf8(bytes: &[u8]) -> Result<&str, std::io::Error> {
    std::str::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

/// Read an evaluation set (`callsift rules eval`): labelled transcripts for `rules`.
pub fn load_eval_set(
    path: &Path,
    rules: &RuleSet,
) -> Result<Vec<rules::eval::Item>, SettingsError> {
    let read_error = |source| SettingsError::EvalSet {
        path: path.into(),
        source,
    };
    let bytes = std::fs::read(path).map_err(read_error)?;
    let text = utf8(&bytes).map_err(read_error)?;
    Ok(rules::eval::parse_set(
        text,
        &path.display().to_string(),
        rules,
    )?)
}

/// The watchdog's limits from `--watchdog-base` seconds and `--watchdog-factor`.
pub fn watchdog_limits(
    base_secs: f64,
    per_audio: f64,
) -> Result<crate::watchdog::Limits, SettingsError> {
    Ok(crate::watchdog::Limits {
        base: std::time::Duration::try_from_secs_f64(base_secs)
            .map_err(|_| SettingsError::WatchdogBase(base_secs))?,
        per_audio,
    })
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
    /// CPUs online on the machine: workers × threads never exceed them.
    pub cores: usize,
    /// CPUs this process was granted (affinity, cgroup quota, Slurm): the default plan fills them.
    pub cpus: CpuGrant,
    /// Which stereo channel is the agent's (or `auto`: decided per call from what is said).
    pub roles: Roles,
    /// Diarize mono recordings into speakers; `None` with `--diarize off`.
    pub diarize: Option<DiarizeSettings>,
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
    /// The semantic rules layer (`--semantic`); off by default.
    pub semantic: Option<SemanticSettings>,
    /// Which slice of the inputs this process takes.
    pub shard: Shard,
    /// Process every input again, even when the dataset holds an up-to-date row for it.
    pub force: bool,
    /// Rows per committed batch (a killed run loses at most this many finished calls).
    pub commit_every: usize,
    /// How long one file may take before it becomes an error row.
    pub watchdog: crate::watchdog::Limits,
}

/// The semantic rules layer of a run: the pack's calibrated heads and the embedding model.
#[derive(Debug, Clone, Serialize)]
pub struct SemanticSettings {
    #[serde(skip)]
    pub heads: std::sync::Arc<crate::analyze::semantic::Heads>,
    /// Where the heads came from: `builtin` or the file's path.
    pub heads_source: String,
    /// SHA-256 of the heads' JSON (part of the settings hash).
    pub heads_sha256: String,
    /// The folder of the embedding model and the id of its weights.
    pub model_dir: PathBuf,
    pub model_id: String,
}

/// The semantic layer's settings: the heads of `file` (`None`: the built-in pack's, refused
/// for a custom pack) and the installed embedding model, which must be the one they were
/// calibrated with.
pub fn semantic_settings(
    file: Option<&Path>,
    custom_rules: bool,
    dirs: &[crate::models::SearchDir],
) -> Result<SemanticSettings, SettingsError> {
    use crate::analyze::semantic::{BUILTIN_HEADS, Heads};
    let (text, origin) = match file {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|source| SettingsError::HeadsRead {
                    path: path.into(),
                    source,
                })?;
            (text, path.display().to_string())
        }
        None if custom_rules => return Err(SettingsError::BuiltinHeadsCustomPack),
        None => (BUILTIN_HEADS.to_string(), "builtin".to_string()),
    };
    let heads = Heads::parse(&text).map_err(|detail| SettingsError::HeadsInvalid {
        origin: origin.clone(),
        detail,
    })?;
    let model = crate::models::embedder::resolve(dirs)?;
    if heads.model != model.id {
        return Err(SettingsError::HeadsModel {
            origin,
            calibrated: heads.model,
            installed: model.id,
        });
    }
    Ok(SemanticSettings {
        heads: std::sync::Arc::new(heads),
        heads_source: origin,
        heads_sha256: crate::fsutil::sha256_hex(text.as_bytes()),
        model_dir: model.dir,
        model_id: model.id,
    })
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
        self.plan(usize::MAX).map(|_| ())
    }
}

/// whisper.cpp threads per worker when neither --jobs nor --threads is given.
const DEFAULT_THREADS: usize = 2;

/// What the process can read about the CPUs it may use. [`CpuEnv::read`] fills it from
/// `/sys`, `/proc` and the environment; tests inject values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuEnv {
    /// CPUs online on the machine.
    pub online: Option<usize>,
    /// CPUs in this process's affinity mask (`taskset`, `cpuset`, Slurm's task binding).
    pub affinity: Option<usize>,
    /// Contents of cgroup v2 `cpu.max` files, from this process's cgroup up to the root.
    pub cpu_max: Vec<String>,
    /// Contents of cgroup v1 (`cpu.cfs_quota_us`, `cpu.cfs_period_us`) pairs, same order.
    pub cfs: Vec<(String, String)>,
    /// `SLURM_CPUS_PER_TASK`.
    pub slurm_cpus_per_task: Option<String>,
}

/// The CPUs this run may use, and where that figure came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CpuGrant {
    pub cpus: usize,
    /// E.g. `1 from affinity mask; 2 online, no cgroup quota`.
    pub why: String,
}

/// The cgroup CPU quota in CPUs (quota ÷ period), the smallest along the hierarchy; `None`
/// when no level sets one. v2 `cpu.max` reads `max 100000` or `150000 100000`; v1's
/// `cpu.cfs_quota_us` is `-1` when unlimited.
pub fn cgroup_quota(cpu_max: &[String], cfs: &[(String, String)]) -> Option<f64> {
    let ratio = |quota: &str, period: &str| -> Option<f64> {
        let q: f64 = quota.trim().parse().ok()?;
        let p: f64 = period.trim().parse().ok()?;
        (q > 0.0 && p > 0.0).then(|| q / p)
    };
    let v2 = cpu_max.iter().filter_map(|line| {
        let mut f = line.split_whitespace();
        ratio(f.next()?, f.next().unwrap_or("100000"))
    });
    let v1 = cfs.iter().filter_map(|(q, p)| ratio(q, p));
    v2.chain(v1).reduce(f64::min)
}

/// The CPUs granted: the smallest of the machine's online CPUs, the affinity mask, the cgroup
/// quota (rounded down, at least 1: threads beyond a quota only wait for it) and Slurm's CPUs
/// per task. Pure: every input comes from `env`.
pub fn granted_cpus(env: &CpuEnv) -> CpuGrant {
    let quota = cgroup_quota(&env.cpu_max, &env.cfs);
    let slurm = env
        .slurm_cpus_per_task
        .as_deref()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0);
    let limits = [
        (env.affinity, "affinity mask"),
        (quota.map(|q| (q.floor() as usize).max(1)), "cgroup quota"),
        (slurm, "SLURM_CPUS_PER_TASK"),
    ];
    // the machine's count unless a limit is as low or lower
    let (cpus, from) = limits
        .iter()
        .filter_map(|&(n, name)| n.map(|n| (n.max(1), name)))
        .fold((env.online.unwrap_or(1).max(1), "online"), |best, l| {
            if l.0 <= best.0 { l } else { best }
        });
    CpuGrant {
        cpus,
        why: format!("{cpus} from {from}; {}", describe(env, quota, slurm)),
    }
}

/// Everything [`granted_cpus`] looked at, e.g. `2 online, affinity mask 2, no cgroup quota`.
fn describe(env: &CpuEnv, quota: Option<f64>, slurm: Option<usize>) -> String {
    let mut facts = Vec::new();
    if let Some(n) = env.online {
        facts.push(format!("{n} online"));
    }
    if let Some(n) = env.affinity {
        facts.push(format!("affinity mask {n}"));
    }
    facts.push(match quota {
        Some(q) => format!("cgroup quota {q:.1}"),
        None => "no cgroup quota".into(),
    });
    if let Some(n) = slurm {
        facts.push(format!("SLURM_CPUS_PER_TASK {n}"));
    }
    facts.join(", ")
}

/// Count the CPUs of a Linux CPU list such as `0-3,8,10-11`.
pub fn cpu_list_len(list: &str) -> Option<usize> {
    let mut n = 0;
    for part in list.trim().split(',').filter(|p| !p.is_empty()) {
        n += match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.parse().ok()?, b.parse().ok()?);
                b.checked_sub(a)? + 1
            }
            None => part.parse::<usize>().map(|_| 1).ok()?,
        };
    }
    (n > 0).then_some(n)
}

impl CpuEnv {
    /// Read this process's CPU environment (Linux; elsewhere only the online count, from the
    /// standard library).
    pub fn read() -> CpuEnv {
        let online = std::fs::read_to_string("/sys/devices/system/cpu/online")
            .ok()
            .and_then(|s| cpu_list_len(&s))
            .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()));
        let affinity = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                    .and_then(cpu_list_len)
            });
        let (cpu_max, cfs) = read_cgroup_quotas();
        CpuEnv {
            online,
            affinity,
            cpu_max,
            cfs,
            slurm_cpus_per_task: std::env::var("SLURM_CPUS_PER_TASK").ok(),
        }
    }
}

/// The cgroup folders of this process for one hierarchy (v2: `""`, v1: a controller such as
/// `cpu`), from its own cgroup up to the mount's root.
fn cgroup_dirs(controller: &str, mount: &std::path::Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string("/proc/self/cgroup") else {
        return Vec::new();
    };
    let Some(rel) = text.lines().find_map(|l| {
        let mut f = l.splitn(3, ':');
        let (_, controllers, path) = (f.next()?, f.next()?, f.next()?);
        let hit = if controller.is_empty() {
            controllers.is_empty()
        } else {
            controllers.split(',').any(|c| c == controller)
        };
        hit.then(|| path.trim_start_matches('/').to_string())
    }) else {
        return Vec::new();
    };
    let mut dirs = Vec::new();
    let mut p = Some(mount.join(rel));
    while let Some(dir) = p {
        if !dir.starts_with(mount) {
            break;
        }
        dirs.push(dir.clone());
        p = dir.parent().map(std::path::Path::to_path_buf);
    }
    dirs
}

/// cgroup v2 `cpu.max` and v1 CFS quota files of this process's cgroups and their ancestors.
fn read_cgroup_quotas() -> (Vec<String>, Vec<(String, String)>) {
    let root = std::path::Path::new("/sys/fs/cgroup");
    let read = |p: PathBuf| std::fs::read_to_string(p).ok();
    let mut cpu_max = Vec::new();
    for mount in [root.to_path_buf(), root.join("unified")] {
        cpu_max.extend(
            cgroup_dirs("", &mount)
                .into_iter()
                .filter_map(|d| read(d.join("cpu.max"))),
        );
    }
    let mut cfs = Vec::new();
    for mount in [root.join("cpu"), root.join("cpu,cpuacct")] {
        cfs.extend(cgroup_dirs("cpu", &mount).into_iter().filter_map(|d| {
            Some((
                read(d.join("cpu.cfs_quota_us"))?,
                read(d.join("cpu.cfs_period_us"))?,
            ))
        }));
    }
    (cpu_max, cfs)
}

/// The run's workers × threads, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub jobs: usize,
    pub threads: usize,
    /// E.g. `cpus: 1 from affinity mask; 2 online, no cgroup quota`.
    pub why: String,
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = |n: usize| if n == 1 { "" } else { "s" };
        write!(
            f,
            "{} worker{} × {} thread{} ({})",
            self.jobs,
            s(self.jobs),
            self.threads,
            s(self.threads),
            self.why
        )
    }
}

impl RunSettings {
    /// The workers × threads plan for `files` files to process.
    pub fn plan(&self, files: usize) -> Result<Plan, SettingsError> {
        let (jobs, threads) = plan_threads(self.jobs, self.threads, &self.cpus, self.cores, files)?;
        let given: Vec<String> = [("jobs", self.jobs), ("threads", self.threads)]
            .iter()
            .filter_map(|(name, v)| v.map(|v| format!("--{name} {v}")))
            .collect();
        let why = if given.is_empty() {
            format!("cpus: {}", self.cpus.why)
        } else {
            format!("{} given; cpus: {}", given.join(" "), self.cpus.why)
        };
        Ok(Plan { jobs, threads, why })
    }
}

/// Decide (workers, threads per worker). Missing values fill the CPUs granted (`granted`: the
/// affinity mask, cgroup quota, Slurm allocation), with no more workers than files. Explicit
/// values are honoured or rejected, never silently changed: they may exceed the grant (an
/// override) but never the machine's `cores`. The default is 2 threads per worker: on the
/// 2-core machine 1 × 2 runs as fast as 2 × 1 with one whisper state instead of two (peak RSS
/// 282 against 451 MiB, benches/RESULTS.md), and more threads per worker only add
/// synchronisation.
pub fn plan_threads(
    jobs: Option<usize>,
    threads: Option<usize>,
    granted: &CpuGrant,
    cores: usize,
    files: usize,
) -> Result<(usize, usize), SettingsError> {
    let cores = cores.max(1);
    let cpus = granted.cpus.clamp(1, cores);
    if jobs == Some(0) {
        return Err(SettingsError::Zero { name: "jobs" });
    }
    if threads == Some(0) {
        return Err(SettingsError::Zero { name: "threads" });
    }
    let (j, t) = match (jobs, threads) {
        (Some(j), Some(t)) => (j, t),
        (Some(j), None) => (j, (cpus / j).max(1)),
        (None, Some(t)) => ((cpus / t).max(1).min(files.max(1)), t),
        (None, None) => {
            let j = (cpus / DEFAULT_THREADS).max(1).min(files.max(1));
            (j, (cpus / j).max(1))
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

    fn grant(cpus: usize) -> CpuGrant {
        CpuGrant {
            cpus,
            why: String::new(),
        }
    }

    #[test]
    fn threads_never_exceed_cores() {
        let p = |j, t, cpus, files| plan_threads(j, t, &grant(cpus), cpus, files);
        assert_eq!(p(None, None, 2, 10).unwrap(), (1, 2));
        assert_eq!(p(None, None, 2, 1).unwrap(), (1, 2));
        assert_eq!(p(None, None, 1, 10).unwrap(), (1, 1));
        assert_eq!(p(None, None, 8, 10).unwrap(), (4, 2));
        assert_eq!(p(None, None, 8, 3).unwrap(), (3, 2));
        assert_eq!(p(None, None, 16, 1).unwrap(), (1, 16));
        assert_eq!(p(Some(1), None, 4, 10).unwrap(), (1, 4));
        assert_eq!(p(None, Some(2), 4, 10).unwrap(), (2, 2));
        assert!(matches!(
            p(Some(2), Some(2), 2, 10),
            Err(SettingsError::Oversubscribed { total: 4, .. })
        ));
        assert!(p(Some(3), None, 2, 10).is_err());
        assert!(p(Some(0), None, 2, 10).is_err());
    }

    #[test]
    fn the_default_plan_fills_the_granted_cpus_and_overrides_may_exceed_them() {
        // 1 CPU granted on a 2-core machine
        assert_eq!(plan_threads(None, None, &grant(1), 2, 10).unwrap(), (1, 1));
        assert_eq!(
            plan_threads(Some(1), None, &grant(1), 2, 10).unwrap(),
            (1, 1)
        );
        assert_eq!(
            plan_threads(None, Some(2), &grant(1), 2, 10).unwrap(),
            (1, 2)
        );
        assert_eq!(
            plan_threads(Some(2), Some(1), &grant(1), 2, 10).unwrap(),
            (2, 1)
        );
        assert!(plan_threads(Some(2), Some(2), &grant(1), 2, 10).is_err());
        // a grant above the machine (a quota of 8 on 4 cores) is the machine
        assert_eq!(plan_threads(None, None, &grant(8), 4, 10).unwrap(), (2, 2));
    }

    fn env() -> CpuEnv {
        CpuEnv {
            online: Some(8),
            affinity: Some(8),
            ..CpuEnv::default()
        }
    }

    #[test]
    fn the_affinity_mask_limits_the_cpus() {
        let g = granted_cpus(&CpuEnv {
            affinity: Some(1),
            ..env()
        });
        assert_eq!(g.cpus, 1);
        assert_eq!(
            g.why,
            "1 from affinity mask; 8 online, affinity mask 1, no cgroup quota"
        );
        let g = granted_cpus(&env());
        assert_eq!((g.cpus, g.why.starts_with("8 from")), (8, true));
    }

    #[test]
    fn cgroup_v2_cpu_max_limits_the_cpus() {
        let with = |lines: &[&str]| {
            granted_cpus(&CpuEnv {
                cpu_max: lines.iter().map(|l| l.to_string()).collect(),
                ..env()
            })
        };
        let g = with(&["150000 100000\n"]);
        assert_eq!(g.cpus, 1, "1.5 CPUs of quota round down");
        assert!(g.why.starts_with("1 from cgroup quota;"), "{}", g.why);
        assert!(g.why.contains("cgroup quota 1.5"), "{}", g.why);
        assert_eq!(with(&["max 100000\n"]).cpus, 8);
        // the tightest level of the hierarchy wins
        assert_eq!(
            with(&["max 100000", "400000 100000", "300000 100000"]).cpus,
            3
        );
        assert_eq!(with(&["50000 100000"]).cpus, 1, "never below one");
        assert_eq!(with(&["garbage"]).cpus, 8);
    }

    #[test]
    fn cgroup_v1_cfs_quota_limits_the_cpus() {
        let with = |pairs: &[(&str, &str)]| {
            granted_cpus(&CpuEnv {
                cfs: pairs
                    .iter()
                    .map(|(q, p)| (q.to_string(), p.to_string()))
                    .collect(),
                ..env()
            })
        };
        assert_eq!(with(&[("-1\n", "100000\n")]).cpus, 8);
        let g = with(&[("200000\n", "100000\n")]);
        assert_eq!(g.cpus, 2);
        assert!(g.why.contains("cgroup quota 2.0"), "{}", g.why);
        assert_eq!(with(&[("-1", "100000"), ("100000", "50000")]).cpus, 2);
    }

    #[test]
    fn slurm_cpus_per_task_limits_the_cpus() {
        let with = |v: &str| {
            granted_cpus(&CpuEnv {
                slurm_cpus_per_task: Some(v.into()),
                ..env()
            })
        };
        let g = with("4");
        assert_eq!(g.cpus, 4);
        assert!(
            g.why.starts_with("4 from SLURM_CPUS_PER_TASK;"),
            "{}",
            g.why
        );
        assert_eq!(with("16").cpus, 8, "never more than the affinity mask");
        assert_eq!(with("0").cpus, 8);
        assert_eq!(with("two").cpus, 8);
    }

    #[test]
    fn the_smallest_limit_wins_and_nothing_known_means_one() {
        let g = granted_cpus(&CpuEnv {
            online: Some(64),
            affinity: Some(16),
            cpu_max: vec!["600000 100000".into()],
            cfs: vec![],
            slurm_cpus_per_task: Some("4".into()),
        });
        assert_eq!(g.cpus, 4);
        assert_eq!(
            g.why,
            "4 from SLURM_CPUS_PER_TASK; 64 online, affinity mask 16, cgroup quota 6.0, SLURM_CPUS_PER_TASK 4"
        );
        assert_eq!(granted_cpus(&CpuEnv::default()).cpus, 1);
    }

    #[test]
    fn cpu_lists_are_counted() {
        assert_eq!(cpu_list_len("0-1\n"), Some(2));
        assert_eq!(cpu_list_len("0"), Some(1));
        assert_eq!(cpu_list_len("0-3,8,10-11"), Some(7));
        assert_eq!(cpu_list_len(""), None);
        assert_eq!(cpu_list_len("3-1"), None);
        assert_eq!(cpu_list_len("x"), None);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn this_process_reads_its_affinity_mask() {
        // the standard library counts the same mask (and rounds a cgroup quota down)
        let env = CpuEnv::read();
        let std_count = std::thread::available_parallelism().unwrap().get();
        assert!(env.online.is_some_and(|n| n >= std_count), "{env:?}");
        if cgroup_quota(&env.cpu_max, &env.cfs).is_none() {
            assert_eq!(env.affinity, Some(std_count), "{env:?}");
        }
        assert!(granted_cpus(&env).cpus <= std_count.max(1), "{env:?}");
    }

    #[test]
    fn the_plan_says_why() {
        let plan = Plan {
            jobs: 1,
            threads: 1,
            why: "cpus: 1 from affinity mask; 2 online, affinity mask 1, no cgroup quota".into(),
        };
        assert_eq!(
            plan.to_string(),
            "1 worker × 1 thread (cpus: 1 from affinity mask; 2 online, affinity mask 1, no cgroup quota)"
        );
    }
}
