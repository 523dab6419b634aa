//! Routing and connections: which handler answers which path, the envelope every API answer
//! passes through, and the accept loop that serves each connection with hyper.
//!
//! The accept loop is ours rather than `axum::serve` so that a handler can have a connection
//! closed with no answer at all (`--drop-rate`): a response marked with
//! [`DropConnection`](super::reply::DropConnection) becomes a service error, on which hyper
//! closes the connection without writing anything.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use super::reply::{DropConnection, set_header};
use super::state::Shared;
use super::{control, oauth, users};
use crate::zoom::wire::TRACKING_ID_HEADER;

/// The sandbox's routes.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let api = Router::new()
        .route("/users", post(users::create))
        .route("/users/{user_id}", get(users::lookup))
        .fallback(users::unknown_api)
        .layer(middleware::from_fn_with_state(shared.clone(), envelope));
    Router::new()
        .route("/oauth/token", post(oauth::token))
        .nest("/v2", api)
        .route("/_sandbox/stats", get(control::stats))
        .route("/_sandbox/clock", post(control::advance_clock))
        .with_state(shared)
}

/// Wraps every `/v2` request: draws its fault plan before the handler runs, then holds the
/// answer for the drawn latency and stamps it with a tracking id.
async fn envelope(State(shared): State<Arc<Shared>>, mut request: Request, next: Next) -> Response {
    let plan = shared.dice.roll();
    request.extensions_mut().insert(plan);
    let mut response = next.run(request).await;
    if response.extensions().get::<DropConnection>().is_some() {
        return response;
    }
    if !plan.latency.is_zero() {
        tokio::time::sleep(plan.latency).await;
    }
    set_header(&mut response, TRACKING_ID_HEADER, &shared.tracking_id());
    response
}

/// Accepts connections until `stop` fires, then aborts every connection still open, stalled
/// answers included.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    router: Router,
    mut stop: oneshot::Receiver<()>,
) {
    // Every open connection's task, so that stopping can abort them all. Finished ones are
    // reaped as the loop goes.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(stream, router.clone()));
                }
                Err(error) => {
                    // Usually a full file table; waiting lets connections close.
                    tracing::warn!(%error, "sandbox: accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    connections.shutdown().await;
}

/// Serves one connection with HTTP/1.1 until it closes or is dropped on purpose.
async fn serve_connection(stream: TcpStream, router: Router) {
    let _ = stream.set_nodelay(true);
    let service = ConnectionService { router };
    let served = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
    if let Err(error) = served {
        tracing::debug!(%error, "sandbox: connection ended");
    }
}

/// The error that makes hyper close a connection without answering.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped on purpose by --drop-rate")]
struct ConnectionDropped;

/// The router as hyper sees it, turning a [`DropConnection`] mark into a service error.
#[derive(Clone)]
struct ConnectionService {
    router: Router,
}

impl hyper::service::Service<hyper::Request<Incoming>> for ConnectionService {
    type Response = Response;
    type Error = ConnectionDropped;
    type Future = Pin<Box<dyn Future<Output = Result<Response, ConnectionDropped>> + Send>>;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        let mut router = self.router.clone();
        Box::pin(async move {
            let answered: Result<Response, Infallible> =
                tower_service::Service::call(&mut router, request).await;
            let Ok(response) = answered;
            if response.extensions().get::<DropConnection>().is_some() {
                Err(ConnectionDropped)
            } else {
                Ok(response)
            }
        })
    }
}
