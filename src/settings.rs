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
        "--jobs {jobs} × --threads {threads} = {total} threads, more than the {cores} cores of this machine\nhint: keep jobs × threads ≤ {cores}; for throughput prefer more jobs with 1 thread each"
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
    #[error("give recordings to process (files or folders) or --manifest calls.csv")]
    NoInput,
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
        plan_threads(self.jobs, self.threads, self.cores, usize::MAX).map(|_| ())
    }
}

/// Decide (workers, threads per worker) so that workers × threads ≤ cores. Explicit values are
/// honoured or rejected, never silently changed; missing ones fill the cores, with no more
/// workers than files.
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
            let j = cores.min(files.max(1));
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
    fn threads_never_exceed_cores() {
        assert_eq!(plan_threads(None, None, 2, 10).unwrap(), (2, 1));
        assert_eq!(plan_threads(None, None, 2, 1).unwrap(), (1, 2));
        assert_eq!(plan_threads(None, None, 8, 3).unwrap(), (3, 2));
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
