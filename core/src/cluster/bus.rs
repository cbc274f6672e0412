//! The cluster bus's wire format: Redis 7.0's binary `clusterMsg` (cluster.h), encoded and
//! decoded, and the framing a bus link reads it with (`clusterReadHandler`).
//!
//! Every message starts with the same 2256-byte header, all integers in network byte order:
//!
//! ```text
//!  offset  size  field
//!       0     4  sig            "RCmb" (Redis Cluster message bus)
//!       4     4  totlen         the whole message, header included
//!       8     2  ver            1
//!      10     2  port           the sender's client port (as announced)
//!      12     2  type           PING 0 PONG 1 MEET 2 FAIL 3 PUBLISH 4 AUTH_REQUEST 5
//!                               AUTH_ACK 6 UPDATE 7 MFSTART 8 MODULE 9 PUBLISHSHARD 10
//!      14     2  count          gossip entries (PING, PONG, MEET)
//!      16     8  currentEpoch   the sender's
//!      24     8  configEpoch    the sender's, or its master's if it is a replica
//!      32     8  offset         replication offset (a master's, or what a replica processed)
//!      40    40  sender         node id
//!      80  2048  myslots        16384-bit bitmap of the slots it (or its master) serves
//!    2128    40  slaveof        its master's id, or 40 zero bytes
//!    2168    46  myip           cluster-announce-ip, or zeros: "use the socket's address"
//!    2214     2  extensions     number of ping extensions after the gossip
//!    2216    30  (reserved)
//!    2246     2  pport          plaintext port when the port is TLS (0 here)
//!    2248     2  cport          the sender's bus port
//!    2250     2  flags          the sender's node flags (master 1, slave 2, pfail 4, fail 8…)
//!    2252     1  state          the cluster as the sender sees it: 0 ok, 1 fail
//!    2253     3  mflags         PAUSED 1, FORCEACK 2, EXT_DATA 4 in mflags[0]
//!    2256        body
//! ```
//!
//! Bodies: PING/PONG/MEET carry `count` 104-byte gossip entries about other nodes, then
//! (when `mflags[0]` has EXT_DATA) `extensions` ping extensions, each `length u32` (header
//! included), `type u16, unused u16` and its data padded to 8 bytes (7.0 sends one: the hostname, type 0). FAIL
//! names the failing node (40 bytes); PUBLISH is `channel_len u32, message_len u32` and the
//! bytes; UPDATE is `configEpoch u64, nodename, slots[2048]`; MODULE is `module_id u64, len
//! u32, type u8` and the payload; AUTH_REQUEST, AUTH_ACK and MFSTART are the header alone.
//!
//! A receiver checks the message as 7.0's `clusterProcessPacket` does: a message whose length
//! is not the one its type and counts imply is logged ("Received invalid … packet of length
//! … but expected length …") and dropped, the link staying up; a message of another version
//! is dropped silently; but a link whose first 8 bytes are not "RCmb" and a length of at
//! least a header is closed ("Bad message length or signature received from Cluster bus.").

use super::slots::SlotBitmap;
use super::{NodeName, NAME_LEN};
use bytes::{BufMut, Bytes, BytesMut};

/// The signature every message starts with.
pub const SIGNATURE: &[u8; 4] = b"RCmb";
/// `CLUSTER_PROTO_VER`.
pub const PROTOCOL_VERSION: u16 = 1;
/// The header's size (`sizeof(clusterMsg) - sizeof(union clusterMsgData)`), which is also the
/// shortest message a link accepts (`CLUSTERMSG_MIN_LEN`).
pub const HEADER_LEN: usize = 2256;
/// One gossip entry (`clusterMsgDataGossip`).
pub const GOSSIP_LEN: usize = 104;
/// `NET_IP_STR_LEN`: the IP fields' size.
pub const IP_LEN: usize = 46;
/// The UPDATE body: configEpoch, node id, slot bitmap.
const UPDATE_LEN: usize = 8 + NAME_LEN + 2048;

/// `mflags[0]`: the master is paused for a manual failover.
pub const MFLAG0_PAUSED: u8 = 1 << 0;
/// `mflags[0]`: give the vote even if the master is up (manual failover).
pub const MFLAG0_FORCEACK: u8 = 1 << 1;
/// `mflags[0]`: ping extensions follow the gossip.
pub const MFLAG0_EXT_DATA: u8 = 1 << 2;

