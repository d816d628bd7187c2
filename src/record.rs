//! Record: the row that flows from the per-file stages to the writer — one `Interaction` per
//! input file (success or failure), carrying its analysis. No I/O here.

use crate::analyze::CallAnalysis;
use crate::conversation::SegmentRow;

/// One row of the `interactions` table. Fields that could not be measured are `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Interaction {
    pub interaction_id: String,
    pub source_path: String,
    pub ok: bool,
    pub error: Option<String>,
    pub content_sha256: Option<String>,
    /// Hash of everything besides the audio that shapes this row (model, settings, rules,
    /// manifest metadata): with `content_sha256`, decides whether a rerun may skip the file.
    pub settings_sha256: Option<String>,
    /// The run that wrote the row (set by the writer).
    pub run_id: String,
    /// `YYYY-MM-DD` partition; when `None` the writer uses `started_at`'s date (UTC), else today.
    pub partition_date: Option<String>,
    pub duration_ms: Option<i64>,
    pub sample_rate_hz: Option<i32>,
    pub channels: Option<i32>,
    pub codec: Option<String>,
    pub agent_id: Option<String>,
    pub customer_id: Option<String>,
    /// Milliseconds since the Unix epoch, UTC.
    pub started_at: Option<i64>,
    pub queue: Option<String>,
    /// The contact channel (voice, chat, …) from the manifest; not an audio channel.
    pub contact_channel: Option<String>,
    pub model: String,
    pub language: String,
    pub transcript: Option<String>,
    pub agent_words: Option<i32>,
    pub customer_words: Option<i32>,
    pub total_words: Option<i32>,
    pub segment_count: Option<i32>,
    pub processing_ms: i64,
    /// Number of PII redactions in the texts; `None` when redaction is off or the file failed.
    pub pii_redactions: Option<i32>,
    /// Conversation metrics; `None` for failed files.
    pub metrics: Option<crate::analyze::metrics::Metrics>,
    /// Sentiment per role and quarter; `None` for failed files.
    pub sentiment: Option<crate::analyze::sentiment::CallSentiment>,
    /// Times the agent says the customer's name (as the customer gave it, or title + name);
    /// `None` on mono recordings and failed files.
    pub customer_name_uses: Option<i32>,
    /// Rule hits (evidence), already redacted.
    pub hits: Vec<crate::analyze::rules::Hit>,
    /// Per category of the run's rule set: fired or not; `None` where it cannot be judged
    /// (role-specific categories on mono recordings) or the file failed.
    pub categories: Vec<Option<bool>>,
    /// How the roles were found: `channel`, `channel_swapped` or `diarization`; `None` for
    /// mono recordings not diarized and failed files.
    pub roles_source: Option<String>,
    /// How sure the roles are (see `analyze::roles::Cast`).
    pub role_confidence: Option<f64>,
    /// Speakers heard.
    pub speakers: Option<i32>,
    /// Manifest pass-through values, aligned with the writer's extra column names.
    pub extra: Vec<Option<String>>,
    pub segments: Vec<SegmentRow>,
}

impl Interaction {
    /// Fill the analytic columns from the call's analysis (a processed file).
    pub fn apply(&mut self, a: CallAnalysis) {
        self.agent_words = a.agent_words;
        self.customer_words = a.customer_words;
        self.total_words = Some(a.total_words);
        self.pii_redactions = a.pii_redactions;
        self.sentiment = Some(a.sentiment);
        self.metrics = Some(a.metrics);
        self.customer_name_uses = a.customer_name_uses;
        self.hits = a.hits;
        self.categories = a.categories;
        self.transcript = Some(a.transcript);
        self.segment_count = Some(a.segments.len() as i32);
        if let Some(c) = a.cast {
            self.roles_source = Some(c.source.to_string());
            self.role_confidence = Some(c.confidence);
            self.speakers = Some(c.speakers);
        }
        self.segments = a.segments;
    }
}
