//! The live mode: the page's WebSocket to `halab lab`'s bridge (`/ws`), and what it received.
//!
//! The bridge sends the same [`ViewModel`] the simulator's view produces — first whole, then as
//! [`ViewPatch`]es — so every region draws a live deployment with the code that draws a
//! simulated one. What differs is where actions go: a command typed in a terminal, a fault
//! from the palette, a lesson's next step become [`Request`]s, and their outcomes come back as
//! messages. Every view received is kept, so the timeline scrubs what was observed.

use halab_core::lab::bridge::{self, Deployment, Flavor, FromBridge, Message, Request, Template, ToBridge, ViewPatch};
use halab_core::lab::view::{EventView, ViewModel};
use std::collections::BTreeMap;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, WebSocket};

/// How many views the scrubber keeps, and how many events.
const HISTORY: usize = 3000;
const EVENTS: usize = 2000;

pub struct Live {
    socket: WebSocket,
    pub connected: bool,
    /// The bridge's lessons (file names) that can run live.
    pub lessons: Vec<String>,
    pub view: Option<ViewModel>,
    pub deployment: Deployment,
    pub events: Vec<EventView>,
    /// Each node's terminal, as redis-cli would have printed it.
    pub terminals: BTreeMap<String, Vec<String>>,
    /// The last error the bridge reported.
    pub error: Option<String>,
    /// Views received, oldest first, for the scrubber; `scrub` picks one (None: the latest).
    pub history: Vec<ViewModel>,
    pub scrub: Option<usize>,
    /// The programs the next started deployment runs.
    pub flavor: Flavor,
    next_id: u64,
}

/// Where the bridge is: this page's host, `/ws`, with the page's `?token=` if it has one.
fn bridge_url() -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" { "wss" } else { "ws" };
    let host = location.host().ok()?;
    let search = location.search().unwrap_or_default();
    let token = search.trim_start_matches('?').split('&').find_map(|kv| kv.strip_prefix("token="));
    Some(match token {
        Some(t) => format!("{}://{}/ws?token={}", scheme, host, t),
        None => format!("{}://{}/ws", scheme, host),
    })
}

impl Live {
    /// Open the socket; `on_frame` gets every text frame, `on_close` the socket's end.
    pub fn connect(on_frame: impl Fn(String) + 'static, on_close: impl Fn() + 'static) -> Result<Live, String> {
        let url = bridge_url().ok_or("no page location")?;
        let socket = WebSocket::new(&url).map_err(|e| format!("cannot open {}: {:?}", url, e))?;
        let message = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            if let Some(text) = e.dyn_ref::<MessageEvent>().and_then(|m| m.data().as_string()) {
                on_frame(text);
            }
        });
        socket.set_onmessage(Some(message.as_ref().unchecked_ref()));
        let close = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| on_close());
        socket.set_onclose(Some(close.as_ref().unchecked_ref()));
        // The callbacks live as long as the page: a frame's handler may end the live mode
        // (a replay opens the simulator), which must not free the closure running it.
        message.forget();
        close.forget();
        Ok(Live {
            socket,
            connected: false,
            lessons: Vec::new(),
            view: None,
            deployment: Deployment::default(),
            events: Vec::new(),
            terminals: BTreeMap::new(),
            error: None,
            history: Vec::new(),
            scrub: None,
            flavor: Flavor::Halab,
            next_id: 1,
        })
    }

    pub fn close(&self) {
        let _ = self.socket.close();
    }

    /// Send a request; its id.
    pub fn send(&mut self, request: Request) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let frame = serde_json::to_string(&ToBridge { v: bridge::VERSION, id, request }).expect("requests serialize");
        if self.socket.send_with_str(&frame).is_err() {
            self.error = Some("the bridge is not connected".into());
        }
        id
    }

    pub fn start(&mut self, template: Template) {
        let flavor = self.flavor;
        self.send(Request::Start { template, flavor });
    }

    /// A fault, in lesson step syntax (`kill master`, `cut replica1 master`).
    pub fn fault(&mut self, step: String) {
        self.send(Request::Fault { step });
    }

    /// The view to draw: the scrubbed one, or the latest.
    pub fn shown(&self) -> Option<&ViewModel> {
        match self.scrub {
            Some(i) => self.history.get(i),
            None => self.view.as_ref(),
        }
    }

    /// Scrub to the last view observed at or before `elapsed_ms` (the end: follow live again).
    pub fn scrub_to(&mut self, elapsed_ms: u64) {
        let last = self.history.len().saturating_sub(1);
        let i = self.history.iter().rposition(|v| v.elapsed_ms <= elapsed_ms).unwrap_or(0);
        self.scrub = (i < last).then_some(i);
    }

    /// A frame from the bridge. What the lab must act on (a step's result, a replay) is
    /// returned.
    pub fn receive(&mut self, text: &str) -> Option<Message> {
        let message = match serde_json::from_str::<FromBridge>(text) {
            Ok(m) => m.message,
            Err(e) => {
                self.error = Some(format!("the bridge sent a frame this page cannot read: {}", e));
                return None;
            }
        };
        match message {
            Message::Welcome { lessons, .. } => {
                self.connected = true;
                self.lessons = lessons;
            }
            Message::View { view, deployment } => {
                self.deployment = deployment;
                self.keep(view);
            }
            Message::Patch { patch } => {
                if let Some(mut view) = self.view.clone() {
                    ViewPatch::apply(patch, &mut view);
                    self.keep(view);
                }
            }
            Message::Event { event } => {
                self.events.push(event);
                if self.events.len() > EVENTS {
                    self.events.drain(..EVENTS / 2);
                }
            }
            Message::Reply { node, command, text, .. } => {
                let addr = self.addr_of(&node);
                let lines = self.terminals.entry(node).or_default();
                lines.push(format!("{}> {}", addr, command));
                lines.extend(text.lines().map(str::to_string));
            }
            Message::Error { message, .. } => self.error = Some(message),
            other => return Some(other),
        }
        None
    }

    fn keep(&mut self, view: ViewModel) {
        self.history.push(view.clone());
        if self.history.len() > HISTORY {
            self.history.drain(..HISTORY / 2);
            self.scrub = None;
        }
        self.view = Some(view);
    }

    pub fn addr_of(&self, node: &str) -> String {
        self.view
            .as_ref()
            .and_then(|v| v.nodes.iter().find(|n| n.name == node))
            .map(|n| n.addr.clone())
            .unwrap_or_else(|| node.to_string())
    }
}
