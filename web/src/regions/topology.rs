//! The topology drawing, in the centre: a card per node (name, address, role badge and
//! replication offset, run id and key count; struck and dashed when the node is down), each
//! client hanging under its node on a line, and an arrow from each replica to its master,
//! styled by the link's state and labelled with the replica's offset and lag; a dashed line
//! from each sentinel to the master it believes in, with its opinion (ok, sdown, odown).
//! Messages in flight are dots on their link; a message between nodes no drawn line joins
//! (sentinel to sentinel, sentinel to replica) travels a faint arc drawn while it flies. On a
//! sentinel's connections a dot is coloured and titled by what it says (`MessageKind`: a
//! hello, "is it down?", a vote request, a vote). A click on a card selects its node; on an
//! arrow, its replica.

mod layout;

use super::Act;
use crate::lab::{Lab, Lang};
use halab_core::lab::view::{LinkKind, LinkView, MessageKind, MessageView, ViewModel};
use layout::Layout;
use yew::prelude::*;

pub fn view(lab: &Lab, view: &ViewModel, act: &Act) -> Html {
    let t = |zh, en| lab.lang.t(zh, en);
    let kinds: Vec<bool> = view.nodes.iter().map(|n| n.sentinel).collect();
    let layout = Layout::new(&kinds);
    let node_index = |name: &str| view.nodes.iter().position(|n| n.name == name);
    let select = |name: &str| {
        let name = name.to_string();
        act.on_click(move |lab| lab.selected = Some(name.clone()))
    };
    let node_cards = view.nodes.iter().enumerate().map(|(i, n)| {
        let (x, y) = layout.centres[i];
        let selected = lab.selected.as_deref() == Some(n.name.as_str());
        let keys: u64 = n.keys.iter().map(|(_, k)| k).sum();
        let paused = n.flags.iter().any(|f| f == "paused");
        let class = classes!("node", (!n.up).then_some("down"), paused.then_some("paused"), selected.then_some("selected"));
        html! {
            <g class={class} data-testid={format!("node-{}", n.name)} onclick={select(&n.name)} transform={format!("translate({},{})", x, y)}>
                <rect x="-80" y="-42" width="160" height="84" rx="10" />
                <text class="name" y="-20">{ &n.name }</text>
                <text class="addr" y="-4">{ &n.addr }</text>
                if n.up {
                    <text class="role" y="14" data-testid={format!("node-role-{}", n.name)}>
                        <tspan class={classes!("badge", n.role.as_str())}>{ n.role.as_str() }</tspan>
                        if !n.sentinel {
                            <tspan class="offset" data-testid={format!("node-offset-{}", n.name)}>{ format!(" · {} {}", t("偏移量", "offset"), n.master_repl_offset) }</tspan>
                        }
                    </text>
                } else {
                    <text class="role" y="14">{ t("已停止", "DOWN") }</text>
                }
                <text class="meta" y="30">{ match (n.up, paused) {
                    (true, true) => format!("{} · {} keys", t("已暂停（SIGSTOP）", "PAUSED (SIGSTOP)"), keys),
                    (true, false) => format!("run {} · {} keys", &n.run_id[..8.min(n.run_id.len())], keys),
                    _ => String::new(),
                } }</text>
            </g>
        }
    });
    let client_links: Vec<&LinkView> = view.links.iter().filter(|k| k.kind == LinkKind::Client).collect();
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
        let dots = messages_on(view, link).map(|m| {
            let p = m.progress.clamp(0.0, 1.0);
            let (px, py) = if m.from == link.from {
                (cx + (nx - cx) * p, cy + (ny - cy) * p)
            } else {
                (nx + (cx - nx) * p, ny + (cy - ny) * p)
            };
            message_dot(m, (px, py), lab.lang)
        });
        html! {
            <g class={classes!("link", link.state.as_str())} data-testid={format!("link-{}", link.from)}>
                <line x1={cx.to_string()} y1={cy.to_string()} x2={nx.to_string()} y2={ny.to_string()} />
                <circle cx={cx.to_string()} cy={cy.to_string()} r="14" />
                <text x={cx.to_string()} y={(cy + 32.0).to_string()}>{ &link.from }</text>
                { for dots }
            </g>
        }
    });
    let mut repl_links: Vec<&LinkView> = view.links.iter().filter(|k| k.kind == LinkKind::Replication).collect();
    // Longer links first, so that a shorter one nested under it shows its label on top.
    let span = |k: &LinkView| match (node_index(&k.from), node_index(&k.to)) {
        (Some(a), Some(b)) => layout.span(a, b),
        _ => 0.0,
    };
    repl_links.sort_by(|a, b| span(b).total_cmp(&span(a)));
    // Replication links: an arrow from each replica to its master, styled by the link's state,
    // labelled with the replica's offset and lag; the master <-> replica traffic travels on it.
    let repl_lines = repl_links.iter().map(|link| {
        let Some(r) = node_index(&link.from) else { return html! {} };
        let master = node_index(&link.to);
        let curve = match master {
            Some(m) => layout::replication_curve(layout.centres[r], layout.centres[m]),
            None => layout::dangling_curve(layout.centres[r]),
        };
        let dots = messages_on(view, link).map(|m| {
            let p = m.progress.clamp(0.0, 1.0);
            let (px, py) = curve.at(if m.from == link.from { p } else { 1.0 - p });
            message_dot(m, (px, py), lab.lang)
        });
        let mut label = repl_summary(link, lab.lang);
        if master.is_none() {
            label = format!("→ {} · {}", link.to, label);
        }
        let d = curve.d();
        html! {
            <g class={classes!("repl", link.state.as_str())} data-testid={format!("repl-link-{}", link.from)} onclick={select(&link.from)}>
                <title>{ format!("{} → {}: {}\n{}", link.from, link.to, label, repl_note(link, lab.lang)) }</title>
                <path class="hit" d={d.clone()} />
                <path class="wire" d={d} />
                <polygon class="arrow" points={curve.arrowhead()} />
                <text class="repl-label" data-testid={format!("repl-offset-{}", link.from)} x={format!("{:.1}", curve.label.0)} y={format!("{:.1}", curve.label.1)}>{ label }</text>
                { for dots }
            </g>
        }
    });
    // Sentinels: a dashed line from each sentinel to where it thinks the master is, in the
    // sentinel's own colour of opinion (ok, or red for sdown / odown), with the opinion written
    // next to the sentinel: three sentinels may disagree, and the drawing shows it.
    let monitor_lines = view.links.iter().filter(|k| k.kind == LinkKind::Monitor).map(|link| {
        let Some(s) = node_index(&link.from) else { return html! {} };
        let ((sx, sy), (mx, my), (lx, ly)) =
            layout::monitor_line(layout.centres[s], node_index(&link.to).map(|m| layout.centres[m]));
        let opinion = link.opinion().to_string();
        // Its PINGs, INFOs and hellos travel the line.
        let dots = messages_on(view, link).map(|m| {
            let p = m.progress.clamp(0.0, 1.0);
            let p = if m.from == link.from { p } else { 1.0 - p };
            message_dot(m, (sx + (mx - sx) * p, sy + (my - sy) * p), lab.lang)
        });
        let word = match (opinion.as_str(), lab.lang == Lang::Zh) {
            ("ok", true) => "正常".to_string(),
            ("sdown", true) => "主观下线".to_string(),
            ("odown", true) => "客观下线".to_string(),
            (other, _) => other.to_string(),
        };
        html! {
            <g class={classes!("monitor", link.state.as_str())} data-testid={format!("monitor-link-{}", link.from)} onclick={select(&link.from)}>
                <title>{ format!("{} → {}: {}", link.from, link.to, link.note) }</title>
                <line x1={format!("{:.1}", sx)} y1={format!("{:.1}", sy)} x2={format!("{:.1}", mx)} y2={format!("{:.1}", my)} />
                <text class="opinion" data-testid={format!("opinion-{}", link.from)} x={format!("{:.1}", lx)} y={format!("{:.1}", ly)}>{ word }</text>
                { for dots }
            </g>
        }
    });
    // Messages between nodes that no drawn line joins: each on an arc of its own, bowed to
    // the right of its way so that the two directions part.
    let stray = view.messages.iter().filter(|m| !view.links.iter().any(|l| carries(l, m))).filter_map(|m| {
        let (a, b) = (node_index(&m.from)?, node_index(&m.to)?);
        let curve = layout::message_arc(layout.centres[a], layout.centres[b]);
        let dot = message_dot(m, curve.at(m.progress), lab.lang);
        Some(html! {
            <g class="talk">
                <path class="wire" d={curve.d()} />
                { dot }
            </g>
        })
    });
    html! { <svg viewBox={layout.view_box()}>{ for monitor_lines }{ for link_lines }{ for repl_lines }{ for stray }{ for node_cards }</svg> }
}

