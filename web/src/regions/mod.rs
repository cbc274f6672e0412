//! The screen's regions, each a function from the lab (read during a redraw) to its part of the
//! page, laid out by `main.rs` as shared/design/UX.md sketches the screen:
//!
//! ```text
//! ┌ top_bar ──────────────────────────────────────────────────────┐
//! │ lesson │ topology (the drawing)              │ terminal        │
//! │        │ failover (the sentinels' strip)     │ log             │
//! │        │ details (the selected node)         │                 │
//! │        │ palette (the faults)                │                 │
//! ├────────┴─────────────────────────────────────┴─────────────────┤
//! │ timeline (and the keyboard shortcuts)                          │
//! └────────────────────────────────────────────────────────────────┘
//! ```
//!
//! They are plain functions rather than components: the lab is one mutable model, redrawn
//! whole after every change, and a component would need props that compare unequal on every
//! redraw to follow it. A region changes the lab only through [`Act`].

pub mod details;
pub mod failover;
pub mod lesson;
pub mod palette;
pub mod terminal;
pub mod timeline;
pub mod top_bar;
pub mod topology;

use crate::lab::Lab;
use std::cell::RefCell;
use std::rc::Rc;
use yew::prelude::*;

/// How a region changes the lab: the shared lab, and the redraw that follows a change.
#[derive(Clone)]
pub struct Act {
    lab: Rc<RefCell<Lab>>,
    redraw: UseForceUpdateHandle,
}

impl Act {
    pub fn new(lab: Rc<RefCell<Lab>>, redraw: UseForceUpdateHandle) -> Act {
        Act { lab, redraw }
    }

    /// Change the lab, write the scenario into the URL (so that a link reproduces it), redraw.
    pub fn run(&self, f: impl FnOnce(&mut Lab)) {
        f(&mut self.lab.borrow_mut());
        self.lab.borrow().save_location();
        self.redraw.force_update();
    }

    /// Go live: open the socket to the bridge; every frame it sends changes the lab and
    /// redraws.
    pub fn go_live(&self) {
        let (lab, redraw) = (self.lab.clone(), self.redraw.clone());
        let on_frame = move |text: String| {
            lab.borrow_mut().receive(&text);
            redraw.force_update();
        };
        let (lab, redraw) = (self.lab.clone(), self.redraw.clone());
        let on_close = move || {
            if let Some(live) = &mut lab.borrow_mut().live {
                live.connected = false;
                live.error = Some("the bridge closed the connection (is `halab lab` running?)".into());
            }
            redraw.force_update();
        };
        match crate::live::Live::connect(on_frame, on_close) {
            Ok(live) => self.run(|lab| lab.go_live(live)),
            Err(e) => web_sys::console::error_1(&e.into()),
        }
    }

    /// A click that changes the lab with `f`.
    pub fn on_click(&self, f: impl Fn(&mut Lab) + 'static) -> Callback<MouseEvent> {
        let act = self.clone();
        Callback::from(move |_: MouseEvent| act.run(&f))
    }
}
