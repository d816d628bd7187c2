//! Record: the plain data that flows from the per-file stages to the writer — one
//! `Interaction` per input file (success or failure) and its `SegmentRow`s. No I/O here.

/// Who speaks on a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Agent,
    Customer,
    /// Mono recordings: both parties mixed on one channel.
    Unknown,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Customer => "customer",
            Role::Unknown => "unknown",
        }
    }
}

/// One transcribed segment, attributed to a role and a source channel.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRow {
    pub role: Role,
    /// 0-based channel index in the source file.
    pub channel: i32,
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: String,
    /// VADER sentiment of the (redacted) text, −5…+5.
    pub sentiment: f32,
    pub avg_token_prob: f32,
    pub no_speech_prob: f32,
}

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
    pub channel: Option<String>,
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
    /// Manifest pass-through values, aligned with the writer's extra column names.
    pub extra: Vec<Option<String>>,
    pub segments: Vec<SegmentRow>,
}
