//! Per-file watchdog: a deadline that decoding and transcription check as they go, so a file
//! that takes far longer than its length warrants (a decoder spinning on a crafted stream,
//! whisper looping) becomes that file's error row and the run goes on.

use std::time::{Duration, Instant};

/// How long one file may take: `base` plus `per_audio` times its audio duration.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Limits {
    /// Allowance every file gets, whatever its length (also the whole allowance for decoding,
    /// before the duration is known).
    pub base: Duration,
    /// Seconds of processing allowed per second of audio on top of `base`.
    pub per_audio: f64,
}

impl Default for Limits {
    /// 5 minutes plus 10× the audio: about 200 times what a call takes on an idle 2-core
    /// machine, and 8 times what it took when another job shared the CPU at its worst.
    fn default() -> Limits {
        Limits {
            base: Duration::from_secs(300),
            per_audio: 10.0,
        }
    }
}

impl Limits {
    /// The deadline of a file whose processing started at `started`, once its audio length is
    /// known (`None`: only the base allowance).
    pub fn deadline(&self, started: Instant, audio: Option<Duration>) -> Deadline {
        let extra = audio.map_or(Duration::ZERO, |a| a.mul_f64(self.per_audio.max(0.0)));
        Deadline {
            at: started.checked_add(self.base + extra),
            allowed: self.base + extra,
        }
    }
}

/// A point in time after which a file's processing gives up.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Option<Instant>,
    allowed: Duration,
}

impl Deadline {
    /// No deadline (tools and tests that decode one file).
    pub fn none() -> Deadline {
        Deadline {
            at: None,
            allowed: Duration::MAX,
        }
    }

    pub fn passed(&self) -> bool {
        self.at.is_some_and(|t| Instant::now() >= t)
    }

    /// The time this deadline allowed, for messages.
    pub fn allowed(&self) -> Duration {
        self.allowed
    }

    pub(crate) fn instant(&self) -> Option<Instant> {
        self.at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allowance_grows_with_the_audio() {
        let l = Limits {
            base: Duration::from_secs(10),
            per_audio: 2.0,
        };
        let t = Instant::now();
        assert_eq!(l.deadline(t, None).allowed(), Duration::from_secs(10));
        let d = l.deadline(t, Some(Duration::from_secs(60)));
        assert_eq!(d.allowed(), Duration::from_secs(130));
        assert!(!d.passed());
        let zero = Limits {
            base: Duration::ZERO,
            per_audio: 0.0,
        };
        assert!(zero.deadline(t, Some(Duration::from_secs(60))).passed());
        assert!(!Deadline::none().passed());
    }
}