/// The ping extension carrying the sender's `cluster-announce-hostname`.
pub const EXT_HOSTNAME: u16 = 0;

/// A message's type (`CLUSTERMSG_TYPE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    Ping,
    Pong,
    Meet,
    Fail,
    Publish,
    FailoverAuthRequest,
    FailoverAuthAck,
    Update,
    MfStart,
    Module,
    PublishShard,
}

impl MessageType {
    /// All types, by number (`CLUSTERMSG_TYPE_COUNT` = 11).
    pub const ALL: [MessageType; 11] = [
        MessageType::Ping,
        MessageType::Pong,
        MessageType::Meet,
        MessageType::Fail,
        MessageType::Publish,
        MessageType::FailoverAuthRequest,
        MessageType::FailoverAuthAck,
        MessageType::Update,
        MessageType::MfStart,
        MessageType::Module,
        MessageType::PublishShard,
    ];

    pub fn code(self) -> u16 {
        Self::ALL.iter().position(|&t| t == self).unwrap() as u16
    }

    pub fn from_code(code: u16) -> Option<MessageType> {
        Self::ALL.get(code as usize).copied()
    }

    /// The name CLUSTER INFO's `cluster_stats_messages_<name>_sent` and the logs use
    /// (`clusterGetMessageTypeString`).
    pub fn name(self) -> &'static str {
        match self {
            MessageType::Ping => "ping",
            MessageType::Pong => "pong",
            MessageType::Meet => "meet",
            MessageType::Fail => "fail",
            MessageType::Publish => "publish",
            MessageType::PublishShard => "publishshard",
            MessageType::FailoverAuthRequest => "auth-req",
            MessageType::FailoverAuthAck => "auth-ack",
            MessageType::Update => "update",
            MessageType::MfStart => "mfstart",
            MessageType::Module => "module",
        }
    }
}

/// The header's fields but `sig`, `totlen`, `ver`, `count` and `extensions`, which the
/// encoder derives from the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The message's type code (kept as a number: an unknown type still has a header).
    pub type_code: u16,
    pub port: u16,
    pub current_epoch: u64,
    pub config_epoch: u64,
    pub offset: u64,
    pub sender: NodeName,
    pub myslots: SlotBitmap,
    /// The sender's master, if it is a replica.
    pub slaveof: Option<NodeName>,
    /// `cluster-announce-ip`, or empty: the receiver takes the address from the socket.
    pub myip: String,
    pub pport: u16,
    pub cport: u16,
    pub flags: u16,
    /// 0 ok, 1 fail.
    pub state: u8,
    pub mflags: [u8; 3],
}

impl Header {
    /// A header of `kind` from `sender`, every other field zero.
    pub fn new(kind: MessageType, sender: NodeName) -> Header {
        Header {
            type_code: kind.code(),
            port: 0,
            current_epoch: 0,
            config_epoch: 0,
            offset: 0,
            sender,
            myslots: SlotBitmap::default(),
            slaveof: None,
            myip: String::new(),
            pport: 0,
            cport: 0,
            flags: 0,
            state: 0,
            mflags: [0; 3],
        }
    }

    pub fn kind(&self) -> Option<MessageType> {
        MessageType::from_code(self.type_code)
    }
}

/// What a PING, PONG or MEET says about one other node (`clusterMsgDataGossip`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GossipEntry {
    pub name: NodeName,
    /// Seconds (the sender's `ping_sent / 1000`).
    pub ping_sent: u32,
    /// Seconds (the sender's `pong_received / 1000`).
    pub pong_received: u32,
    pub ip: String,
    pub port: u16,
    pub cport: u16,
    pub flags: u16,
    pub pport: u16,
}

/// A ping extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PingExt {
    /// The sender's `cluster-announce-hostname`.
    Hostname(String),
    /// A type 7.0 does not know: it logs "Received unknown extension type N" and goes on.
    Unknown { type_code: u16, data: Vec<u8> },
}

