//! The top bar: the lab's name, the mode badge (the simulator), the seed, the simulator's speed
//! when the page was opened with `#bench=1`, and the language switch.

use super::Act;
use crate::lab::{Lab, Lang};
use yew::prelude::*;

pub fn view(lab: &Lab, act: &Act) -> Html {
    let t = |zh, en| lab.lang.t(zh, en);
    let switch_lang = act.on_click(|lab| lab.lang = if lab.lang == Lang::Zh { Lang::En } else { Lang::Zh });
    html! {
        <header>
            <strong>{ "HA Lab" }</strong>
            <span class="badge" data-testid="mode">{ t("模拟", "Simulated") }</span>
            <span data-testid="seed">{ format!("seed {}", lab.seed) }</span>
            { for lab.bench_result.iter().map(|b| html! { <span data-testid="bench">{ format!("sim: {}", b) }</span> }) }
            <button data-testid="lang" onclick={switch_lang}>{ t("EN", "中文") }</button>
        </header>
    }
}
