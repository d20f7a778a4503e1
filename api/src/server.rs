//! Binding and serving, with graceful shutdown on SIGINT and SIGTERM: in-flight requests
//! finish, new connections are refused, WebSocket connections are closed with 1001.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::http::app;
use crate::state::AppState;

/// Serves `state` on `listener` until a shutdown signal arrives.
pub async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    serve_until(listener, state, shutdown_signal()).await
}

/// Serves `state` on `listener` until `shutdown` completes; in-flight requests finish. Each
/// request knows its client's address (`ConnectInfo`), which the rate limit keys anonymous
/// callers by.
///
/// This is axum's `serve` with what it leaves out: a timeout for reading a request's headers
/// (`IUC_READ_TIMEOUT`; a client that sends a header a byte at a time, or opens a connection
/// and sends nothing, is cut off), and a bound on open connections (`IUC_MAX_CONNECTIONS`;
/// beyond it new connections wait in the kernel's backlog instead of each taking memory).
/// Request bodies have their own read timeout, in the GraphQL handler.
pub async fn serve_until(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let read_timeout = state.settings.read_timeout;
    let connections = Arc::new(Semaphore::new(state.settings.max_connections.max(1)));
    let router = app(state.clone());
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small GraphQL answers go out at once instead of waiting for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        let service = connection_service(router.clone(), remote);
        let mut builder = Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(read_timeout);
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
        let connection = graceful.watch(connection.into_owned());
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(error = %error, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("finishing {} open connection(s)", graceful.count());
    graceful.shutdown().await;
    close_websockets(&state).await;
    Ok(())
}

/// Closes the open WebSocket connections (1001, "going away": graphql-ws clients reconnect,
/// to another instance), and waits for them within their close timeout.
async fn close_websockets(state: &AppState) {
    state.shutting_down.send_replace(true);
    let all = state.settings.websocket.max_connections;
    let open = all - state.websockets.available_permits();
    if open == 0 {
        return;
    }
    tracing::info!("closing {open} WebSocket connection(s)");
    let wait = state.settings.websocket.close_timeout + Duration::from_secs(1);
    let closed = state
        .websockets
        .acquire_many(u32::try_from(all).unwrap_or(u32::MAX));
    if tokio::time::timeout(wait, closed).await.is_err() {
        tracing::warn!("WebSocket connections still open at shutdown were dropped");
    }
}

/// The router as one connection's hyper service, with the client's address in every request.
fn connection_service(
    router: axum::Router,
    remote: SocketAddr,
) -> TowerToHyperService<
    impl tower::Service<
        axum::http::Request<Incoming>,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
        Future = impl Send,
    > + Clone,
> {
    let service =
        tower::ServiceExt::map_request(router, move |request: axum::http::Request<Incoming>| {
            let mut request = request.map(axum::body::Body::new);
            request.extensions_mut().insert(ConnectInfo(remote));
            request
        });
    TowerToHyperService::new(service)
}

/// Binds `addr`, with a message that says what to do when the port is taken.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot listen on {addr}: {e} (set IUC_ADDR or --addr to another address)"),
        )
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received: finishing in-flight requests");
}
