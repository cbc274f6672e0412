//! A failover's progress, read from a sentinel's log: the strip the lab draws under the
//! topology.
//!
//! Sentinel's failover is a state machine (`sentinelFailoverStateMachine` in sentinel.c) and
//! every transition is an event it logs and publishes: `+try-failover` when the master is
//! ODOWN and this sentinel starts (after `+new-epoch N`), then `+elected-leader` once it won
//! the vote for that epoch, `+failover-state-select-slave`, `+selected-slave`,
//! `+failover-state-send-slaveof-noone`, `+failover-state-wait-promotion`, `+promoted-slave`,
//! `+failover-state-reconf-slaves` and `+failover-end` (or `+failover-end-for-timeout` when
//! the replicas took longer than `failover-timeout`). A sentinel that is not elected, finds no
//! replica to promote or waits in vain for the promotion logs `-failover-abort-…` and the try
//! ends there. Neither INFO nor `SENTINEL MASTERS` says which state a failover is in; the events
//! do, in the simulator's trace as in a live process's log or on its pub/sub channels, so the
//! strip is read from log lines ([`crate::log::parse_log_line`]) with their own timestamps.

use crate::log::parse_log_line;
use serde::{Deserialize, Serialize};

/// A stage of the failover, as the strip shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailoverStage {
    /// `+try-failover`: the master is ODOWN, this sentinel asks for votes.
    Try,
    /// `+elected-leader`: a majority voted for it in this epoch.
    Elected,
    /// `+failover-state-select-slave`.
    SelectSlave,
    /// `+failover-state-send-slaveof-noone`: `SLAVEOF NO ONE` (in MULTI … EXEC) to the chosen one.
    SendSlaveofNoone,
    /// `+failover-state-wait-promotion`: until its INFO says `role:master`.
    WaitPromotion,
    /// `+failover-state-reconf-slaves`: the other replicas are pointed at the new master.
    ReconfSlaves,
    /// `+failover-end` (or `+failover-end-for-timeout`).
    End,
}

impl FailoverStage {
    /// The stages in order, as the strip lays them out.
    pub const ALL: [FailoverStage; 7] = [
        FailoverStage::Try,
        FailoverStage::Elected,
        FailoverStage::SelectSlave,
        FailoverStage::SendSlaveofNoone,
        FailoverStage::WaitPromotion,
        FailoverStage::ReconfSlaves,
        FailoverStage::End,
    ];

    /// The event that enters the stage, as the sentinel logs it.
    pub fn event(self) -> &'static str {
        match self {
            FailoverStage::Try => "+try-failover",
            FailoverStage::Elected => "+elected-leader",
            FailoverStage::SelectSlave => "+failover-state-select-slave",
            FailoverStage::SendSlaveofNoone => "+failover-state-send-slaveof-noone",
            FailoverStage::WaitPromotion => "+failover-state-wait-promotion",
            FailoverStage::ReconfSlaves => "+failover-state-reconf-slaves",
            FailoverStage::End => "+failover-end",
        }
    }

    fn of_event(event: &str) -> Option<FailoverStage> {
        match event {
            "+failover-end-for-timeout" => Some(FailoverStage::End),
            _ => FailoverStage::ALL.into_iter().find(|s| s.event() == event),
        }
    }
}

/// One try at a failover by one sentinel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailoverView {
    /// The sentinel that tried (its name in the lab).
    pub sentinel: String,
    /// The master's name as the sentinel monitors it.
    pub master: String,
    /// The epoch of the try (`+new-epoch` before `+try-failover`).
    pub epoch: u64,
    /// When it started (`+try-failover`), Unix ms by the sentinel's clock.
    pub started_at_ms: u64,
    /// The stages reached, in order, each with its time since the start in ms.
    pub stages: Vec<(FailoverStage, u64)>,
    /// The replica chosen (`+selected-slave`), as `ip:port`.
    pub selected: Option<String>,
    /// `-failover-abort-not-elected` and the like when the try ended without a new master.
    pub aborted: Option<String>,
}

impl FailoverView {
    /// Over: ended, or aborted.
    pub fn finished(&self) -> bool {
        self.aborted.is_some() || self.stages.iter().any(|(s, _)| *s == FailoverStage::End)
    }
}