/// A message's body, by type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// PING, PONG, MEET.
    Gossip { entries: Vec<GossipEntry>, extensions: Vec<PingExt> },
    /// FAIL: the node the sender marked as failing.
    Fail { about: NodeName },
    /// PUBLISH, PUBLISHSHARD.
    Publish { channel: Bytes, message: Bytes },
    /// UPDATE: a node's slots under its config epoch.
    Update { config_epoch: u64, node: NodeName, slots: SlotBitmap },
    /// MODULE (accepted, delivered to no module).
    Module { module_id: u64, module_type: u8, payload: Bytes },
    /// FAILOVER_AUTH_REQUEST, FAILOVER_AUTH_ACK, MFSTART: the header says it all.
    Empty,
    /// A type this version does not know: 7.0 takes its length on trust and logs it.
    Unknown(Bytes),
}

/// One bus message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub header: Header,
    pub body: Body,
}

/// Why a complete frame was not processed (the link stays up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dropped {
    /// Shorter than 16 bytes, or another protocol version: dropped without a word.
    Silently,
    /// A length that does not fit the type: 7.0's warning line.
    Logged(String),
}

/// A link's receive side: bytes in, whole frames out (`clusterReadHandler`). It reads the
/// first 8 bytes, checks the signature and that the length is at least a header, then
/// collects exactly `totlen` bytes. The buffer grows with what arrives, never ahead of it.
#[derive(Debug, Default)]
pub struct FrameReader {
    buf: BytesMut,
}

/// The link must be closed: its bytes are not a cluster bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadFrame;

impl BadFrame {
    /// 7.0's warning.
    pub const LOG: &'static str = "Bad message length or signature received from Cluster bus.";
}

impl FrameReader {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole frame, if one is in; `Err` when the link must be closed.
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, BadFrame> {
        if self.buf.len() < 8 {
            return Ok(None);
        }
        let totlen = u32::from_be_bytes(self.buf[4..8].try_into().unwrap()) as usize;
        if &self.buf[..4] != SIGNATURE || totlen < HEADER_LEN {
            return Err(BadFrame);
        }
        if self.buf.len() < totlen {
            return Ok(None);
        }
        Ok(Some(self.buf.split_to(totlen).freeze()))
    }

    /// Bytes held (for the link's memory figure).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}
fn be64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().unwrap())
}
fn name_at(b: &[u8], at: usize) -> NodeName {
    b[at..at + NAME_LEN].try_into().unwrap()
}
/// A NUL-padded C string field.
fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}
fn put_cstr(out: &mut BytesMut, s: &str, size: usize) {
    let bytes = s.as_bytes();
    // Always NUL-terminated, as strncpy(…, size - 1) leaves it.
    let n = bytes.len().min(size - 1);
    out.put_slice(&bytes[..n]);
    out.put_bytes(0, size - n);
}
const fn align8(n: usize) -> usize {
    (n + 7) & !7
}

