//! The failover strip, under the drawing: for each sentinel that tried a failover, its latest
//! try as the stages of Sentinel's state machine — try → elected → select replica → SLAVEOF NO
//! ONE → wait for the promotion → reconfigure the replicas → end — each reached stage with
//! its virtual time since the try began, the current one highlighted, or how it was aborted
//! (`-failover-abort-not-elected`). Read from the sentinels' logs by `view::read_failovers`,
//! so a rewind rewinds it.

use crate::lab::{Lab, Lang};
use halab_core::lab::sim::DEFAULT_EPOCH_MS;
use halab_core::lab::view::{FailoverStage, FailoverView, ViewModel};
use yew::prelude::*;

pub fn view(lab: &Lab, view: &ViewModel) -> Html {
    // The latest try of each sentinel, in the sentinels' order.
    let latest = view.nodes.iter().filter_map(|n| view.failovers.iter().rev().find(|f| f.sentinel == n.name));
    let live = lab.live.is_some();
    let rows: Vec<Html> = latest.map(|f| row(f, lab.lang, live)).collect();
    if rows.is_empty() {
        return html! {};
    }
    html! { <div class="failovers" data-testid="failovers">{ for rows }</div> }
}

fn row(f: &FailoverView, lang: Lang, live: bool) -> Html {
    let zh = lang == Lang::Zh;
    let current = if f.finished() { None } else { f.stages.last().map(|(s, _)| *s) };
    let stages = FailoverStage::ALL.iter().map(|stage| {
        let reached = f.stages.iter().find(|(s, _)| s == stage);
        let class = classes!(
            "stage",
            reached.is_some().then_some("reached"),
            (current == Some(*stage)).then_some("current")
        );
        html! {
            <span class={class} title={stage.event()} data-testid={format!("failover-{}-{}", f.sentinel, stage.event().trim_start_matches('+'))}>
                { stage_name(*stage, lang) }
                if let Some((_, at)) = reached {
                    <span class="at">{ format!("+{:.2}s", *at as f64 / 1000.0) }</span>
                }
            </span>
        }
    });
    // The try's start on the lab's clock (the simulator's epoch is its time zero); live, the
    // sentinel's own clock, as its log prints it (UTC).
    let start = if live {
        let ms = f.started_at_ms % 86_400_000;
        format!("{:02}:{:02}:{:02}.{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
    } else {
        format!("t={:.2}s", f.started_at_ms.saturating_sub(DEFAULT_EPOCH_MS) as f64 / 1000.0)
    };
    let head = if zh {
        format!("{} · {} · 纪元 {} · {}", f.sentinel, f.master, f.epoch, start)
    } else {
        format!("{} · {} · epoch {} · {}", f.sentinel, f.master, f.epoch, start)
    };
    let selected = f.selected.as_ref().map(|s| if zh { format!("选中 {}", s) } else { format!("chose {}", s) });
    html! {
        <div class="failover" data-testid={format!("failover-{}", f.sentinel)}>
            <span class="who">{ head }</span>
            { for stages }
            if let Some(s) = selected { <span class="chosen">{ s }</span> }
            if let Some(a) = &f.aborted { <span class="aborted" data-testid={format!("failover-aborted-{}", f.sentinel)}>{ a }</span> }
        </div>
    }
}

fn stage_name(stage: FailoverStage, lang: Lang) -> &'static str {
    let zh = lang == Lang::Zh;
    match (stage, zh) {
        (FailoverStage::Try, true) => "发起",
        (FailoverStage::Try, false) => "try",
        (FailoverStage::Elected, true) => "当选领头",
        (FailoverStage::Elected, false) => "elected",
        (FailoverStage::SelectSlave, true) => "选择从库",
        (FailoverStage::SelectSlave, false) => "select replica",
        (FailoverStage::SendSlaveofNoone, _) => "SLAVEOF NO ONE",
        (FailoverStage::WaitPromotion, true) => "等待晋升",
        (FailoverStage::WaitPromotion, false) => "wait promotion",
        (FailoverStage::ReconfSlaves, true) => "重配从库",
        (FailoverStage::ReconfSlaves, false) => "reconf replicas",
        (FailoverStage::End, true) => "完成",
        (FailoverStage::End, false) => "end",
    }
}
