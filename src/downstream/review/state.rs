//! What the review server's handlers share: the server's state (data, reviews, player,
//! secrets), the reviewer of a request, and the answers every page uses.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use askama::Template;
use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::ReviewSettings;
use super::audio::Player;
use super::book::{Book, Status};
use super::data::Data;
use super::views::{MessagePage, Who};

pub const REVIEWER_COOKIE: &str = "callsift_reviewer";

/// What every request handler shares.
pub struct State {
    pub data: Data,
    pub book: Book,
    pub player: Player,
    /// The secret every form and autosave carries (random per server start).
    pub csrf: String,
    pub token: Option<String>,
    pub addr: SocketAddr,
    pub keep_original_audio: bool,
    /// Where the queue comes from, in words.
    pub source: String,
}

impl State {
    pub fn new(s: &ReviewSettings, addr: SocketAddr, data: Data, book: Book) -> State {
        State {
            player: Player::new(&s.dataset, s.keep_original_audio),
            data,
            book,
            csrf: hex::encode(rand::random::<[u8; 24]>()),
            token: s.token.clone(),
            addr,
            keep_original_audio: s.keep_original_audio,
            source: match &s.qa {
                Some(dir) => format!("the QA sample in {}", dir.display()),
                None => "the dataset, flagged calls first".into(),
            },
        }
    }

    /// The top bar for a request.
    pub fn who(&self, headers: &HeaderMap) -> Who {
        Who {
            reviewer: reviewer(headers),
            csrf: self.csrf.clone(),
        }
    }
}

/// A page as the response, or a 500 naming the template error.
pub fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

pub fn message(status: StatusCode, title: &str, message: &str) -> Response {
    html(
        status,
        &MessagePage {
            title: title.into(),
            message: message.into(),
        },
    )
}

pub async fn not_found() -> Response {
    message(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no such page or call here.",
    )
}

/// The reviewer's name, from their cookie (hex of the name).
pub fn reviewer(headers: &HeaderMap) -> Option<String> {
    cookie(headers, REVIEWER_COOKIE)
        .and_then(|v| hex::decode(v).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|n| !n.trim().is_empty())
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A reviewer's status of a call (for the queue).
pub fn status_of(statuses: &BTreeMap<String, Status>, id: &str) -> Status {
    statuses.get(id).copied().unwrap_or(Status::ToDo)
}

/// The QA score of a save's rows, shown with one decimal.
pub fn score_text(score: Option<f64>) -> String {
    score.map(|s| format!("{s:.1}")).unwrap_or_default()
}

/// Query parameters of the list pages.
pub type Params = Query<BTreeMap<String, String>>;

/// A text percent-encoded for a URL path segment or query value (everything but unreserved
/// characters).
pub fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
