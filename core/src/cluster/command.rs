//! The cluster's commands — `CLUSTER …`, `ASKING`, `READONLY`, `READWRITE` — as a node that
//! is not in cluster mode answers them (`clusterCommand`, `askingCommand`, `readonlyCommand`,
//! `readwriteCommand` check `server.cluster_enabled` first). That answer is what tells
//! `redis-cli --cluster create` "[ERR] Node … is not configured as a cluster node.".
//!
//! Cluster mode itself (the node table behind these commands) is being built (issue 12).

use crate::command::{Ctx, Handler};
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] =
    &[("cluster", disabled), ("asking", disabled), ("readonly", disabled), ("readwrite", disabled)];

/// 7.0's reply from a node started without `cluster-enabled yes`.
pub const DISABLED: &str = "ERR This instance has cluster support disabled";

fn disabled(ctx: &mut Ctx, _args: &mut [Bytes]) {
    ctx.error(DISABLED);
}
