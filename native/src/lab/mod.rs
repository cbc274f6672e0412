//! `halab lab`: the web app, and the live bridge on `/ws`.
//!
//! The app is static files (Trunk's `dist/`): the simulator runs in the browser. The bridge
//! attaches the same screen to real processes: a browser's WebSocket on `/ws` speaks
//! [`halab_core::lab::bridge`]'s JSON messages; every socket's requests go to one worker
//! ([`session::Session`]) that owns the deployment — processes it supervises, or one it
//! attached to — and whose views, patches and events go out to every socket.
//!
//! Security, since the lab starts processes and connects to addresses on request:
//! * it listens on 127.0.0.1 unless `--bind` says otherwise; anywhere else it needs a token
//!   (`--token`, or one generated and printed), which `/ws` checks (`?token=`);
//! * a WebSocket whose `Origin` is not this lab's own page is refused (a page elsewhere cannot
//!   drive it through the learner's browser);
//! * it connects only to addresses `--allow-attach` admits (loopback by default), checked
//!   before any connection ([`allow::Allow`]);
//! * it runs no program but halab and the configured redis-server/redis-sentinel, with config
//!   files it writes itself; lessons come from its own `--lessons` directory, by file name;
//! * a malformed, unknown or oversized frame is answered with an error and the socket stays up.

mod allow;
mod attach;
mod session;

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use halab_core::lab::bridge::{self, Message, Request, ToBridge};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;
use tower_http::services::ServeDir;

/// `halab lab`'s options.
#[derive(clap::Args)]
pub struct Options {
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// The built app (Trunk's output).
    #[arg(long, default_value = "dist")]
    pub dist: String,
    /// Where the lab listens; anywhere but loopback needs a token.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// The token /ws asks for (generated and printed when --bind is not loopback).
    #[arg(long)]
    pub token: Option<String>,
    /// Addresses the bridge may connect to (CIDR or address; default loopback only).
    #[arg(long = "allow-attach", num_args = 1..)]
    pub allow_attach: Vec<String>,
    /// Attach to this deployment at start (host:port of a master, replica or sentinel).
    #[arg(long)]
    pub attach: Vec<String>,
    /// The password of the deployment given by --attach.
    #[arg(long)]
    pub password: Option<String>,
    /// Where lessons are read from.
    #[arg(long, default_value = "lessons")]
    pub lessons: PathBuf,
    /// Redis's binaries, for deployments of redis-server nodes.
    #[arg(long, default_value = "redis-server")]
    pub redis_server: PathBuf,
    #[arg(long, default_value = "redis-sentinel")]
    pub redis_sentinel: PathBuf,
}

#[derive(Clone)]
struct Lab {
    token: Option<String>,
    worker: Arc<Mutex<mpsc::Sender<session::Input>>>,
    out: broadcast::Sender<String>,
    lessons: Arc<Vec<String>>,
}

