//! The timeline, at the bottom: rewind to the start, step back (undo the last action, kept as a
//! branch), play or pause, step one event; the speed and its [ ] buttons; the time; a scrubber
//! over everything reached so far; the branches, each a button that restores it; and the number
//! of events. The keyboard drives the same controls ([`shortcuts`]).

use super::Act;
use crate::lab::Lab;
use gloo_timers::callback::Interval;
use std::cell::RefCell;
use std::rc::Rc;
use web_sys::HtmlInputElement;
use yew::prelude::*;

pub fn view(lab: &Lab, act: &Act, play: &Callback<MouseEvent>) -> Html {
    let t = |zh, en| lab.lang.t(zh, en);
    let on_scrub = {
        let act = act.clone();
        Callback::from(move |e: Event| {
            let value = e
                .target()
                .and_then(|t| wasm_bindgen::JsCast::dyn_into::<HtmlInputElement>(t).ok())
                .and_then(|i| i.value().parse::<u64>().ok());
            if let Some(v) = value {
                act.run(move |lab| lab.scrub_to(v));
            }
        })
    };
    let branches = (0..lab.world.branches.len()).map(|i| {
        let restore = act.on_click(move |lab| lab.restore_branch(i));
        html! { <button class="branch" data-testid={format!("branch-{}", i)} onclick={restore}>{ format!("⑂{}", i + 1) }</button> }
    });
    html! {
        <footer class="timeline" data-testid="timeline">
            <button data-testid="rewind" onclick={act.on_click(Lab::rewind_start)}>{ "|◀" }</button>
            <button data-testid="step-back" onclick={act.on_click(Lab::step_back)}>{ "◀" }</button>
            <button data-testid="play" onclick={play.clone()}>{ if lab.playing { "⏸" } else { "▶" } }</button>
            <button data-testid="step" onclick={act.on_click(Lab::step)}>{ "▶|" }</button>
            <button data-testid="slower" onclick={act.on_click(slower)}>{ "[" }</button>
            <span data-testid="speed">{ format!("×{}", lab.speed as f64 / 100.0) }</span>
            <button data-testid="faster" onclick={act.on_click(faster)}>{ "]" }</button>
            <span data-testid="time">{ format!("t = {:.1}s", lab.elapsed() as f64 / 1000.0) }</span>
            <input type="range" data-testid="scrubber" min="0" max={lab.horizon().to_string()} value={lab.elapsed().to_string()} onchange={on_scrub} />
            <span data-testid="branches">{ format!("{} {}", lab.world.branches.len(), t("个分支", "branches")) }</span>
            { for branches }
            <span class="events">{ format!("{} {}", lab.live.as_ref().map_or(lab.world.trace().len(), |l| l.events.len()), t("个事件", "events")) }</span>
        </footer>
    }
}

/// Play and pause, for the ▶ button and the space bar: while playing, virtual time advances by
/// `speed` ms every 100 ms of wall time. Not an action: the URL is left as it is.
#[hook]
pub fn use_play(act: &Act) -> Callback<MouseEvent> {
    let timer: Rc<RefCell<Option<Interval>>> = use_mut_ref(|| None);
    let (lab, redraw) = (act.lab.clone(), act.redraw.clone());
    Callback::from(move |_: MouseEvent| {
        let mut slot = timer.borrow_mut();
        if slot.is_some() {
            *slot = None;
            lab.borrow_mut().playing = false;
        } else {
            lab.borrow_mut().playing = true;
            let lab = lab.clone();
            let redraw = redraw.clone();
            *slot = Some(Interval::new(100, move || {
                let speed = lab.borrow().speed;
                lab.borrow_mut().advance(speed);
                redraw.force_update();
            }));
        }
        drop(slot);
        redraw.force_update();
    })
}

/// The keyboard, outside the terminal's input: space plays or pauses, → steps, ← steps back,
/// [ and ] divide and multiply the speed by ten.
pub fn shortcuts(act: &Act, play: &Callback<MouseEvent>) -> Callback<KeyboardEvent> {
    let (act, play) = (act.clone(), play.clone());
    Callback::from(move |e: KeyboardEvent| {
        let in_input = e.target().and_then(|t| wasm_bindgen::JsCast::dyn_into::<HtmlInputElement>(t).ok()).is_some();
        if in_input {
            return;
        }
        match e.key().as_str() {
            " " => {
                e.prevent_default();
                if let Ok(click) = web_sys::MouseEvent::new("click") {
                    play.emit(click);
                }
            }
            "ArrowRight" => act.run(Lab::step),
            "ArrowLeft" => act.run(Lab::step_back),
            "]" => act.run(faster),
            "[" => act.run(slower),
            _ => {}
        }
    })
}

fn faster(lab: &mut Lab) {
    lab.speed = (lab.speed * 10).min(100_000);
}

fn slower(lab: &mut Lab) {
    lab.speed = (lab.speed / 10).max(10);
}
