//! callsift: batch speech analytics for contact-centre recordings.
//!
//! The `run` job is [`pipeline`]: its stages in order (input, decode, vad, transcribe), then
//! [`analyze`] (pure) and the [`store`] (the only Parquet code). The commands after `run` are
//! in [`downstream`], over the store's typed read model. [`conversation`] holds the leaf types
//! every stage shares; [`models`] provisions the Whisper weights. See ARCHITECTURE.md.

// The modules in dependency order: each imports only from the ones above it (checked by
// tests/architecture.rs).
pub mod analyze;
pub mod conversation;
pub mod downstream;
pub mod embed;
pub mod fsutil;
#[doc(hidden)]
pub mod fuzzing;
pub mod models;
pub mod pipeline;
pub mod record;
pub mod settings;
pub mod store;
pub mod watchdog;

/// An error and its causes on one line each: `msg: cause: cause`, hints kept on their own lines.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        src = s.source();
    }
    out
}
