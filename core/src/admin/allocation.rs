//! `create`'s plan: which nodes become masters, which slots each serves, which master each
//! replica follows — redis-cli 7.0's allocation in `clusterManagerCommandCreate`, then its
//! anti-affinity optimizer (`clusterManagerOptimizeAntiAffinity`).
//!
//! ```text
//!   nodes by host:   A: a1 a2 a3   B: b1 b2 b3           masters = nodes / (replicas + 1)
//!   interleaved:     a1 b1 a2 b2 a3 b3                   (one per host in turn)
//!   masters:         a1 b1 a2                            the first `masters` of it
//!   slots:           16384 / masters each, the cursor rounded (0-5460, 5461-10922, 10923-16383)
//!   the rest:        b2 a3 b3  → rotated → a3 b3 b2      ("sometimes helps" the optimizer)
//!   replicas:        each master takes, in turn, the first free node on another host
//!                    (a1 ← b3, b1 ← a3, a2 ← b2); with none, the next one on its own host
//! ```
//!
//! Interleaving hosts spreads masters over machines; the replica rule keeps a replica off its
//! master's machine. The optimizer then scores the layout — 10000 for every replica on its
//! master's host, 1 for each replica sharing a host with another replica of the same master —
//! and swaps the masters of two random replicas up to 500 × nodes times, keeping a swap unless
//! it makes the score worse. On one host (every tutorial's 127.0.0.1) no layout is better: the
//! swaps only shuffle which replica follows which master, and redis-cli warns `Some slaves are
//! in the same host as their master`. The randomness is `rand()` in redis-cli, the manager's
//! seeded generator here.

use super::session::LogLevel;
use super::topology::{ManagedNode, SLOTS};
use crate::rng::SeededRng;

/// One line of what the allocation prints: plain (`printf`) or at a log level.
pub(crate) type Line = (Option<LogLevel>, String);

/// `CLUSTER_MANAGER_MASTERS_COUNT`.
pub(crate) fn masters_count(nodes: usize, replicas: usize) -> usize {
    nodes / (replicas + 1)
}

/// Decide masters, slots and replicas for `nodes` (in the order given on the command line);
/// marks every configured node dirty. Returns what redis-cli prints meanwhile.
pub(crate) fn allocate(nodes: &mut [ManagedNode], replicas: usize, rng: &mut SeededRng) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::new();
    let masters = masters_count(nodes.len(), replicas);
    debug_assert!(masters >= 1);
    // Group by host, in order of first appearance, and interleave.
    let mut hosts: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        match hosts.iter_mut().find(|(ip, _)| *ip == n.ip) {
            Some((_, list)) => list.push(i),
            None => hosts.push((n.ip.clone(), vec![i])),
        }
    }
    let mut interleaved = Vec::with_capacity(nodes.len());
    let mut round = 0;
    while interleaved.len() < nodes.len() {
        for (_, list) in &hosts {
            if let Some(&i) = list.get(round) {
                interleaved.push(i);
            }
        }
        round += 1;
    }
    let master_ids: Vec<usize> = interleaved[..masters].to_vec();
    let spare: Vec<usize> = interleaved[masters..].to_vec();

    // Slots: an f32 cursor, as redis-cli computes it (the rounding decides the boundaries).
    let per_node = SLOTS as f32 / masters as f32;
    let mut first: i64 = 0;
    let mut cursor: f32 = 0.0;
    for (i, &m) in master_ids.iter().enumerate() {
        let mut last = (cursor + per_node - 1.0).round() as i64;
        if last > SLOTS as i64 || i == masters - 1 {
            last = SLOTS as i64 - 1;
        }
        if last < first {
            last = first;
        }
        out.push((None, format!("Master[{}] -> Slots {} - {}\n", i, first, last)));
        let node = &mut nodes[m];
        node.reset_slots();
        for slot in first..=last {
            node.set_slot(slot as usize, true);
        }
        node.dirty = true;
        first = last + 1;
        cursor += per_node;
    }

    // The spare nodes, rotated left by one.
    let mut window: Vec<Option<usize>> = spare.iter().copied().map(Some).collect();
    if !window.is_empty() {
        window.rotate_left(1);
    }
    let mut start = 0; // the window's first index (redis-cli advances its pointer)
    let mut available = window.len();
    let mut assign_unused = false;
    loop {
        for &m in &master_ids {
            let mut assigned = 0;
            while assigned < replicas {
                if available == 0 {
                    break;
                }
                let mut found = None;
                let mut first_same_host = None;
                for (j, entry) in window.iter_mut().enumerate().skip(start) {
                    let Some(n) = *entry else { continue };
                    if nodes[n].ip != nodes[m].ip {
                        found = Some(n);
                        *entry = None;
                        break;
                    }
                    if first_same_host.is_none() {
                        first_same_host = Some(j);
                    }
                }
                let slave = match (found, first_same_host) {
                    (Some(n), _) => n,
                    (None, Some(j)) => {
                        start = j + 1;
                        window[j].expect("a node")
                    }
                    (None, None) => break,
                };
                assigned += 1;
                available -= 1;
                let master_name = nodes[m].name.clone();
                nodes[slave].replicate = master_name;
                nodes[slave].dirty = true;
                out.push((
                    None,
                    format!(
                        "Adding replica {}:{} to {}:{}\n",
                        nodes[slave].ip, nodes[slave].port, nodes[m].ip, nodes[m].port
                    ),
                ));
                if assign_unused {
                    break;
                }
            }
        }
        if !assign_unused && available > 0 {
            assign_unused = true;
            out.push((None, "Adding extra replicas...\n".into()));
            continue;
        }
        break;
    }
    optimize_anti_affinity(nodes, rng, &mut out);
    out
}