/// Every failover try in one sentinel's log, oldest first.
pub fn read_failovers<'a>(sentinel: &str, lines: impl IntoIterator<Item = &'a str>) -> Vec<FailoverView> {
    let mut tries: Vec<FailoverView> = Vec::new();
    let mut epoch = 0;
    for line in lines {
        let Some(parsed) = parse_log_line(line) else { continue };
        let words: Vec<&str> = parsed.message.split(' ').collect();
        let event = words[0];
        if event == "+new-epoch" {
            epoch = words.get(1).and_then(|e| e.parse().ok()).unwrap_or(epoch);
            continue;
        }
        // `+try-failover master mymaster …` or `+selected-slave slave ip:port ip port @ mymaster …`.
        let master = match words.get(1) {
            Some(&"master") => words.get(2).copied(),
            _ => words.iter().position(|w| *w == "@").and_then(|i| words.get(i + 1)).copied(),
        };
        let Some(master) = master else { continue };
        if event == "+try-failover" {
            tries.push(FailoverView {
                sentinel: sentinel.to_string(),
                master: master.to_string(),
                epoch,
                started_at_ms: parsed.at_ms,
                stages: vec![(FailoverStage::Try, 0)],
                selected: None,
                aborted: None,
            });
            continue;
        }
        let Some(current) = tries.iter_mut().rev().find(|t| t.master == master && !t.finished()) else { continue };
        let since = parsed.at_ms.saturating_sub(current.started_at_ms);
        if let Some(stage) = FailoverStage::of_event(event) {
            current.stages.push((stage, since));
        } else if event == "+selected-slave" {
            current.selected = words.get(2).map(|w| w.to_string());
        } else if event.starts_with("-failover-abort-") {
            current.aborted = Some(event.to_string());
        }
    }
    tries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(ms: u64, text: &str) -> String {
        // 03 Dec 2026 06:00:00.000 UTC + ms
        let at = 1_796_277_600_000 + ms;
        crate::log::LogLine {
            at_ms: at,
            role: 'X',
            level: crate::log::LogLevel::Warning,
            message: text.into(),
            raw: false,
        }
        .render(7)
    }

    #[test]
    fn the_leader_s_log_reads_as_its_stages_with_their_times() {
        let log = [
            line(0, "+sdown master mymaster 127.0.0.1 6379"),
            line(40, "+odown master mymaster 127.0.0.1 6379 #quorum 2/2"),
            line(41, "+new-epoch 1"),
            line(41, "+try-failover master mymaster 127.0.0.1 6379"),
            line(60, "+vote-for-leader 8f3c2a1b9d4e5f60718293a4b5c6d7e8f9012345 1"),
            line(1120, "+elected-leader master mymaster 127.0.0.1 6379"),
            line(1120, "+failover-state-select-slave master mymaster 127.0.0.1 6379"),
            line(1200, "+selected-slave slave 127.0.0.1:6380 127.0.0.1 6380 @ mymaster 127.0.0.1 6379"),
            line(
                1200,
                "+failover-state-send-slaveof-noone slave 127.0.0.1:6380 127.0.0.1 6380 @ mymaster 127.0.0.1 6379",
            ),
            line(1290, "+failover-state-wait-promotion slave 127.0.0.1:6380 127.0.0.1 6380 @ mymaster 127.0.0.1 6379"),
            line(2100, "+promoted-slave slave 127.0.0.1:6380 127.0.0.1 6380 @ mymaster 127.0.0.1 6379"),
            line(2100, "+failover-state-reconf-slaves master mymaster 127.0.0.1 6379"),
            line(2200, "+slave-reconf-sent slave 127.0.0.1:6381 127.0.0.1 6381 @ mymaster 127.0.0.1 6379"),
            line(3150, "+failover-end master mymaster 127.0.0.1 6379"),
            line(3150, "+switch-master mymaster 127.0.0.1 6379 127.0.0.1 6380"),
        ];
        let tries = read_failovers("s1", log.iter().map(String::as_str));
        assert_eq!(tries.len(), 1);
        let t = &tries[0];
        assert_eq!((t.sentinel.as_str(), t.master.as_str(), t.epoch), ("s1", "mymaster", 1));
        assert_eq!(t.selected.as_deref(), Some("127.0.0.1:6380"));
        let times: Vec<u64> = t.stages.iter().map(|(_, at)| *at).collect();
        assert_eq!(t.stages.iter().map(|(s, _)| *s).collect::<Vec<_>>(), FailoverStage::ALL.to_vec());
        assert_eq!(times, vec![0, 1079, 1079, 1159, 1249, 2059, 3109]);
        assert!(t.finished() && t.aborted.is_none());
    }

    #[test]
    fn a_try_that_is_not_elected_ends_aborted_and_the_next_try_starts_afresh() {
        let log = [
            line(0, "+new-epoch 1"),
            line(0, "+try-failover master m 127.0.0.1 6379"),
            line(12_000, "-failover-abort-not-elected master m 127.0.0.1 6379"),
            line(24_000, "+new-epoch 2"),
            line(24_000, "+try-failover master m 127.0.0.1 6379"),
            line(24_500, "+elected-leader master m 127.0.0.1 6379"),
            "not a log line".to_string(),
        ];
        let tries = read_failovers("s", log.iter().map(String::as_str));
        assert_eq!(tries.len(), 2);
        assert_eq!(tries[0].aborted.as_deref(), Some("-failover-abort-not-elected"));
        assert_eq!(tries[0].stages, vec![(FailoverStage::Try, 0)]);
        assert_eq!(
            (tries[1].epoch, tries[1].stages.clone()),
            (2, vec![(FailoverStage::Try, 0), (FailoverStage::Elected, 500)])
        );
        assert!(!tries[1].finished());
    }
}
