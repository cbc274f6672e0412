//! Redis Cluster, the parts a cluster node is made of (Redis 7.0's `cluster.c`).
//!
//! A cluster splits the keyspace into 16384 *hash slots* ([`slots`]): a key's slot is the CRC16
//! of the key (or of its `{hash tag}`) modulo 16384, and every slot is served by one master.
//! The nodes tell each other who serves what over the *cluster bus* ([`bus`]): a second TCP
//! port (client port + 10000 unless `cluster-port` says otherwise) on which every message is
//! a binary `clusterMsg` — a 2256-byte header carrying the sender's id, epochs, replication
//! offset and its whole 16384-bit slot bitmap, then a type-specific body (the gossip entries
//! of PING/PONG/MEET, the node a FAIL is about, a PUBLISH's channel and message, an UPDATE's
//! slot bitmap). Each node keeps its view of the cluster in `nodes.conf` ([`nodes_conf`]):
//! the same lines `CLUSTER NODES` prints, plus `vars currentEpoch … lastVoteEpoch …`.
//!
//! Being built (issue 12). What is here is the vocabulary the node will speak — slots, the
//! bus codec, the node table's file — each checked against a real redis-server 7.0; the node
//! table's state machine (gossip, PFAIL/FAIL, elections, migration) comes next, driven
//! through the node's `handle`/`poll` with bus links as one more connection range
//! ([`crate::net`]).

pub mod bus;
pub mod command;
pub mod nodes_conf;
pub mod slots;

/// The number of hash slots (`CLUSTER_SLOTS`).
pub const SLOTS: usize = 16384;

/// The length of a node id (`CLUSTER_NAMELEN`): 40 hex characters.
pub const NAME_LEN: usize = 40;

/// A node id: 40 lowercase hex characters, as `getRandomHexChars` makes them.
pub type NodeName = [u8; NAME_LEN];
