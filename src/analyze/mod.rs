//! Analyze: turns what was heard (speech regions per channel, transcribed segments) into the
//! features analysts use. Pure computation over in-memory data; does no I/O.

pub mod metrics;
pub mod pii;
pub mod rules;
