//! `halab lab [--port N] [--dist DIR]`: serve the built web app on 127.0.0.1.
//!
//! The app is static files (Trunk's `dist/`): the simulator runs in the browser. The live
//! bridge — a WebSocket that attaches the same views to local `halab server` processes — will be
//! added here by a later issue.

use axum::Router;
use std::net::{Ipv4Addr, SocketAddr};
use tower_http::services::ServeDir;

pub fn run(port: u16, dist: &str) -> i32 {
    let index = std::path::Path::new(dist).join("index.html");
    if !index.exists() {
        eprintln!(
            "{} not found: build the web app first (scripts/lab does, or `trunk build` at the repository root)",
            index.display()
        );
        return 1;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the event loop: {}", e);
            return 1;
        }
    };
    runtime.block_on(async move {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("cannot listen on {}: {}", addr, e);
                return 1;
            }
        };
        println!("HA Lab: open http://{}/ (Ctrl-C to stop)", addr);
        let app = Router::new().fallback_service(ServeDir::new(dist));
        match axum::serve(listener, app).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("lab server stopped: {}", e);
                1
            }
        }
    })
}