impl Message {
    /// Decode a whole frame (from [`FrameReader::next_frame`]), checking its length against its
    /// type as 7.0 does.
    pub fn decode(frame: &[u8]) -> Result<Message, Dropped> {
        let totlen = frame.len();
        if totlen < 16 {
            return Err(Dropped::Silently);
        }
        if be16(frame, 8) != PROTOCOL_VERSION {
            return Err(Dropped::Silently);
        }
        if totlen < HEADER_LEN {
            // A header-less frame cannot come from a FrameReader; treat it as 7.0 treats any
            // length that does not fit: not processed.
            return Err(Dropped::Silently);
        }
        let type_code = be16(frame, 12);
        let count = be16(frame, 14) as usize;
        let extensions = be16(frame, 2214) as usize;
        let mflags = [frame[2253], frame[2254], frame[2255]];
        let kind = MessageType::from_code(type_code);
        let type_name = kind.map_or("unknown", |k| k.name());
        let invalid = |expected: usize| {
            Dropped::Logged(format!(
                "Received invalid {} packet of length {} but expected length {}",
                type_name, totlen, expected
            ))
        };
        let body_bytes = &frame[HEADER_LEN..];
        let body = match kind {
            Some(MessageType::Ping | MessageType::Pong | MessageType::Meet) => {
                let mut expected = HEADER_LEN + GOSSIP_LEN * count;
                // Debian's 7.0.15 (a security fix over upstream's tag) refuses a count the
                // frame cannot hold before reading any extension.
                if expected > totlen {
                    return Err(Dropped::Logged(format!(
                        "Received invalid {} packet with gossip count {} that exceeds total packet length ({})",
                        type_name, count, totlen
                    )));
                }
                let mut exts = Vec::new();
                if mflags[0] & MFLAG0_EXT_DATA != 0 {
                    let mut at = expected;
                    for _ in 0..extensions {
                        // 7.0 reads the extension's length where it stands; past the end of
                        // the frame there is nothing to read, and the length cannot match.
                        if at + 8 > totlen {
                            return Err(invalid(at + 8));
                        }
                        let ext_len = be32(frame, at) as usize;
                        let ext_type = be16(frame, at + 4);
                        if !ext_len.is_multiple_of(8) {
                            return Err(Dropped::Logged(format!(
                                "Received a {} packet without proper padding ({} bytes)",
                                type_name, ext_len as i32
                            )));
                        }
                        if totlen - expected < ext_len {
                            return Err(Dropped::Logged(format!(
                                "Received invalid {} packet with extension data that exceeds total packet length ({})",
                                type_name, totlen
                            )));
                        }
                        if ext_len < 8 {
                            // A zero length would loop on the same extension forever in C;
                            // here it is a length that cannot be right.
                            return Err(invalid(expected + 8));
                        }
                        let data = &frame[at + 8..at + ext_len];
                        exts.push(match ext_type {
                            EXT_HOSTNAME => PingExt::Hostname(cstr(data)),
                            other => PingExt::Unknown { type_code: other, data: data.to_vec() },
                        });
                        expected += ext_len;
                        at += ext_len;
                    }
                }
                if totlen != expected {
                    return Err(invalid(expected));
                }
                let entries = (0..count)
                    .map(|i| {
                        let g = &body_bytes[i * GOSSIP_LEN..(i + 1) * GOSSIP_LEN];
                        GossipEntry {
                            name: name_at(g, 0),
                            ping_sent: be32(g, 40),
                            pong_received: be32(g, 44),
                            ip: cstr(&g[48..48 + IP_LEN]),
                            port: be16(g, 94),
                            cport: be16(g, 96),
                            flags: be16(g, 98),
                            pport: be16(g, 100),
                        }
                    })
                    .collect();
                Body::Gossip { entries, extensions: exts }
            }
            Some(MessageType::Fail) => {
                if totlen != HEADER_LEN + NAME_LEN {
                    return Err(invalid(HEADER_LEN + NAME_LEN));
                }
                Body::Fail { about: name_at(body_bytes, 0) }
            }
            Some(MessageType::Publish | MessageType::PublishShard) => {
                // The two lengths must be there to be read; a shorter frame cannot match.
                if body_bytes.len() < 8 {
                    return Err(invalid(HEADER_LEN + 8));
                }
                let channel_len = be32(body_bytes, 0) as usize;
                let message_len = be32(body_bytes, 4) as usize;
                // The sum in u64 (it cannot wrap to match), printed as 7.0's uint32 explen.
                let expected = HEADER_LEN as u64 + 8 + channel_len as u64 + message_len as u64;
                if totlen as u64 != expected {
                    return Err(invalid(expected as u32 as usize));
                }
                Body::Publish {
                    channel: Bytes::copy_from_slice(&body_bytes[8..8 + channel_len]),
                    message: Bytes::copy_from_slice(&body_bytes[8 + channel_len..]),
                }
            }
            Some(MessageType::FailoverAuthRequest | MessageType::FailoverAuthAck | MessageType::MfStart) => {
                if totlen != HEADER_LEN {
                    return Err(invalid(HEADER_LEN));
                }
                Body::Empty
            }
            Some(MessageType::Update) => {
                if totlen != HEADER_LEN + UPDATE_LEN {
                    return Err(invalid(HEADER_LEN + UPDATE_LEN));
                }
                let mut slots = SlotBitmap::default();
                slots.0.copy_from_slice(&body_bytes[8 + NAME_LEN..UPDATE_LEN]);
                Body::Update { config_epoch: be64(body_bytes, 0), node: name_at(body_bytes, 8), slots }
            }
            Some(MessageType::Module) => {
                if body_bytes.len() < 13 {
                    return Err(invalid(HEADER_LEN + 13));
                }
                let len = be32(body_bytes, 8) as u64;
                let expected = HEADER_LEN as u64 + 13 + len;
                if totlen as u64 != expected {
                    return Err(invalid(expected as u32 as usize));
                }
                Body::Module {
                    module_id: u64::from_ne_bytes(body_bytes[0..8].try_into().unwrap()),
                    module_type: body_bytes[12],
                    payload: Bytes::copy_from_slice(&body_bytes[13..]),
                }
            }
            None => Body::Unknown(Bytes::copy_from_slice(body_bytes)),
        };
        let mut myslots = SlotBitmap::default();
        myslots.0.copy_from_slice(&frame[80..2128]);
        let slaveof = name_at(frame, 2128);
        let header = Header {
            type_code,
            port: be16(frame, 10),
            current_epoch: be64(frame, 16),
            config_epoch: be64(frame, 24),
            offset: be64(frame, 32),
            sender: name_at(frame, 40),
            myslots,
            slaveof: if slaveof == [0; NAME_LEN] { None } else { Some(slaveof) },
            myip: cstr(&frame[2168..2168 + IP_LEN]),
            pport: be16(frame, 2246),
            cport: be16(frame, 2248),
            flags: be16(frame, 2250),
            state: frame[2252],
            mflags,
        };
        Ok(Message { header, body })
    }

