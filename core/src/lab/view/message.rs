//! What a message on a sentinel's connection says, so the drawing can tell Sentinel's
//! conversation apart from its pings: a hello, a question about a master, a vote.
//!
//! Sentinels talk in plain RESP (sentinel.c): every 2 s each one `PUBLISH`es a hello on
//! `__sentinel__:hello` of every instance it watches (`sentinelSendHello`, payload
//! `ip,port,runid,current_epoch,master_name,master_ip,master_port,master_config_epoch`), which the
//! instance delivers as a pub/sub `message` to every sentinel subscribed there
//! (`sentinelProcessHelloMessage` reads it). Once a sentinel finds a master SDOWN it asks the
//! others `SENTINEL IS-MASTER-DOWN-BY-ADDR ip port current_epoch *` (`sentinelAskMasterStateToOtherSentinels`;
//! `*` = only asking), and when it starts a failover it asks the same with its own run id
//! instead of `*`: a request for their vote in that epoch. The answer is a three-element array
//! `down (0/1), leader run id (or *), leader epoch` (`sentinelReceiveIsMasterDownReply`).
//!
//! [`classify`] reads the frames of one delivery (a write may carry several: a PING and an
//! INFO go together) and names the most telling one. It looks at bytes only, so it reads a live
//! capture as well as the simulator's queue.

use crate::resp::Frame;
use bytes::BytesMut;
use serde::{Deserialize, Serialize};

/// The hello channel (`SENTINEL_HELLO_CHANNEL`).
const HELLO_CHANNEL: &[u8] = b"__sentinel__:hello";

/// The most a classification reads of one delivery: hellos and votes are short; a longer
/// delivery is an INFO reply or a replication stream, which stays `Other`.
const HEAD_BYTES: usize = 4096;

/// What a message on the wire is, for drawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MessageKind {
    /// Anything else: commands, replies, PINGs, INFO, the replication stream.
    #[default]
    Other,
    /// A sentinel's hello, published on an instance or delivered to a subscriber.
    Hello,
    /// `SENTINEL IS-MASTER-DOWN-BY-ADDR … *`: is this master down for you?
    DownQuery,
    /// `SENTINEL IS-MASTER-DOWN-BY-ADDR … <runid>`: vote for me in this epoch.
    VoteRequest,
    /// The answer to a query: down or not, no vote (`*`).
    DownReply,
    /// The answer to a vote request: the leader this sentinel voted for, and the epoch.
    Vote,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Other => "other",
            MessageKind::Hello => "hello",
            MessageKind::DownQuery => "down-query",
            MessageKind::VoteRequest => "vote-request",
            MessageKind::DownReply => "down-reply",
            MessageKind::Vote => "vote",
        }
    }

    /// Which kind a drawing shows when one delivery holds several: the rarer, the more telling.
    fn weight(self) -> u8 {
        match self {
            MessageKind::Other => 0,
            MessageKind::Hello => 1,
            MessageKind::DownReply => 2,
            MessageKind::DownQuery => 3,
            MessageKind::Vote => 4,
            MessageKind::VoteRequest => 5,
        }
    }
}

/// What one delivery says: its kind and, for Sentinel's messages, the fields that matter in
/// a few words (`epoch 1 · leader 8f3c2a1b`).
pub fn classify(payload: &[u8]) -> (MessageKind, String) {
    let mut buf = BytesMut::from(&payload[..payload.len().min(HEAD_BYTES)]);
    let mut best = (MessageKind::Other, String::new());
    while let Ok(Some(frame)) = Frame::decode(&mut buf) {
        let this = classify_frame(&frame);
        if this.0.weight() > best.0.weight() {
            best = this;
        }
    }
    best
}

