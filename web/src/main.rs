//! HA Lab in the browser: the simulator (`halab_core::lab::sim`) running real nodes, drawn.
//!
//! One screen, four regions (see shared/design/UX.md): the lesson player on the left, the
//! topology in the centre with the fault palette, a redis-cli-like terminal and the node's log
//! on the right, and the timeline at the bottom. Everything shown is derived from the world:
//! terminals and logs are read back from its trace, so stepping back (a rewind) restores them
//! too. Stable `data-testid` attributes let browser tests drive the page.

mod lab;
mod topology;

use lab::{Lab, Lang};
use std::cell::RefCell;
use std::rc::Rc;
use web_sys::HtmlInputElement;
use yew::prelude::*;

#[function_component(App)]
fn app() -> Html {
    let lab = use_mut_ref(Lab::from_location);
    let redraw = use_force_update();
    let input_ref = use_node_ref();
    let timer: Rc<RefCell<Option<gloo_timers::callback::Interval>>> = use_mut_ref(|| None);

    let act = {
        let lab = lab.clone();
        let redraw = redraw.clone();
        move |f: Box<dyn Fn(&mut Lab)>| {
            f(&mut lab.borrow_mut());
            lab.borrow().save_location();
            redraw.force_update();
        }
    };
    let on = |f: fn(&mut Lab)| {
        let act = act.clone();
        Callback::from(move |_: MouseEvent| act(Box::new(f)))
    };

    let l = lab.borrow();
    let t = |zh: &'static str, en: &'static str| if l.lang == Lang::Zh { zh } else { en };

    // Play: advance virtual time continuously.
    let toggle_play = {
        let lab = lab.clone();
        let redraw = redraw.clone();
        let timer = timer.clone();
        Callback::from(move |_: MouseEvent| {
            let mut slot = timer.borrow_mut();
            if slot.is_some() {
                *slot = None;
                lab.borrow_mut().playing = false;
            } else {
                lab.borrow_mut().playing = true;
                let lab = lab.clone();
                let redraw = redraw.clone();
                *slot = Some(gloo_timers::callback::Interval::new(100, move || {
                    let speed = lab.borrow().speed;
                    lab.borrow_mut().advance(speed);
                    redraw.force_update();
                }));
            }
            drop(slot);
            redraw.force_update();
        })
    };

    let on_key = {
        let act = act.clone();
        let input_ref = input_ref.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" {
                if let Some(input) = input_ref.cast::<HtmlInputElement>() {
                    let line = input.value();
                    input.set_value("");
                    act(Box::new(move |lab: &mut Lab| lab.type_command(&line)));
                }
            }
        })
    };

    let view = l.view();
    let layout = topology::Layout::new(view.nodes.len());
    let node_index = |name: &str| view.nodes.iter().position(|n| n.name == name);
    let select = |name: &str| {
        let act = act.clone();
        let name = name.to_string();
        Callback::from(move |_: MouseEvent| {
            let name = name.clone();
            act(Box::new(move |lab: &mut Lab| lab.selected = Some(name.clone())))
        })
    };
    let node_cards = view.nodes.iter().enumerate().map(|(i, n)| {
        let (x, y) = layout.centres[i];
        let selected = l.selected.as_deref() == Some(n.name.as_str());
        let keys: u64 = n.keys.iter().map(|(_, k)| k).sum();
        let class = classes!("node", (!n.up).then_some("down"), selected.then_some("selected"));
        html! {
            <g class={class} data-testid={format!("node-{}", n.name)} onclick={select(&n.name)} transform={format!("translate({},{})", x, y)}>
                <rect x="-80" y="-42" width="160" height="84" rx="10" />
                <text class="name" y="-20">{ &n.name }</text>
                <text class="addr" y="-4">{ &n.addr }</text>
                if n.up {
                    <text class="role" y="14" data-testid={format!("node-role-{}", n.name)}>
                        <tspan class={classes!("badge", n.role.clone())}>{ &n.role }</tspan>
                        <tspan class="offset" data-testid={format!("node-offset-{}", n.name)}>{ format!(" · {} {}", t("偏移量", "offset"), n.master_repl_offset) }</tspan>
                    </text>
                } else {
                    <text class="role" y="14">{ t("已停止", "DOWN") }</text>
                }
                <text class="meta" y="30">{ if n.up { format!("run {} · {} keys", &n.run_id[..8.min(n.run_id.len())], keys) } else { String::new() } }</text>
            </g>
        }
    });
    let client_links: Vec<&halab_core::lab::view::LinkView> = view.links.iter().filter(|k| k.kind == "client").collect();
    let link_lines = client_links.iter().enumerate().map(|(k, link)| {
        let Some(to) = node_index(&link.to) else { return html! {} };
        let (x, y) = layout.centres[to];
        // Clients of one node fan out under it.
        let siblings: Vec<usize> =
            client_links.iter().enumerate().filter(|(_, o)| o.to == link.to).map(|(i, _)| i).collect();
        let slot = siblings.iter().position(|&i| i == k).unwrap_or(0) as f64;
        let spacing = layout.client_spacing(siblings.len());
        let (cx, cy) = (x + (slot - (siblings.len() as f64 - 1.0) / 2.0) * spacing, y + 120.0);
        // Messages on this link, drawn where they are between sender and receiver.
        let (nx, ny) = (x, y + 42.0);
        let dots = view
            .messages
            .iter()
            .filter(|m| (m.from == link.from && m.to == link.to) || (m.from == link.to && m.to == link.from))
            .map(|m| {
                let p = m.progress.clamp(0.0, 1.0);
                let (px, py) = if m.from == link.from {
                    (cx + (nx - cx) * p, cy + (ny - cy) * p)
                } else {
                    (nx + (cx - nx) * p, ny + (cy - ny) * p)
                };
                html! { <circle class="message" data-testid="message" cx={px.to_string()} cy={py.to_string()} r="5" /> }
            });
        html! {
            <g class={classes!("link", link.state.clone())} data-testid={format!("link-{}", link.from)}>
                <line x1={cx.to_string()} y1={cy.to_string()} x2={nx.to_string()} y2={ny.to_string()} />
                <circle cx={cx.to_string()} cy={cy.to_string()} r="14" />
                <text x={cx.to_string()} y={(cy + 32.0).to_string()}>{ &link.from }</text>
                { for dots }
            </g>
        }
    });
    let repl_links: Vec<&halab_core::lab::view::LinkView> = view.links.iter().filter(|k| k.kind == "replication").collect();
    // Longer links first, so that a shorter one nested under it shows its label on top.
    let mut repl_order = repl_links.clone();
    let span = |k: &halab_core::lab::view::LinkView| match (node_index(&k.from), node_index(&k.to)) {
        (Some(a), Some(b)) => layout.span(a, b),
        _ => 0.0,
    };
    repl_order.sort_by(|a, b| span(b).total_cmp(&span(a)));
    // Replication links: an arrow from each replica to its master, styled by the link's state,
    // labelled with the replica's offset and lag; the master <-> replica traffic travels on it.
    let repl_lines = repl_order.iter().map(|link| {
        let Some(r) = node_index(&link.from) else { return html! {} };
        let master = node_index(&link.to);
        let curve = match master {
            Some(m) => topology::replication_curve(layout.centres[r], layout.centres[m]),
            None => topology::dangling_curve(layout.centres[r]),
        };
        let dots = view
            .messages
            .iter()
            .filter(|m| (m.from == link.from && m.to == link.to) || (m.from == link.to && m.to == link.from))
            .map(|m| {
                let p = m.progress.clamp(0.0, 1.0);
                let (px, py) = curve.at(if m.from == link.from { p } else { 1.0 - p });
                html! { <circle class="message" data-testid="message" cx={format!("{:.1}", px)} cy={format!("{:.1}", py)} r="5" /> }
            });
        let mut label = repl_summary(link, l.lang);
        if master.is_none() {
            label = format!("→ {} · {}", link.to, label);
        }
        let d = curve.d();
        html! {
            <g class={classes!("repl", link.state.clone())} data-testid={format!("repl-link-{}", link.from)} onclick={select(&link.from)}>
                <title>{ format!("{} → {}: {}\n{}", link.from, link.to, label, repl_note(link, l.lang)) }</title>
                <path class="hit" d={d.clone()} />
                <path class="wire" d={d} />
                <polygon class="arrow" points={curve.arrowhead()} />
                <text class="repl-label" data-testid={format!("repl-offset-{}", link.from)} x={format!("{:.1}", curve.label.0)} y={format!("{:.1}", curve.label.1)}>{ label }</text>
                { for dots }
            </g>
        }
    });
    // The selected node, in words: what INFO would say, and how its replication links last synced.
    let details = l.selected.as_deref().and_then(|s| view.nodes.iter().find(|n| n.name == s)).map(|n| {
        let keys: Vec<String> = n.keys.iter().map(|(db, k)| format!("db{}={}", db, k)).collect();
        let line = |link: &halab_core::lab::view::LinkView| {
            html! {
                <li data-testid={format!("repl-detail-{}", link.from)}>
                    <span class={classes!("state", link.state.clone())}>{ format!("{} → {}", link.from, link.to) }</span>
                    { format!(" · {}", repl_summary(link, l.lang)) }
                    <div class="note" data-testid={format!("repl-note-{}", link.from)}>{ repl_note(link, l.lang) }</div>
                </li>
            }
        };
        let upstream = repl_links.iter().filter(|k| k.from == n.name).map(|k| line(k));
        let downstream = repl_links.iter().filter(|k| k.to == n.name).map(|k| line(k));
        html! {
            <div class="details" data-testid="node-details">
                <div>
                    <strong>{ &n.name }</strong>{ format!(" {} · ", n.addr) }
                    if n.up {
                        { format!("{} · master_repl_offset {} · {} {} · {} {}", n.role, n.master_repl_offset,
                            t("键", "keys"), if keys.is_empty() { "0".to_string() } else { keys.join(" ") },
                            t("客户端", "clients"), n.connected_clients) }
                    } else {
                        { t("已停止", "down") }
                    }
                </div>
                if n.up && !n.master_replid.is_empty() {
                    <div class="ids">{ format!("run_id {} · master_replid {}", n.run_id, n.master_replid) }</div>
                }
                <ul>{ for upstream }{ for downstream }</ul>
            </div>
        }
    });
    let palette = view.nodes.iter().map(|n| {
        let name = n.name.clone();
        let kill = {
            let act = act.clone();
            let name = name.clone();
            Callback::from(move |_: MouseEvent| {
                let name = name.clone();
                act(Box::new(move |lab: &mut Lab| lab.kill(&name)))
            })
        };
        let restart = {
            let act = act.clone();
            let name = name.clone();
            Callback::from(move |_: MouseEvent| {
                let name = name.clone();
                act(Box::new(move |lab: &mut Lab| lab.restart(&name)))
            })
        };
        html! {
            <span class="fault">
                <button data-testid={format!("kill-{}", n.name)} onclick={kill} disabled={!n.up}>{ format!("{} {}", t("停止", "kill"), n.name) }</button>
                <button data-testid={format!("restart-{}", n.name)} onclick={restart} disabled={n.up}>{ format!("{} {}", t("重启", "restart"), n.name) }</button>
            </span>
        }
    });

    let link_palette = client_links.iter().map(|link| {
        let client = link.from.trim_start_matches("client:").to_string();
        let node = link.to.clone();
        let cut = link.state == "cut";
        let toggle = {
            let act = act.clone();
            let (client, node) = (client.clone(), node.clone());
            Callback::from(move |_: MouseEvent| {
                let (client, node) = (client.clone(), node.clone());
                act(Box::new(move |lab: &mut Lab| lab.set_link(&client, &node, !cut)))
            })
        };
        let delay = {
            let act = act.clone();
            let slow = link.extra_latency_ms == 0;
            Callback::from(move |_: MouseEvent| {
                let (client, node) = (client.clone(), node.clone());
                act(Box::new(move |lab: &mut Lab| lab.delay_link(&client, &node, if slow { 200 } else { 0 })))
            })
        };
        html! {
            <span class="fault">
                <button data-testid={format!("cut-{}", link.from)} onclick={toggle}>{ format!("{} {}", if cut { t("恢复", "heal") } else { t("断开", "cut") }, link.from) }</button>
                <button data-testid={format!("delay-{}", link.from)} onclick={delay}>{ if link.extra_latency_ms == 0 { t("延迟 200ms", "delay 200ms") } else { t("取消延迟", "no delay") } }</button>
            </span>
        }
    });

    // Cut or heal the connection between a replica and its master (both ways).
    let repl_palette = repl_links.iter().filter(|k| node_index(&k.to).is_some()).map(|link| {
        let (replica, master) = (link.from.clone(), link.to.clone());
        let cut = link.state == "cut";
        let toggle = {
            let act = act.clone();
            let (replica, master) = (replica.clone(), master.clone());
            Callback::from(move |_: MouseEvent| {
                let (replica, master) = (replica.clone(), master.clone());
                act(Box::new(move |lab: &mut Lab| lab.set_repl_link(&replica, &master, !cut)))
            })
        };
        html! {
            <span class="fault">
                <button data-testid={format!("cut-repl-{}", replica)} onclick={toggle}>{ format!("{} {}↔{}", if cut { t("恢复", "heal") } else { t("断开", "cut") }, replica, master) }</button>
            </span>
        }
    });

    let terminal_lines = l.terminal_lines().into_iter().map(|line| html! { <div class="line">{ line }</div> });
    let log_lines = l.log_lines().into_iter().map(|line| html! { <div class="logline">{ line }</div> });

    let lesson_panel = {
        let lessons = lab::LESSONS.iter().enumerate().map(|(i, (file, _))| {
            let choose = {
                let act = act.clone();
                Callback::from(move |_: MouseEvent| act(Box::new(move |lab: &mut Lab| lab.load_lesson(i))))
            };
            html! { <button class={classes!("lesson-choice", (l.lesson_index == Some(i)).then_some("active"))} data-testid={format!("lesson-{}", i)} onclick={choose}>{ lab::lesson_title(file) }</button> }
        });
        let body = match l.lesson() {
            None => {
                html! { <p class="hint">{ t("选择一个课程，或在右侧终端直接输入命令。", "Pick a lesson, or type commands in the terminal on the right.") }</p> }
            }
            Some(lesson) => {
                let steps = lesson.steps.iter().enumerate().map(|(i, s)| {
                    let result = l.results.get(i);
                    let mark = match result {
                        Some(r) if r.ok => "✓",
                        Some(_) => "✗",
                        None if i == l.results.len() => "▶",
                        None => "·",
                    };
                    let seen = match result {
                        Some(r) if !r.ok => html! { <div class="seen">{ format!("{} {}", t("看到：", "saw:"), r.seen) }</div> },
                        _ => html! {},
                    };
                    let reset = {
                        let act = act.clone();
                        Callback::from(move |_: MouseEvent| act(Box::new(move |lab: &mut Lab| lab.reset_to_step(i + 1))))
                    };
                    html! {
                        <li data-testid={format!("lesson-step-{}", i + 1)} class={classes!(result.map(|r| if r.ok { "ok" } else { "fail" }))}>
                            <span class="mark">{ mark }</span>{ &s.text }
                            <button class="reset" title={t("回到这一步", "reset to this step")} data-testid={format!("lesson-reset-{}", i + 1)} onclick={reset}>{ "↺" }</button>
                            { seen }
                        </li>
                    }
                });
                html! {
                    <>
                        <h2>{ &lesson.title }</h2>
                        <div class="narrative" data-testid="lesson-narrative">{ for paragraphs(if l.lang == Lang::Zh { &lesson.narrative_zh } else { &lesson.narrative_en }, l.lang) }</div>
                        <ol class="steps">{ for steps }</ol>
                        <button data-testid="lesson-next" onclick={on(|lab| lab.run_next_step())} disabled={l.results.len() >= lesson.steps.len()}>{ t("执行下一步", "Do the next step") }</button>
                    </>
                }
            }
        };
        html! { <aside class="lesson" data-testid="lesson-panel"><div class="choices">{ for lessons }</div>{ body }</aside> }
    };

    let on_shortcut = {
        let act = act.clone();
        let toggle_play = toggle_play.clone();
        Callback::from(move |e: KeyboardEvent| {
            // Shortcuts apply outside the terminal's input.
            let in_input =
                e.target().and_then(|t| wasm_bindgen::JsCast::dyn_into::<HtmlInputElement>(t).ok()).is_some();
            if in_input {
                return;
            }
            match e.key().as_str() {
                " " => {
                    e.prevent_default();
                    if let Ok(click) = web_sys::MouseEvent::new("click") {
                        toggle_play.emit(click);
                    }
                }
                "ArrowRight" => act(Box::new(|lab: &mut Lab| lab.step())),
                "ArrowLeft" => act(Box::new(|lab: &mut Lab| lab.step_back())),
                "]" => act(Box::new(|lab: &mut Lab| lab.speed = (lab.speed * 10).min(100_000))),
                "[" => act(Box::new(|lab: &mut Lab| lab.speed = (lab.speed / 10).max(10))),
                _ => {}
            }
        })
    };
    let on_scrub = {
        let act = act.clone();
        Callback::from(move |e: Event| {
            let value = e
                .target()
                .and_then(|t| wasm_bindgen::JsCast::dyn_into::<HtmlInputElement>(t).ok())
                .and_then(|i| i.value().parse::<u64>().ok());
            if let Some(v) = value {
                act(Box::new(move |lab: &mut Lab| lab.scrub_to(v)));
            }
        })
    };
    let branch_buttons = (0..l.world.branches.len()).map(|i| {
        let act = act.clone();
        let restore = Callback::from(move |_: MouseEvent| act(Box::new(move |lab: &mut Lab| lab.restore_branch(i))));
        html! { <button class="branch" data-testid={format!("branch-{}", i)} onclick={restore}>{ format!("⑂{}", i + 1) }</button> }
    });
    let faster = on(|lab| lab.speed = (lab.speed * 10).min(100_000));
    let slower = on(|lab| lab.speed = (lab.speed / 10).max(10));

    html! {
        <div class="lab" tabindex="0" onkeydown={on_shortcut}>
            <header>
                <strong>{ "HA Lab" }</strong>
                <span class="badge" data-testid="mode">{ t("模拟", "Simulated") }</span>
                <span data-testid="seed">{ format!("seed {}", l.seed) }</span>
                { for l.bench_result.iter().map(|b| html! { <span data-testid="bench">{ format!("sim: {}", b) }</span> }) }
                <button data-testid="lang" onclick={on(|lab| lab.lang = if lab.lang == Lang::Zh { Lang::En } else { Lang::Zh })}>{ t("EN", "中文") }</button>
            </header>
            { lesson_panel }
            <main class="topology" data-testid="topology">
                <svg viewBox={layout.view_box()}>{ for link_lines }{ for repl_lines }{ for node_cards }</svg>
                { for details }
                <div class="palette" data-testid="fault-palette">{ for palette }{ for link_palette }{ for repl_palette }</div>
            </main>
            <section class="side">
                <div class="terminal" data-testid="terminal">
                    <div class="out" data-testid="terminal-output">{ for terminal_lines }</div>
                    <div class="prompt"><span>{ l.prompt() }</span><input ref={input_ref} data-testid="terminal-input" onkeydown={on_key} /></div>
                </div>
                <div class="log" data-testid="log">{ for log_lines }</div>
            </section>
            <footer class="timeline" data-testid="timeline">
                <button data-testid="rewind" onclick={on(|lab| lab.rewind_start())}>{ "|◀" }</button>
                <button data-testid="step-back" onclick={on(|lab| lab.step_back())}>{ "◀" }</button>
                <button data-testid="play" onclick={toggle_play}>{ if l.playing { "⏸" } else { "▶" } }</button>
                <button data-testid="step" onclick={on(|lab| lab.step())}>{ "▶|" }</button>
                <button data-testid="slower" onclick={slower}>{ "[" }</button>
                <span data-testid="speed">{ format!("×{}", l.speed as f64 / 100.0) }</span>
                <button data-testid="faster" onclick={faster}>{ "]" }</button>
                <span data-testid="time">{ format!("t = {:.1}s", l.world.elapsed() as f64 / 1000.0) }</span>
                <input type="range" data-testid="scrubber" min="0" max={l.horizon.max(l.world.elapsed()).to_string()} value={l.world.elapsed().to_string()} onchange={on_scrub} />
                <span data-testid="branches">{ format!("{} {}", l.world.branches.len(), t("个分支", "branches")) }</span>
                { for branch_buttons }
                <span class="events">{ format!("{} {}", l.world.trace().len(), t("个事件", "events")) }</span>
            </footer>
        </div>
    }
}

