//! The HTTP side: the page and its script (embedded in the binary), the state as JSON and
//! as a stream of server-sent events, served by axum on the live view's tokio runtime.

use axum::extract::State;
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use futures_util::stream::Stream;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::watch;

const INDEX_HTML: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const STYLE_CSS: &str = include_str!("../assets/style.css");

/// The latest state, and whether it is the final one.
pub type Published = watch::Receiver<(Arc<str>, bool)>;

/// What the handlers share.
#[derive(Clone)]
pub struct Shared {
    /// The sampler's latest state.
    pub state: Published,
    /// Event streams open now.
    pub clients: Arc<AtomicUsize>,
    /// Event streams that have been sent the final state.
    pub got_final: Arc<AtomicUsize>,
}

/// The live view's routes: `/` the page, `/app.js`, `/style.css`, `/state` (the state as
/// JSON) and `/events` (server-sent events, one per new state).
pub fn router(shared: Shared) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE_CSS) }),
        )
        .route("/state", get(state))
        .route("/events", get(events))
        .with_state(shared)
}

fn asset(kind: &'static str, body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, kind)], body)
}

async fn state(State(shared): State<Shared>) -> impl IntoResponse {
    let body = shared.state.borrow().0.to_string();
    ([(header::CONTENT_TYPE, "application/json")], body)
}

/// Counts an open event stream for as long as it lives.
struct Client(Arc<AtomicUsize>);

impl Drop for Client {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn events(
    State(shared): State<Shared>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    shared.clients.fetch_add(1, Ordering::SeqCst);
    let client = Client(shared.clients.clone());
    let mut rx = shared.state.clone();
    // The current state first, then each new one.
    rx.mark_changed();
    let got_final = shared.got_final.clone();
    let stream =
        futures_util::stream::unfold((rx, client, false), move |(mut rx, client, sent_final)| {
            let got_final = got_final.clone();
            async move {
                if sent_final || rx.changed().await.is_err() {
                    return None;
                }
                let (body, last) = rx.borrow_and_update().clone();
                if last {
                    got_final.fetch_add(1, Ordering::SeqCst);
                }
                Some((Ok(Event::default().data(&*body)), (rx, client, last)))
            }
        });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
