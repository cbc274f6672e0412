//! HA Lab in the browser: the simulator (`halab_core::lab::sim`) running real nodes, drawn.
//!
//! One screen, four regions (see shared/design/UX.md): the lesson player on the left, the
//! topology in the centre with the fault palette, a redis-cli-like terminal and the node's log
//! on the right, and the timeline at the bottom. Each region is a module of `regions`; `App`
//! holds the lab and lays them out. Everything shown is derived from the world: terminals and
//! logs are read back from its trace, so stepping back (a rewind) restores them too. Stable
//! `data-testid` attributes let browser tests drive the page.

mod lab;
mod live;
mod regions;

use lab::Lab;
use regions::{details, failover, lesson, palette, terminal, timeline, top_bar, topology, Act};
use yew::prelude::*;

#[function_component(App)]
fn app() -> Html {
    let lab = use_mut_ref(Lab::from_location);
    let redraw = use_force_update();
    let terminal_input = use_node_ref();
    let act = Act::new(lab.clone(), redraw);
    let play = timeline::use_play(&act);

    let l = lab.borrow();
    // The world as the regions draw it, built once per redraw.
    let view = l.view();
    html! {
        <div class="lab" tabindex="0" onkeydown={timeline::shortcuts(&act, &play)}>
            { top_bar::view(&l, &act) }
            { lesson::view(&l, &act) }
            <main class="topology" data-testid="topology">
                { topology::view(&l, &view, &act) }
                { failover::view(&l, &view) }
                { details::view(&l, &view) }
                { palette::view(&l, &view, &act) }
            </main>
            <section class="side">
                { terminal::view(&l, &act, &terminal_input) }
                { terminal::log(&l) }
            </section>
            { timeline::view(&l, &act, &play) }
        </div>
    }
}

fn main() {
    yew::Renderer::<App>::new().render();
}