/// A replication link in a few words: "offset 1234 · lag 0s", led by its state when it is not up
/// (colour is never the only signal).
fn repl_summary(link: &halab_core::lab::view::LinkView, lang: Lang) -> String {
    let zh = lang == Lang::Zh;
    let offset = if link.offset >= 0 { link.offset.to_string() } else { "—".to_string() };
    let lag = link.lag_s.map(|s| format!("{}s", s)).unwrap_or_else(|| "—".to_string());
    let summary = if zh {
        format!("偏移量 {} · 延迟 {}", offset, lag)
    } else {
        format!("offset {} · lag {}", offset, lag)
    };
    let state = match (link.state.as_str(), zh) {
        ("up", _) => return summary,
        ("sync", true) => "全量同步中",
        ("sync", false) => "syncing",
        ("handshake", true) => "握手中",
        ("down", true) => "连接断开",
        ("cut", true) => "链路已切断",
        ("held", true) => "消息被扣留",
        (other, _) => other,
    };
    format!("{} · {}", state, summary)
}

/// How the link last synchronised, as the master logged it.
fn repl_note(link: &halab_core::lab::view::LinkView, lang: Lang) -> String {
    let head = if lang == Lang::Zh { "上次同步：" } else { "last sync: " };
    if link.note.is_empty() {
        format!("{}{}", head, if lang == Lang::Zh { "尚未完成" } else { "not yet" })
    } else {
        format!("{}{}", head, link.note)
    }
}

/// A lesson's narrative as paragraphs: blank lines separate them, line breaks inside one are
/// joined (with a space in English, directly in Chinese).
fn paragraphs(text: &str, lang: Lang) -> Vec<Html> {
    let joiner = if lang == Lang::Zh { "" } else { " " };
    text.split("\n\n")
        .map(|p| p.lines().map(str::trim).collect::<Vec<_>>().join(joiner))
        .filter(|p| !p.is_empty())
        .map(|p| html! { <p>{ p }</p> })
        .collect()
}

fn main() {
    yew::Renderer::<App>::new().render();
}
