//! `callsift review`: a local web server where QA reviewers listen to calls, score them
//! against the checklist and calibrate, over a dataset — its verdicts saved back into the
//! dataset's `reviews/` table (`store::reviews`).
//!
//! - [`data`]: the calls, transcripts, detections, surveys, checklist and queue, read once;
//! - [`book`]: the reviews, appended one save at a time; the QA score;
//! - [`calibration`]: agreement between reviewers and of callsift's flags with them (pure);
//! - [`audio`]: the full-call player's WAV, muted where payment data was spoken, in ranges;
//! - [`dashboard`]: the home page, the dataset's figures under filters, each with its n and
//!   its calls;
//! - [`pages`]: the other GET handlers (queue, call, calibration, CSV export);
//! - [`views`]: the pages (askama templates `templates/review_*.html`);
//! - [`state`]: what the handlers share (the server's state, the request's reviewer);
//! - [`routes`]: the HTTP routes and the guards every request passes (access token, host,
//!   cross-site request forgery, security headers).
//!
//! It binds a loopback address unless given an access token; it serves the dataset's calls by
//! id only (no path from a request reaches the file system).

pub mod audio;
pub mod book;
pub mod calibration;
pub mod dashboard;
pub mod data;
pub mod pages;
pub mod routes;
pub mod state;
pub mod views;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// What the server is started with.
#[derive(Debug, Clone)]
pub struct ReviewSettings {
    /// The dataset of `callsift run`; reviews are written to its `reviews/`.
    pub dataset: PathBuf,
    /// `callsift score`'s output (predicted NPS, detractor probability, repeat contacts).
    pub scores: Option<PathBuf>,
    /// `callsift sample`'s output: the queue is its picks (else every call, flagged first).
    pub qa: Option<PathBuf>,
    /// Survey answers (CSV or Parquet keyed by interaction_id or call_id).
    pub surveys: Option<PathBuf>,
    /// The QA checklist (`item,weight,polarity`); default: every behaviour, weight 1.
    pub checklist: Option<PathBuf>,
    pub listen: SocketAddr,
    /// Required on every request when given; required to listen on a non-loopback address.
    pub token: Option<String>,
    /// Play the original audio (payment data not muted).
    pub keep_original_audio: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    Folder(#[from] crate::downstream::inputs::FolderError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Table(#[from] crate::downstream::tables::TableError),
    #[error(transparent)]
    Checklist(#[from] crate::downstream::score::checklist::ChecklistError),
    #[error(
        "--checklist {0}: no such file\nhint: pass a CSV of item,weight,polarity lines (e.g. beh_empathy,2,positive), or leave --checklist out to review every behaviour"
    )]
    NoChecklist(PathBuf),
    #[error(
        "--dataset {0}: no call was processed successfully, so there is nothing to review\nhint: run `callsift run` on the recordings first, and look at the error column of its interactions"
    )]
    NoCalls(PathBuf),
    #[error(
        "--listen {0}: not a loopback address, and no --token\nhint: pass --token with a secret the reviewers are given, or listen on 127.0.0.1"
    )]
    NeedsToken(SocketAddr),
    #[error(
        "--token: an access token needs at least 16 characters\nhint: e.g. --token $(head -c 18 /dev/urandom | base64)"
    )]
    ShortToken,
    #[error("cannot listen on {addr}: {detail}\nhint: {hint}")]
    Listen {
        addr: SocketAddr,
        detail: String,
        hint: &'static str,
    },
    #[error("the server stopped: {0}")]
    Serve(#[source] std::io::Error),
}

/// Check the settings that need nothing read: the token.
pub fn check(s: &ReviewSettings) -> Result<(), ReviewError> {
    match &s.token {
        None if !s.listen.ip().is_loopback() => Err(ReviewError::NeedsToken(s.listen)),
        Some(t) if t.chars().count() < 16 => Err(ReviewError::ShortToken),
        _ => Ok(()),
    }
}

/// An operating system's message as the rest of ours: "address already in use (os error 98)".
fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default()
}

/// A server ready to run: its data read, its address bound.
pub struct Server {
    pub addr: SocketAddr,
    listener: std::net::TcpListener,
    state: Arc<state::State>,
}

/// Read everything and bind the address (errors here are the user's to fix: exit 2).
pub fn prepare(s: &ReviewSettings) -> Result<Server, ReviewError> {
    check(s)?;
    let data = data::load(s)?;
    let book = book::Book::open(s.dataset.clone())?;
    let listener = std::net::TcpListener::bind(s.listen).map_err(|e| ReviewError::Listen {
        addr: s.listen,
        detail: lowercase_first(&e.to_string()),
        hint: match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                "another program (or another `callsift review`) listens there: pick another port with --listen 127.0.0.1:PORT"
            }
            std::io::ErrorKind::AddrNotAvailable => {
                "the address is not one of this machine's: use 127.0.0.1, or an address of one of its interfaces"
            }
            _ => "pick another port with --listen 127.0.0.1:PORT",
        },
    })?;
    let addr = listener.local_addr().map_err(ReviewError::Serve)?;
    listener.set_nonblocking(true).map_err(ReviewError::Serve)?;
    let state = state::State::new(s, addr, data, book);
    Ok(Server {
        addr,
        listener,
        state: Arc::new(state),
    })
}

impl Server {
    /// Serve until the process is interrupted (Ctrl-C).
    pub fn run(self) -> Result<(), ReviewError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_io()
            .build()
            .map_err(ReviewError::Serve)?;
        rt.block_on(async move {
            let listener =
                tokio::net::TcpListener::from_std(self.listener).map_err(ReviewError::Serve)?;
            axum::serve(listener, routes::router(self.state))
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await
                .map_err(ReviewError::Serve)
        })
    }
}
