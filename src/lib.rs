//! callsift: batch speech analytics for contact-centre recordings.
//!
//! Stages, one module each: [`input`] (which calls), [`decode`] (audio → 16 kHz channels),
//! [`transcribe`] (whisper.cpp), [`features`] (turns, transcript, counts), [`output`]
//! (Parquet), orchestrated by [`pipeline`]. [`models`] provisions the Whisper weights.
//! See ARCHITECTURE.md for the invariants.

pub mod analyze;
pub mod decode;
pub mod features;
pub mod fsutil;
#[doc(hidden)]
pub mod fuzzing;
pub mod input;
pub mod models;
pub mod output;
pub mod pipeline;
pub mod record;
pub mod report;
pub mod sample;
pub mod score;
pub mod scorecard;
pub mod settings;
pub mod transcribe;
pub mod vad;
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