/// `clusterManagerGetAntiAffinityScore`: the score, and one offending replica per
/// master-and-host group that scored.
pub(crate) fn anti_affinity_score(nodes: &[ManagedNode]) -> (u64, Vec<usize>) {
    let mut score = 0;
    let mut offenders = Vec::new();
    let mut hosts: Vec<&str> = Vec::new();
    for n in nodes {
        if !hosts.contains(&n.ip.as_str()) {
            hosts.push(&n.ip);
        }
    }
    for ip in hosts {
        // Per master id: how many of its group (the master, its replicas) are on this host.
        let mut related: Vec<(&str, bool, u64)> = Vec::new(); // (master id, master here, replicas here)
        for n in nodes.iter().filter(|n| n.ip == ip) {
            let key = n.replicate.as_deref().unwrap_or(n.name());
            let entry = match related.iter().position(|(k, _, _)| *k == key) {
                Some(p) => &mut related[p],
                None => {
                    related.push((key, false, 0));
                    related.last_mut().expect("just pushed")
                }
            };
            if n.replicate.is_some() {
                entry.2 += 1;
            } else {
                entry.1 = true;
            }
        }
        for (key, master_here, replicas_here) in related {
            let len = replicas_here + master_here as u64;
            if len < 2 {
                continue;
            }
            score += if master_here { 10000 * (len - 1) } else { len };
            if let Some(o) = nodes.iter().position(|n| n.replicate.as_deref() == Some(key) && n.ip == ip) {
                offenders.push(o);
            }
        }
    }
    (score, offenders)
}