pub fn run(opts: Options) -> i32 {
    let index = std::path::Path::new(&opts.dist).join("index.html");
    if !index.exists() {
        eprintln!(
            "{} not found: the page is not built (scripts/lab builds it, or `trunk build` at the repository root); the bridge on /ws still runs",
            index.display()
        );
    }
    let allow = match (opts.allow_attach.is_empty(), allow::Allow::parse(&opts.allow_attach)) {
        (true, _) => allow::Allow::loopback(),
        (false, Ok(a)) => a,
        (false, Err(e)) => {
            eprintln!("{}", e);
            return 2;
        }
    };
    let token = match (&opts.token, opts.bind.is_loopback()) {
        (Some(t), _) => Some(t.clone()),
        (None, true) => None,
        (None, false) => Some(random_token()),
    };
    let mut lessons: Vec<String> = std::fs::read_dir(&opts.lessons)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".md") && n != "README.md")
                .collect()
        })
        .unwrap_or_default();
    lessons.sort();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the event loop: {}", e);
            return 1;
        }
    };
    runtime.block_on(async move {
        let addr = SocketAddr::new(opts.bind, opts.port);
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("cannot listen on {}: {}", addr, e);
                return 1;
            }
        };
        let (out, _) = broadcast::channel(4096);
        let settings = session::Settings {
            allow,
            lessons: opts.lessons.clone(),
            redis_server: opts.redis_server.clone(),
            redis_sentinel: opts.redis_sentinel.clone(),
        };
        let (worker, worker_thread) = session::Session::spawn(settings, out.clone());
        for a in &opts.attach {
            let request = Request::Attach { addr: a.clone(), password: opts.password.clone() };
            let _ = worker.send(session::Input::Request(ToBridge { v: bridge::VERSION, id: 0, request }));
        }
        let shown = match &token {
            Some(t) => format!("http://{}/?token={}", addr, t),
            None => format!("http://{}/", addr),
        };
        println!("HA Lab: open {} (Ctrl-C to stop)", shown);
        let stopper = worker.clone();
        let lab = Lab { token, worker: Arc::new(Mutex::new(worker)), out, lessons: Arc::new(lessons) };
        let app = Router::new().route("/ws", get(ws)).with_state(lab).fallback_service(ServeDir::new(&opts.dist));
        let serve = axum::serve(listener, app);
        let result = tokio::select! {
            r = serve => r.map_err(|e| e.to_string()),
            _ = tokio::signal::ctrl_c() => Ok(()),
            _ = terminated() => Ok(()),
        };
        // Stop the processes the lab started (and remove their directories) before leaving.
        let _ = stopper.send(session::Input::Shutdown);
        let _ = worker_thread.join();
        match result {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("lab server stopped: {}", e);
                1
            }
        }
    })
}

/// SIGTERM, as systemd and `kill` stop a service.
async fn terminated() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}

/// 128 random bits, hex.
fn random_token() -> String {
    let mut bytes = [0u8; 16];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut bytes);
    }
    bytes.iter().map(|b| format!("{:02x}", b)).collect()
}

/// The upgrade to a WebSocket, if the token and the Origin allow it.
async fn ws(
    State(lab): State<Lab>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Some(token) = &lab.token {
        if query.get("token") != Some(token) {
            return (StatusCode::UNAUTHORIZED, "this lab needs its token: /ws?token=…").into_response();
        }
    }
    // A browser always says where the page came from: only the lab's own page may connect.
    if let Some(origin) = headers.get("origin").and_then(|o| o.to_str().ok()) {
        let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("");
        let own = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) == Some(host);
        if !own {
            return (StatusCode::FORBIDDEN, format!("a page from {} may not drive this lab", origin)).into_response();
        }
    }
    upgrade.max_message_size(1 << 20).on_upgrade(move |socket| serve_socket(socket, lab))
}

async fn serve_socket(mut socket: WebSocket, lab: Lab) {
    let mut out = lab.out.subscribe();
    let welcome = bridge::write(Message::Welcome { version: bridge::VERSION, lessons: lab.lessons.to_vec() });
    if socket.send(WsMessage::Text(welcome)).await.is_err() {
        return;
    }
    let to_worker = |request: ToBridge| {
        let _ = lab.worker.lock().expect("the worker's sender").send(session::Input::Request(request));
    };
    to_worker(ToBridge { v: bridge::VERSION, id: 0, request: Request::Hello });
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let Some(Ok(message)) = incoming else { break };
                let answer = match message {
                    WsMessage::Text(text) => match bridge::read_request(&text) {
                        Ok(request) => {
                            to_worker(request);
                            None
                        }
                        Err((id, message)) => Some(Message::Error { id, message }),
                    },
                    WsMessage::Binary(_) => Some(Message::Error { id: 0, message: "binary frames are not requests: send JSON text".into() }),
                    WsMessage::Close(_) => break,
                    _ => None,
                };
                if let Some(answer) = answer {
                    if socket.send(WsMessage::Text(bridge::write(answer))).await.is_err() {
                        break;
                    }
                }
            }
            frame = out.recv() => match frame {
                Ok(text) => {
                    if socket.send(WsMessage::Text(text)).await.is_err() {
                        break;
                    }
                }
                // Too slow to follow: start again from a whole view.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    to_worker(ToBridge { v: bridge::VERSION, id: 0, request: Request::Hello })
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    }
}
