//! The top bar: the lab's name, the mode badge — simulated, or live with what the bridge is
//! connected to — the seed, the simulator's speed when the page was opened with `#bench=1`,
//! and the language switch. Live, it holds the deployment's controls: start 1 master + 2
//! replicas (+ 3 sentinels) of halab, redis-server or both, attach to an address, stop,
//! replay the recorded session in the simulator, and go back to the simulator.

use super::Act;
use crate::lab::{Lab, Lang};
use halab_core::lab::bridge::{Flavor, Request, Template};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

pub fn view(lab: &Lab, act: &Act) -> Html {
    let t = |zh, en| lab.lang.t(zh, en);
    let switch_lang = act.on_click(|lab| lab.lang = if lab.lang == Lang::Zh { Lang::En } else { Lang::Zh });
    let mode = match &lab.live {
        None => {
            let go_live = {
                let act = act.clone();
                Callback::from(move |_: MouseEvent| act.go_live())
            };
            html! {
                <>
                    <span class="badge" data-testid="mode">{ t("模拟", "Simulated") }</span>
                    <span data-testid="seed">{ format!("seed {}", lab.seed) }</span>
                    <button data-testid="go-live" onclick={go_live} title={t("连接 halab lab 的桥，驱动真实进程", "connect to halab lab's bridge and drive real processes")}>{ t("真实进程", "Go live") }</button>
                </>
            }
        }
        Some(live) => {
            let start = |template: Template| {
                act.on_click(move |lab| {
                    if let Some(l) = &mut lab.live {
                        l.start(template)
                    }
                })
            };
            let flavor = act.clone();
            let on_flavor = Callback::from(move |e: Event| {
                let value = e
                    .target()
                    .and_then(|t| wasm_bindgen::JsCast::dyn_into::<HtmlSelectElement>(t).ok())
                    .map(|s| s.value());
                flavor.run(move |lab| {
                    if let Some(l) = &mut lab.live {
                        l.flavor = match value.as_deref() {
                            Some("redis") => Flavor::Redis,
                            Some("mixed") => Flavor::Mixed,
                            _ => Flavor::Halab,
                        };
                    }
                });
            });
            let attach = act.clone();
            let on_attach = Callback::from(move |e: KeyboardEvent| {
                if e.key() != "Enter" {
                    return;
                }
                if let Some(input) = e.target().and_then(|t| wasm_bindgen::JsCast::dyn_into::<HtmlInputElement>(t).ok())
                {
                    // `host:port`, or `host:port password` for a deployment with one.
                    let value = input.value();
                    let mut words = value.split_whitespace();
                    let addr = words.next().unwrap_or("").to_string();
                    let password = words.next().map(str::to_string);
                    attach.run(move |lab| {
                        if let Some(l) = &mut lab.live {
                            l.send(Request::Attach { addr, password });
                        }
                    });
                }
            });
            let stop = act.on_click(|lab| {
                if let Some(l) = &mut lab.live {
                    l.send(Request::Detach);
                }
            });
            let kind = match live.deployment.kind.as_str() {
                "supervised" => t("本机进程", "supervised processes"),
                "attached" => t("已连接的部署", "attached deployment"),
                _ if live.connected => t("未连接部署", "no deployment"),
                _ => t("正在连接桥…", "connecting to the bridge…"),
            };
            html! {
                <>
                    <span class="badge live" data-testid="mode">{ t("真实", "Live") }</span>
                    <span data-testid="live-kind">{ kind }</span>
                    <select data-testid="live-flavor" onchange={on_flavor}>
                        <option value="halab" selected={live.flavor == Flavor::Halab}>{ "halab" }</option>
                        <option value="redis" selected={live.flavor == Flavor::Redis}>{ "redis-server" }</option>
                        <option value="mixed" selected={live.flavor == Flavor::Mixed}>{ t("混合", "mixed") }</option>
                    </select>
                    <button data-testid="live-start-replication" onclick={start(Template::Replication)}>{ t("启动 1 主 2 从", "start 1 master + 2 replicas") }</button>
                    <button data-testid="live-start-sentinel" onclick={start(Template::Sentinel)}>{ t("启动 1 主 2 从 3 哨兵", "start + 3 sentinels") }</button>
                    <input data-testid="live-attach" placeholder={t("连接 host:port [密码]（回车）", "attach host:port [password] (Enter)")} onkeydown={on_attach} />
                    <button data-testid="live-stop" onclick={stop}>{ t("停止", "stop") }</button>
                    <button data-testid="live-replay" onclick={act.on_click(Lab::replay_live)} title={t("把记录下的操作在模拟器里重放，并比较回复", "replay the recorded inputs in the simulator and compare the replies")}>{ t("在模拟器中重放", "replay in the simulator") }</button>
                    <button data-testid="leave-live" onclick={act.on_click(Lab::leave_live)}>{ t("回到模拟", "back to the simulator") }</button>
                    { for live.error.iter().map(|e| html! { <span class="error" data-testid="live-error">{ e }</span> }) }
                </>
            }
        }
    };
    html! {
        <header>
            <strong>{ "HA Lab" }</strong>
            { mode }
            { for lab.replay_note.iter().map(|n| html! { <span class="note" data-testid="replay-note">{ n }</span> }) }
            { for lab.bench_result.iter().map(|b| html! { <span data-testid="bench">{ format!("sim: {}", b) }</span> }) }
            <button data-testid="lang" onclick={switch_lang}>{ t("EN", "中文") }</button>
        </header>
    }
}
