//! The right-hand side: a tab per node, and a redis-cli look-alike connected to the selected
//! node (what every
//! client of that node sent and got back, the lesson's steps included, and a prompt that runs a
//! line on Enter), and under it that node's log in Redis's format. Both are read back from the
//! world's trace, so a rewind rewinds them too.

use super::Act;
use crate::lab::Lab;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// The terminal; `input` is its prompt's `<input>`.
pub fn view(lab: &Lab, act: &Act, input: &NodeRef) -> Html {
    let on_key = {
        let (act, input) = (act.clone(), input.clone());
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" {
                if let Some(input) = input.cast::<HtmlInputElement>() {
                    let line = input.value();
                    input.set_value("");
                    act.run(move |lab| lab.type_command(&line));
                }
            }
        })
    };
    let lines = lab.terminal_lines().into_iter().map(|line| html! { <div class="line">{ line }</div> });
    let tabs = lab.node_names().into_iter().map(|name| {
        let active = lab.selected.as_deref() == Some(name.as_str());
        let testid = format!("terminal-tab-{}", name);
        let select = {
            let name = name.clone();
            act.on_click(move |lab| lab.selected = Some(name.clone()))
        };
        html! { <button class={classes!("tab", active.then_some("active"))} data-testid={testid} onclick={select}>{ name }</button> }
    });
    html! {
        <div class="terminal" data-testid="terminal">
            <div class="tabs" data-testid="terminal-tabs">{ for tabs }</div>
            <div class="out" data-testid="terminal-output">{ for lines }</div>
            <div class="prompt"><span>{ lab.prompt() }</span><input ref={input.clone()} data-testid="terminal-input" onkeydown={on_key} /></div>
        </div>
    }
}

/// The selected node's log.
pub fn log(lab: &Lab) -> Html {
    let lines = lab.log_lines().into_iter().map(|line| html! { <div class="logline">{ line }</div> });
    html! { <div class="log" data-testid="log">{ for lines }</div> }
}
