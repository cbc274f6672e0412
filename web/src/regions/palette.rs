//! The fault palette, under the drawing: kill or restart each node, pause or resume its
//! process (SIGSTOP / SIGCONT: a GC pause, a frozen VM) (and make a sentinel's clock
//! jump 5 s, which puts it in TILT); cut or heal, and delay by
//! 200 ms or not, each client's link to its node; cut or heal each replica's connection to its
//! master (both ways). A button whose action does not apply is disabled or says the opposite.

use super::Act;
use crate::lab::Lab;
use halab_core::lab::view::{LinkKind, LinkState, ViewModel};
use yew::prelude::*;

pub fn view(lab: &Lab, view: &ViewModel, act: &Act) -> Html {
    let t = |zh, en| lab.lang.t(zh, en);
    let nodes = view.nodes.iter().map(|n| {
        let kill = {
            let name = n.name.clone();
            act.on_click(move |lab| lab.kill(&name))
        };
        let restart = {
            let name = n.name.clone();
            act.on_click(move |lab| lab.restart(&name))
        };
        let jump = {
            let name = n.name.clone();
            act.on_click(move |lab| lab.jump_clock(&name))
        };
        let paused = n.flags.iter().any(|f| f == "paused");
        let pause = {
            let name = n.name.clone();
            act.on_click(move |lab| lab.set_paused(&name, !paused))
        };
        let pause_label = if paused { t("继续", "resume") } else { t("暂停", "pause") };
        html! {
            <span class="fault">
                <button data-testid={format!("pause-{}", n.name)} onclick={pause} disabled={!n.up} title={t("暂停进程（SIGSTOP）：连接还在，但它什么都不回答", "stop the process (SIGSTOP): its connections stay, it answers nothing")}>{ format!("{} {}", pause_label, n.name) }</button>
                <button data-testid={format!("kill-{}", n.name)} onclick={kill} disabled={!n.up}>{ format!("{} {}", t("停止", "kill"), n.name) }</button>
                <button data-testid={format!("restart-{}", n.name)} onclick={restart} disabled={n.up}>{ format!("{} {}", t("重启", "restart"), n.name) }</button>
                if n.sentinel {
                    <button data-testid={format!("clock-jump-{}", n.name)} onclick={jump} disabled={!n.up} title={t("时钟向前跳 5 秒：哨兵进入 TILT 模式", "the clock jumps 5 s ahead: a sentinel enters TILT")}>{ format!("{} {} +5s", n.name, t("时钟", "clock")) }</button>
                }
            </span>
        }
    });

    let client_links = view.links.iter().filter(|k| k.kind == LinkKind::Client).map(|link| {
        let client = link.from.trim_start_matches("client:").to_string();
        let node = link.to.clone();
        let cut = link.state == LinkState::Cut;
        let toggle = {
            let (client, node) = (client.clone(), node.clone());
            act.on_click(move |lab| lab.set_link(&client, &node, !cut))
        };
        let delay = {
            let slow = link.extra_latency_ms == 0;
            act.on_click(move |lab| lab.delay_link(&client, &node, if slow { 200 } else { 0 }))
        };
        html! {
            <span class="fault">
                <button data-testid={format!("cut-{}", link.from)} onclick={toggle}>{ format!("{} {}", if cut { t("恢复", "heal") } else { t("断开", "cut") }, link.from) }</button>
                <button data-testid={format!("delay-{}", link.from)} onclick={delay}>{ if link.extra_latency_ms == 0 { t("延迟 200ms", "delay 200ms") } else { t("取消延迟", "no delay") } }</button>
            </span>
        }
    });

    // Cut or heal the connection between a replica and its master (both ways): only for a
    // master that is one of the lab's nodes.
    let is_node = |name: &str| view.nodes.iter().any(|n| n.name == name);
    let repl_links = view.links.iter().filter(|k| k.kind == LinkKind::Replication && is_node(&k.to)).map(|link| {
        let (replica, master) = (link.from.clone(), link.to.clone());
        let cut = link.state == LinkState::Cut;
        let toggle = {
            let (replica, master) = (replica.clone(), master.clone());
            act.on_click(move |lab| lab.set_repl_link(&replica, &master, !cut))
        };
        html! {
            <span class="fault">
                <button data-testid={format!("cut-repl-{}", replica)} onclick={toggle}>{ format!("{} {}↔{}", if cut { t("恢复", "heal") } else { t("断开", "cut") }, replica, master) }</button>
            </span>
        }
    });

    html! { <div class="palette" data-testid="fault-palette">{ for nodes }{ for client_links }{ for repl_links }</div> }
}