    /// Encode the message as 7.0 sends it: `count`, `extensions`, EXT_DATA and `totlen`
    /// follow from the body.
    pub fn encode(&self) -> Bytes {
        let h = &self.header;
        let (count, ext_count, body) = self.encode_body();
        let totlen = HEADER_LEN + body.len();
        let mut out = BytesMut::with_capacity(totlen);
        out.put_slice(SIGNATURE);
        out.put_u32(totlen as u32);
        out.put_u16(PROTOCOL_VERSION);
        out.put_u16(h.port);
        out.put_u16(h.type_code);
        out.put_u16(count);
        out.put_u64(h.current_epoch);
        out.put_u64(h.config_epoch);
        out.put_u64(h.offset);
        out.put_slice(&h.sender);
        out.put_slice(&h.myslots.0[..]);
        out.put_slice(&h.slaveof.unwrap_or([0; NAME_LEN]));
        put_cstr(&mut out, &h.myip, IP_LEN);
        out.put_u16(ext_count);
        out.put_bytes(0, 30);
        out.put_u16(h.pport);
        out.put_u16(h.cport);
        out.put_u16(h.flags);
        out.put_u8(h.state);
        let mut mflags = h.mflags;
        if ext_count > 0 {
            mflags[0] |= MFLAG0_EXT_DATA;
        }
        out.put_slice(&mflags);
        debug_assert_eq!(out.len(), HEADER_LEN);
        out.put_slice(&body);
        out.freeze()
    }

