//! The HTTP side of the review server: its routes, and the guard every request passes.
//!
//! The guard: on a loopback address only requests naming the server's own host are answered
//! (a web page cannot reach it through a DNS name it controls); with `--token`, a request must
//! carry the token (the `Authorization: Bearer` header, or the cookie set by a first visit to
//! `/?token=…`); a request that changes anything (POST) must come from the server's own pages
//! (its `Origin`/`Referer`, when sent, is the server) and carry the server's secret form token.
//! Every response forbids other sites' scripts, framing and sniffing.
//!
//! Nothing from a request is used as a path: calls are looked up by id in the dataset.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Form, Path, Request};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::audio::{AudioError, byte_range};
use super::book::{Save, Verdict};
use super::state::{REVIEWER_COOKIE, State, cookie, message, not_found, reviewer};
use super::{dashboard, pages};

const SCRIPT: &str = include_str!("../../../templates/review.js");
const TOKEN_COOKIE: &str = "callsift_token";

type Shared = Arc<State>;

/// The routes, behind the guard.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/", get(dashboard::home))
        .route("/queue", get(pages::queue))
        .route("/calls/{id}", get(pages::call))
        .route("/calls/{id}/review", post(save_review))
        .route("/audio/{id}", get(audio))
        .route("/calibration", get(pages::calibration))
        .route("/reviews.csv", get(pages::export_csv))
        .route("/reviewer", post(set_reviewer))
        .route("/static/review.js", get(script))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Equal without an early exit (the token and form secret are compared in constant time).
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The hosts a request may name when the server listens on a loopback address.
fn allowed_host(addr: SocketAddr, host: &str) -> bool {
    let port = addr.port();
    [
        addr.to_string(),
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ]
    .iter()
    .any(|h| h.eq_ignore_ascii_case(host))
}

/// The guard every request passes (see the module's documentation), and the security headers
/// of every response.
async fn guard(
    axum::extract::State(st): axum::extract::State<Shared>,
    req: Request,
    next: Next,
) -> Response {
    let mut resp = match check_request(&st, &req) {
        Ok(None) => next.run(req).await,
        Ok(Some(early)) => early,
        Err((status, why)) => message(status, "Refused", why),
    };
    let h = resp.headers_mut();
    let set = |h: &mut HeaderMap, k: header::HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; media-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "same-origin");
    set(h, header::CACHE_CONTROL, "no-store");
    resp
}

type Refusal = (StatusCode, &'static str);

/// `Ok(None)`: go on; `Ok(Some(r))`: answer `r` (the token cookie being set); `Err`: refuse.
fn check_request(st: &State, req: &Request) -> Result<Option<Response>, Refusal> {
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if st.addr.ip().is_loopback() && !allowed_host(st.addr, host) {
        return Err((
            StatusCode::MISDIRECTED_REQUEST,
            "This server answers only requests for its own address.",
        ));
    }
    if let Some(token) = &st.token {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let given = bearer
            .map(str::to_string)
            .or_else(|| cookie(headers, TOKEN_COOKIE));
        if !given.is_some_and(|g| same_secret(&g, token)) {
            return token_from_query(req, token).map(Some);
        }
    }
    if req.method() == Method::POST && !same_origin(headers, host) {
        return Err((
            StatusCode::FORBIDDEN,
            "A change must come from this server's own pages.",
        ));
    }
    Ok(None)
}

/// A first visit with `?token=…`: the token is set as a cookie and the browser sent on to the
/// page without it in the address; anything else without the token is refused.
fn token_from_query(req: &Request, token: &str) -> Result<Response, Refusal> {
    let given = req
        .uri()
        .query()
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|kv| kv.strip_prefix("token="));
    if req.method() == Method::GET && given.is_some_and(|g| same_secret(g, token)) {
        let mut r = Redirect::to(req.uri().path()).into_response();
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
        )) {
            r.headers_mut().insert(header::SET_COOKIE, v);
        }
        return Ok(r);
    }
    Err((
        StatusCode::UNAUTHORIZED,
        "This server needs its access token: open the link you were given (…/?token=…).",
    ))
}

/// Whether a request's `Origin` (else `Referer`), when it sends one, is this server.
fn same_origin(headers: &HeaderMap, host: &str) -> bool {
    let own = format!("http://{host}");
    if let Some(o) = headers.get(header::ORIGIN) {
        return o.to_str().is_ok_and(|o| o == own);
    }
    if let Some(r) = headers.get(header::REFERER) {
        return r
            .to_str()
            .is_ok_and(|r| r == own || r.starts_with(&format!("{own}/")));
    }
    true
}

/// Whether a form (or the autosave's header) carries the server's secret.
fn csrf_ok(st: &State, headers: &HeaderMap, form: &[(String, String)]) -> bool {
    let header = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| same_secret(v, &st.csrf));
    header
        || form
            .iter()
            .any(|(k, v)| k == "csrf" && same_secret(v, &st.csrf))
}

fn csrf_refused() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "Refused",
        "The form is out of date or did not come from this server: reload the page and try again.",
    )
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
        .into_response()
}