/// `clusterManagerOptimizeAntiAffinity`.
fn optimize_anti_affinity(nodes: &mut [ManagedNode], rng: &mut SeededRng, out: &mut Vec<Line>) {
    if anti_affinity_score(nodes).0 == 0 {
        return;
    }
    out.push((Some(LogLevel::Info), ">>> Trying to optimize slaves allocation for anti-affinity\n".into()));
    let mut maxiter = 500 * nodes.len();
    while maxiter > 0 {
        let (score, offenders) = anti_affinity_score(nodes);
        if score == 0 || offenders.is_empty() {
            break;
        }
        let first = offenders[rng.below(offenders.len())];
        let others: Vec<usize> = (0..nodes.len()).filter(|&i| i != first && nodes[i].replicate.is_some()).collect();
        if others.is_empty() {
            break;
        }
        let second = others[rng.below(others.len())];
        let (a, b) = (nodes[first].replicate.clone(), nodes[second].replicate.clone());
        nodes[first].replicate = b.clone();
        nodes[second].replicate = a.clone();
        nodes[first].dirty = true;
        nodes[second].dirty = true;
        if anti_affinity_score(nodes).0 > score {
            nodes[first].replicate = a;
            nodes[second].replicate = b;
        }
        maxiter -= 1;
    }
    let score = anti_affinity_score(nodes).0;
    out.push(if score == 0 {
        (Some(LogLevel::Success), "[OK] Perfect anti-affinity obtained!\n".into())
    } else if score >= 10000 {
        (Some(LogLevel::Warn), "[WARNING] Some slaves are in the same host as their master\n".into())
    } else {
        (Some(LogLevel::Warn), "[WARNING] Some slaves of the same master are in the same host\n".into())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(hosts: &[&str], per_host: usize) -> Vec<ManagedNode> {
        // Command-line order: host by host, as a user lists them.
        let mut v = Vec::new();
        for (h, ip) in hosts.iter().enumerate() {
            for p in 0..per_host {
                let mut n = ManagedNode::new(ip, 7000 + p as u16, 0);
                n.name = Some(format!("{:040}", h * 100 + p));
                v.push(n);
            }
        }
        v
    }

    fn slot_ranges(nodes: &[ManagedNode]) -> Vec<String> {
        nodes.iter().filter(|n| n.slots_count > 0).map(|n| super::super::topology::slots_string(&n.slots)).collect()
    }

    #[test]
    fn six_nodes_one_replica_is_the_tutorial_layout() {
        let mut v = nodes(&["127.0.0.1"], 6);
        let lines = allocate(&mut v, 1, &mut SeededRng::new(1));
        let text: String = lines.iter().map(|(_, l)| l.as_str()).collect();
        assert!(text.starts_with(
            "Master[0] -> Slots 0 - 5460\nMaster[1] -> Slots 5461 - 10922\nMaster[2] -> Slots 10923 - 16383\n\
             Adding replica 127.0.0.1:7004 to 127.0.0.1:7000\nAdding replica 127.0.0.1:7005 to 127.0.0.1:7001\n\
             Adding replica 127.0.0.1:7003 to 127.0.0.1:7002\n>>> Trying to optimize slaves allocation for anti-affinity\n"
        ));
        assert!(text.ends_with("[WARNING] Some slaves are in the same host as their master\n"));
        assert_eq!(slot_ranges(&v), vec!["[0-5460]", "[5461-10922]", "[10923-16383]"]);
        assert!(v[..3].iter().all(|n| n.replicate.is_none()) && v[3..].iter().all(|n| n.replicate.is_some()));
        // Every master keeps exactly one replica whatever the swaps did.
        for m in &v[..3] {
            assert_eq!(v.iter().filter(|n| n.replicate.as_deref() == m.name.as_deref()).count(), 1);
        }
    }

    #[test]
    fn masters_count_and_slot_split() {
        assert_eq!(masters_count(6, 1), 3);
        assert_eq!(masters_count(9, 2), 3);
        assert_eq!(masters_count(5, 1), 2);
        let mut v = nodes(&["127.0.0.1"], 4);
        allocate(&mut v, 0, &mut SeededRng::new(1));
        assert_eq!(slot_ranges(&v), vec!["[0-4095]", "[4096-8191]", "[8192-12287]", "[12288-16383]"]);
        let mut v = nodes(&["127.0.0.1"], 7);
        allocate(&mut v, 0, &mut SeededRng::new(1));
        let counts: Vec<i32> = v.iter().map(|n| n.slots_count).collect();
        assert_eq!(counts.iter().sum::<i32>(), 16384);
        assert_eq!(slot_ranges(&v)[0], "[0-2340]");
    }

    /// With hosts enough, no replica shares a host with its master or a sibling.
    #[test]
    fn anti_affinity_on_several_hosts() {
        for (hosts, per_host, replicas) in [
            (&["10.0.0.1", "10.0.0.2", "10.0.0.3"][..], 2, 1), // 6 nodes
            (&["10.0.0.1", "10.0.0.2", "10.0.0.3"][..], 3, 2), // 9 nodes
            (&["10.0.0.1", "10.0.0.2", "10.0.0.3"][..], 4, 3), // 12 nodes
            (&["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"][..], 3, 3), // 12 nodes
        ] {
            for seed in 0..5 {
                let mut v = nodes(hosts, per_host);
                let lines = allocate(&mut v, replicas, &mut SeededRng::new(seed));
                let masters: Vec<&ManagedNode> = v.iter().filter(|n| n.replicate.is_none()).collect();
                assert_eq!(masters.len(), v.len() / (replicas + 1));
                let mut master_hosts: Vec<&str> = masters.iter().map(|m| m.ip.as_str()).collect();
                master_hosts.sort();
                master_hosts.dedup();
                assert_eq!(master_hosts.len(), masters.len().min(hosts.len()), "masters spread over hosts");
                for m in &masters {
                    assert_eq!(v.iter().filter(|n| n.replicate == m.name).count(), replicas);
                }
                let (score, _) = anti_affinity_score(&v);
                if hosts.len() > replicas {
                    assert_eq!(score, 0, "{} nodes, {} replicas, seed {}: {:?}", v.len(), replicas, seed, lines);
                } else {
                    assert!(score < 10000, "no replica on its master's host");
                }
            }
        }
    }

    #[test]
    fn scores() {
        let mut v = nodes(&["a", "b"], 2); // a:7000 a:7001 b:7000 b:7001
        v[1].replicate = v[0].name.clone(); // a replica on its master's host
        v[3].replicate = v[2].name.clone();
        assert_eq!(anti_affinity_score(&v).0, 20000);
        assert_eq!(anti_affinity_score(&v).1, vec![1, 3]);
        v[1].replicate = v[2].name.clone();
        v[3].replicate = v[0].name.clone();
        assert_eq!(anti_affinity_score(&v).0, 0);
    }
}