    fn encode_body(&self) -> (u16, u16, BytesMut) {
        let mut out = BytesMut::new();
        match &self.body {
            Body::Gossip { entries, extensions } => {
                for g in entries {
                    out.put_slice(&g.name);
                    out.put_u32(g.ping_sent);
                    out.put_u32(g.pong_received);
                    put_cstr(&mut out, &g.ip, IP_LEN);
                    out.put_u16(g.port);
                    out.put_u16(g.cport);
                    out.put_u16(g.flags);
                    out.put_u16(g.pport);
                    out.put_u16(0);
                }
                for ext in extensions {
                    let (type_code, data): (u16, Vec<u8>) = match ext {
                        // NUL-terminated, padded to 8 (`writeHostnamePingExt`).
                        PingExt::Hostname(name) => {
                            let mut d = name.as_bytes().to_vec();
                            d.resize(align8(name.len() + 1), 0);
                            (EXT_HOSTNAME, d)
                        }
                        PingExt::Unknown { type_code, data } => {
                            let mut d = data.clone();
                            d.resize(align8(data.len()), 0);
                            (*type_code, d)
                        }
                    };
                    out.put_u32((8 + data.len()) as u32);
                    out.put_u16(type_code);
                    out.put_u16(0);
                    out.put_slice(&data);
                }
                (entries.len() as u16, extensions.len() as u16, out)
            }
            Body::Fail { about } => {
                out.put_slice(about);
                (0, 0, out)
            }
            Body::Publish { channel, message } => {
                out.put_u32(channel.len() as u32);
                out.put_u32(message.len() as u32);
                out.put_slice(channel);
                out.put_slice(message);
                (0, 0, out)
            }
            Body::Update { config_epoch, node, slots } => {
                out.put_u64(*config_epoch);
                out.put_slice(node);
                out.put_slice(&slots.0[..]);
                (0, 0, out)
            }
            Body::Module { module_id, module_type, payload } => {
                out.put_slice(&module_id.to_ne_bytes());
                out.put_u32(payload.len() as u32);
                out.put_u8(*module_type);
                out.put_slice(payload);
                (0, 0, out)
            }
            Body::Empty => (0, 0, out),
            Body::Unknown(bytes) => {
                out.put_slice(bytes);
                (0, 0, out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn name(c: u8) -> NodeName {
        [c; NAME_LEN]
    }

    fn ping() -> Message {
        let mut header = Header::new(MessageType::Ping, name(b'a'));
        header.port = 7000;
        header.cport = 17000;
        header.current_epoch = 6;
        header.config_epoch = 2;
        header.offset = 12345;
        header.flags = 1;
        header.slaveof = None;
        for s in 0..=5460 {
            header.myslots.insert(s);
        }
        let entry = GossipEntry {
            name: name(b'b'),
            ping_sent: 0,
            pong_received: 1_700_000_000,
            ip: "127.0.0.1".into(),
            port: 7001,
            cport: 17001,
            flags: 2,
            pport: 0,
        };
        Message {
            header,
            body: Body::Gossip { entries: vec![entry], extensions: vec![PingExt::Hostname("node-a".into())] },
        }
    }

    #[test]
    fn a_ping_is_its_header_gossip_and_padded_hostname() {
        let m = ping();
        let bytes = m.encode();
        // 2256 + one entry + the hostname extension (8 + "node-a\0" padded to 8).
        assert_eq!(bytes.len(), HEADER_LEN + GOSSIP_LEN + 16);
        assert_eq!(&bytes[..4], b"RCmb");
        assert_eq!(u32::from_be_bytes(bytes[4..8].try_into().unwrap()) as usize, bytes.len());
        assert_eq!(be16(&bytes, 14), 1, "count");
        assert_eq!(be16(&bytes, 2214), 1, "extensions");
        assert_eq!(bytes[2253] & MFLAG0_EXT_DATA, MFLAG0_EXT_DATA);
        assert_eq!(Message::decode(&bytes).unwrap(), {
            let mut m = m.clone();
            m.header.mflags[0] |= MFLAG0_EXT_DATA;
            m
        });
    }

    #[test]
    fn every_body_round_trips() {
        let mut slots = SlotBitmap::default();
        slots.insert(741);
        let bodies = [
            (MessageType::Fail, Body::Fail { about: name(b'c') }),
            (MessageType::Publish, Body::Publish { channel: Bytes::from("news"), message: Bytes::from("hello") }),
            (MessageType::Update, Body::Update { config_epoch: 9, node: name(b'd'), slots }),
            (MessageType::Module, Body::Module { module_id: 77, module_type: 3, payload: Bytes::from("xyz") }),
            (MessageType::FailoverAuthRequest, Body::Empty),
            (MessageType::FailoverAuthAck, Body::Empty),
            (MessageType::MfStart, Body::Empty),
        ];
        for (kind, body) in bodies {
            let m = Message { header: Header::new(kind, name(b'a')), body };
            let bytes = m.encode();
            assert_eq!(Message::decode(&bytes).unwrap(), m, "{:?}", kind);
        }
        assert_eq!(
            Message { header: Header::new(MessageType::Fail, name(b'a')), body: Body::Fail { about: name(b'c') } }
                .encode()
                .len(),
            2296
        );
    }

    #[test]
    fn wrong_lengths_are_logged_and_dropped() {
        let mut bytes = BytesMut::from(&ping().encode()[..]);
        // Claim two gossip entries while carrying one (and a hostname: 2376 bytes in all).
        bytes[14..16].copy_from_slice(&2u16.to_be_bytes());
        // Without the extension flag the length is checked against the gossip alone.
        bytes[2253] = 0;
        assert_eq!(
            Message::decode(&bytes),
            Err(Dropped::Logged(
                "Received invalid ping packet with gossip count 2 that exceeds total packet length (2376)".into()
            ))
        );
        // A count that fits, but a length that does not: no entries, 50 stray bytes.
        let mut stray = BytesMut::from(
            &Message {
                header: Header::new(MessageType::Pong, name(b'a')),
                body: Body::Gossip { entries: vec![], extensions: vec![] },
            }
            .encode()[..],
        );
        stray.extend_from_slice(&[0; 50]);
        assert_eq!(
            Message::decode(&stray),
            Err(Dropped::Logged("Received invalid pong packet of length 2306 but expected length 2256".into()))
        );
        let fail =
            Message { header: Header::new(MessageType::Fail, name(b'a')), body: Body::Fail { about: name(b'c') } };
        let short = &fail.encode()[..HEADER_LEN + 10];
        assert_eq!(
            Message::decode(short),
            Err(Dropped::Logged("Received invalid fail packet of length 2266 but expected length 2296".into()))
        );
        // Another version: silently.
        let mut v2 = BytesMut::from(&fail.encode()[..]);
        v2[8..10].copy_from_slice(&2u16.to_be_bytes());
        assert_eq!(Message::decode(&v2), Err(Dropped::Silently));
    }

    #[test]
    fn the_reader_frames_and_refuses_what_is_not_a_bus() {
        let a = ping().encode();
        let b = Message { header: Header::new(MessageType::FailoverAuthAck, name(b'z')), body: Body::Empty }.encode();
        let mut all = a.to_vec();
        all.extend_from_slice(&b);
        let mut r = FrameReader::default();
        // Byte by byte: frames come out whole, in order.
        let mut frames = Vec::new();
        for byte in &all {
            r.push(std::slice::from_ref(byte));
            while let Some(f) = r.next_frame().unwrap() {
                frames.push(f);
            }
        }
        assert_eq!(frames, vec![a.clone(), b]);
        assert_eq!(r.buffered(), 0);
        let mut bad = FrameReader::default();
        bad.push(b"*1\r\n$4\r\nPING\r\n");
        assert_eq!(bad.next_frame(), Err(BadFrame));
        let mut short = FrameReader::default();
        let mut s = a.to_vec();
        s[4..8].copy_from_slice(&100u32.to_be_bytes());
        short.push(&s);
        assert_eq!(short.next_frame(), Err(BadFrame));
    }

    proptest! {
        // Whatever a peer sends, the reader and the decoder answer without panicking, and a
        // frame's buffer never grows past what arrived.
        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..6000), split in 0usize..6000) {
            let mut r = FrameReader::default();
            let split = split.min(data.len());
            r.push(&data[..split]);
            let _ = r.next_frame();
            r.push(&data[split..]);
            prop_assert!(r.buffered() <= data.len());
            while let Ok(Some(f)) = r.next_frame() {
                let _ = Message::decode(&f);
            }
            let _ = Message::decode(&data);
        }

        // A valid header with garbage after it, and every length field fuzzed.
        #[test]
        fn fuzzed_fields_of_a_real_message(count in any::<u16>(), exts in any::<u16>(), flag in any::<u8>(), type_code in 0u16..12, tail in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut bytes = BytesMut::from(&ping().encode()[..]);
            bytes[12..14].copy_from_slice(&type_code.to_be_bytes());
            bytes[14..16].copy_from_slice(&count.to_be_bytes());
            bytes[2214..2216].copy_from_slice(&exts.to_be_bytes());
            bytes[2253] = flag;
            bytes.extend_from_slice(&tail);
            let len = bytes.len() as u32;
            bytes[4..8].copy_from_slice(&len.to_be_bytes());
            let _ = Message::decode(&bytes);
        }
    }
}