/// Say who is reviewing (a cookie holding the name).
async fn set_reviewer(
    axum::extract::State(st): axum::extract::State<Shared>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if !csrf_ok(&st, &headers, &form) {
        return csrf_refused();
    }
    let name = form
        .iter()
        .find(|(k, _)| k == "reviewer")
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    if name.is_empty() || name.chars().count() > 64 || name.contains('/') {
        return message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Reviewer",
            "A reviewer's name has 1 to 64 characters, without a slash.",
        );
    }
    let back = headers
        .get(header::REFERER)
        .and_then(|r| r.to_str().ok())
        .and_then(|r| r.split_once("//").map(|x| x.1))
        .and_then(|r| r.find('/').map(|i| r[i..].to_string()))
        // a path of this server only (`//host/…` would leave it)
        .filter(|p| !p.starts_with("//"))
        .unwrap_or_else(|| "/queue".into());
    let mut r = Redirect::to(&back).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{REVIEWER_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000",
        hex::encode(name)
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// The verdicts and note of a review form; problems that stop a submit.
fn parse_save(
    st: &State,
    form: &[(String, String)],
) -> (Vec<Verdict>, Option<String>, Vec<String>) {
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let mut verdicts = Vec::new();
    let mut problems = Vec::new();
    for it in &st.data.checklist {
        let verdict =
            field(&format!("v:{}", it.item)).filter(|v| ["yes", "no", "na"].contains(&v.as_str()));
        let reason = field(&format!("r:{}", it.item)).map(|r| r.trim().to_string());
        let Some(verdict) = verdict else {
            problems.push(format!("{}: no verdict", it.item));
            continue;
        };
        verdicts.push(Verdict {
            item: it.item.clone(),
            verdict,
            reason,
        });
    }
    (verdicts, field("note"), problems)
}

/// Save a review: a draft (autosave or "save draft") or a submit. A submit that overrides a
/// flag without a reason, or leaves an item without a verdict, is kept as a draft and the page
/// shown again with what is missing.
async fn save_review(
    axum::extract::State(st): axum::extract::State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if !csrf_ok(&st, &headers, &form) {
        return csrf_refused();
    }
    let Some(call) = st.data.call(&id) else {
        return not_found().await;
    };
    let Some(who) = reviewer(&headers) else {
        return message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Reviewer",
            "Say who you are (top of the page) before saving a review.",
        );
    };
    let action = form
        .iter()
        .find(|(k, _)| k == "action")
        .map_or("draft", |(_, v)| v.as_str());
    let (verdicts, note, mut problems) = parse_save(&st, &form);
    let auto = |item: &str| call.flags.get(item).copied().flatten();
    for v in &verdicts {
        if super::book::overridden(auto(&v.item), &v.verdict)
            && v.reason.as_deref().is_none_or(str::is_empty)
        {
            problems.push(format!("{}: say why you override callsift's flag", v.item));
        }
    }
    let submit = action == "submit" && problems.is_empty();
    let save = Save {
        reviewer: who,
        interaction_id: call.id.clone(),
        submit,
        verdicts,
        note,
    };
    let saved = st
        .book
        .save(&save, &st.data.checklist, auto, &st.data.checklist_version);
    if let Err(e) = saved {
        return message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Not saved",
            &crate::error_chain(&e),
        );
    }
    match action {
        "autosave" => StatusCode::NO_CONTENT.into_response(),
        "submit" if !submit => pages::call_page(&st, &headers, call, problems),
        _ => {
            Redirect::to(&format!("/calls/{}", super::state::url_escape(&call.id))).into_response()
        }
    }
}

/// A call's audio (WAV), the whole file or the byte range asked.
async fn audio(
    axum::extract::State(st): axum::extract::State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if st.data.call(&id).is_none() {
        return not_found().await;
    }
    let st2 = st.clone();
    let wav = tokio::task::spawn_blocking(move || {
        let call = st2.data.call(&id).expect("looked up above");
        st2.player.wav(call)
    })
    .await;
    let wav = match wav {
        Ok(Ok(w)) => w,
        Ok(Err(e @ AudioError::NotFound(_))) => {
            return message(StatusCode::NOT_FOUND, "No audio", &e.to_string());
        }
        Ok(Err(e)) => return message(StatusCode::CONFLICT, "No audio", &e.to_string()),
        Err(e) => {
            return message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "No audio",
                &e.to_string(),
            );
        }
    };
    ranged(
        &wav,
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
    )
}

/// A body answered whole (200) or in the range asked (206; 416 when it cannot be).
fn ranged(body: &Arc<Vec<u8>>, range: Option<&str>) -> Response {
    let len = body.len() as u64;
    let mut map = Vec::new();
    map.push((header::CONTENT_TYPE, "audio/wav".to_string()));
    map.push((header::ACCEPT_RANGES, "bytes".to_string()));
    let (status, bytes) = match byte_range(range, len) {
        Ok(None) => (StatusCode::OK, body.to_vec()),
        Ok(Some((a, z))) => {
            map.push((header::CONTENT_RANGE, format!("bytes {a}-{z}/{len}")));
            (
                StatusCode::PARTIAL_CONTENT,
                body[a as usize..=z as usize].to_vec(),
            )
        }
        Err(_) => {
            map.push((header::CONTENT_RANGE, format!("bytes */{len}")));
            (StatusCode::RANGE_NOT_SATISFIABLE, Vec::new())
        }
    };
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = status;
    for (k, v) in map {
        if let Ok(v) = HeaderValue::from_str(&v) {
            r.headers_mut().insert(k, v);
        }
    }
    r
}