fn classify_frame(frame: &Frame) -> (MessageKind, String) {
    let items = match frame {
        Frame::Array(items) | Frame::Push(items) => items,
        _ => return (MessageKind::Other, String::new()),
    };
    let word = |i: usize| match items.get(i) {
        Some(Frame::Bulk(b)) => Some(b.as_ref()),
        Some(Frame::Simple(s)) => Some(s.as_bytes()),
        _ => None,
    };
    let text = |i: usize| word(i).map(|w| String::from_utf8_lossy(w).into_owned()).unwrap_or_default();
    let eq = |i: usize, w: &[u8]| word(i).is_some_and(|x| x.eq_ignore_ascii_case(w));
    if (eq(0, b"publish") && word(1) == Some(HELLO_CHANNEL) && items.len() == 3)
        || (eq(0, b"message") && word(1) == Some(HELLO_CHANNEL) && items.len() == 3)
    {
        // ip,port,runid,current_epoch,master_name,master_ip,master_port,master_config_epoch
        let hello = text(2);
        let f: Vec<&str> = hello.split(',').collect();
        let detail = match f.as_slice() {
            [ip, port, runid, epoch, name, ..] => {
                format!("{}:{} · {} · epoch {} · {}", ip, port, short(runid), epoch, name)
            }
            _ => hello.clone(),
        };
        return (MessageKind::Hello, detail);
    }
    if eq(0, b"sentinel") && eq(1, b"is-master-down-by-addr") && items.len() == 6 {
        let (ip, port, epoch, runid) = (text(2), text(3), text(4), text(5));
        return if runid == "*" {
            (MessageKind::DownQuery, format!("{}:{} down? · epoch {}", ip, port, epoch))
        } else {
            (MessageKind::VoteRequest, format!("{}:{} down? vote for {} · epoch {}", ip, port, short(&runid), epoch))
        };
    }
    if let [Frame::Integer(down), Frame::Bulk(leader), Frame::Integer(epoch)] = items.as_slice() {
        let down = if *down == 1 { "down" } else { "not down" };
        return if leader.as_ref() == b"*" {
            (MessageKind::DownReply, down.to_string())
        } else {
            let leader = String::from_utf8_lossy(leader);
            (MessageKind::Vote, format!("{} · voted {} · epoch {}", down, short(&leader), epoch))
        };
    }
    (MessageKind::Other, String::new())
}

/// A run id's first 8 characters, as the drawing shows run ids.
fn short(runid: &str) -> &str {
    runid.get(..8).unwrap_or(runid)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUNID: &str = "8f3c2a1b9d4e5f60718293a4b5c6d7e8f9012345";

    fn bulk(words: &[&str]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", words.len());
        for w in words {
            out.push_str(&format!("${}\r\n{}\r\n", w.len(), w));
        }
        out.into_bytes()
    }

    #[test]
    fn sentinel_messages_are_named_by_what_they_say() {
        let hello = format!("127.0.0.1,26379,{},1,mymaster,127.0.0.1,6379,0", RUNID);
        assert_eq!(
            classify(&bulk(&["PUBLISH", "__sentinel__:hello", &hello])),
            (MessageKind::Hello, "127.0.0.1:26379 · 8f3c2a1b · epoch 1 · mymaster".into())
        );
        assert_eq!(classify(&bulk(&["message", "__sentinel__:hello", &hello])).0, MessageKind::Hello);
        assert_eq!(
            classify(&bulk(&["SENTINEL", "is-master-down-by-addr", "127.0.0.1", "6379", "0", "*"])),
            (MessageKind::DownQuery, "127.0.0.1:6379 down? · epoch 0".into())
        );
        assert_eq!(
            classify(&bulk(&["SENTINEL", "is-master-down-by-addr", "127.0.0.1", "6379", "1", RUNID])),
            (MessageKind::VoteRequest, "127.0.0.1:6379 down? vote for 8f3c2a1b · epoch 1".into())
        );
        assert_eq!(classify(b"*3\r\n:1\r\n$1\r\n*\r\n:0\r\n"), (MessageKind::DownReply, "down".into()));
        let vote = format!("*3\r\n:1\r\n${}\r\n{}\r\n:1\r\n", RUNID.len(), RUNID);
        assert_eq!(classify(vote.as_bytes()), (MessageKind::Vote, "down · voted 8f3c2a1b · epoch 1".into()));
    }

    #[test]
    fn a_delivery_is_named_by_its_most_telling_frame_and_the_rest_is_other() {
        let mut both = b"*1\r\n$4\r\nPING\r\n".to_vec();
        both.extend(bulk(&["SENTINEL", "is-master-down-by-addr", "127.0.0.1", "6379", "0", "*"]));
        assert_eq!(classify(&both).0, MessageKind::DownQuery);
        for other in [
            &b"+PONG\r\n"[..],
            b"*1\r\n$4\r\nINFO\r\n",
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n",
            b"\x00\xff garbage",
            b"",
        ] {
            assert_eq!(classify(other).0, MessageKind::Other, "{:?}", other);
        }
    }
}