/// Whether `link` is the line message `m` travels (either way).
fn carries(link: &LinkView, m: &MessageView) -> bool {
    (m.from == link.from && m.to == link.to) || (m.from == link.to && m.to == link.from)
}

/// A message in flight at `at`: a dot classed by what it says, titled with it.
fn message_dot(m: &MessageView, at: (f64, f64), lang: Lang) -> Html {
    let zh = lang == Lang::Zh;
    let what = match (m.kind, zh) {
        (MessageKind::Other, _) => format!("{} bytes", m.bytes),
        (MessageKind::Hello, true) => "hello（__sentinel__:hello）".into(),
        (MessageKind::Hello, false) => "hello (__sentinel__:hello)".into(),
        (MessageKind::DownQuery, true) => "询问：主库下线了吗？".into(),
        (MessageKind::DownQuery, false) => "asks: is the master down?".into(),
        (MessageKind::VoteRequest, true) => "请求投票".into(),
        (MessageKind::VoteRequest, false) => "asks for a vote".into(),
        (MessageKind::DownReply, true) => "回答：是否下线".into(),
        (MessageKind::DownReply, false) => "answers: down or not".into(),
        (MessageKind::Vote, true) => "投票".into(),
        (MessageKind::Vote, false) => "votes".into(),
    };
    let title = if m.detail.is_empty() {
        format!("{} → {}: {}", m.from, m.to, what)
    } else {
        format!("{} → {}: {} · {}", m.from, m.to, what, m.detail)
    };
    let r = if m.kind == MessageKind::Other { "5" } else { "7" };
    html! {
        <circle class={classes!("message", m.kind.as_str())} data-testid="message" data-kind={m.kind.as_str()}
            cx={format!("{:.1}", at.0)} cy={format!("{:.1}", at.1)} r={r}>
            <title>{ title }</title>
        </circle>
    }
}

/// The messages in flight on a link, either way.
fn messages_on<'a>(view: &'a ViewModel, link: &'a LinkView) -> impl Iterator<Item = &'a MessageView> {
    view.messages.iter().filter(|m| carries(link, m))
}

/// A replication link in a few words: "offset 1234 · lag 0s", led by its state when it is not up
/// (colour is never the only signal).
pub fn repl_summary(link: &LinkView, lang: Lang) -> String {
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
pub fn repl_note(link: &LinkView, lang: Lang) -> String {
    let head = if lang == Lang::Zh { "上次同步：" } else { "last sync: " };
    if link.note.is_empty() {
        format!("{}{}", head, if lang == Lang::Zh { "尚未完成" } else { "not yet" })
    } else {
        format!("{}{}", head, link.note)
    }
}
