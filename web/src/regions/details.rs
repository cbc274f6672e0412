//! The selected node's details, under the drawing: what INFO would say of it (address, role,
//! `master_repl_offset`, keys per database, connected clients; run id and replication id), and
//! each of its replication links, to its master and from its replicas, with how it last synced.

use super::topology::{repl_note, repl_summary};
use crate::lab::Lab;
use halab_core::lab::view::{LinkKind, LinkView, ViewModel};
use yew::prelude::*;

pub fn view(lab: &Lab, view: &ViewModel) -> Html {
    let t = |zh, en| lab.lang.t(zh, en);
    let Some(n) = lab.selected.as_deref().and_then(|s| view.nodes.iter().find(|n| n.name == s)) else {
        return html! {};
    };
    let repl_links: Vec<&LinkView> = view.links.iter().filter(|k| k.kind == LinkKind::Replication).collect();
    let keys: Vec<String> = n.keys.iter().map(|(db, k)| format!("db{}={}", db, k)).collect();
    let line = |link: &LinkView| {
        html! {
            <li data-testid={format!("repl-detail-{}", link.from)}>
                <span class={classes!("state", link.state.as_str())}>{ format!("{} → {}", link.from, link.to) }</span>
                { format!(" · {}", repl_summary(link, lab.lang)) }
                <div class="note" data-testid={format!("repl-note-{}", link.from)}>{ repl_note(link, lab.lang) }</div>
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
                    { format!("{} · master_repl_offset {} · {} {} · {} {}", n.role.as_str(), n.master_repl_offset,
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
}
