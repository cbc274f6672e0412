//! Where things sit on the topology drawing. A few nodes stand in a row with their clients
//! hanging under them and replication links arching over them, from each replica to its master;
//! many nodes (the drawing benchmark) stand on a circle; sentinels stand in a row below, each
//! with a dashed line up to the master it believes in. Pure geometry: the topology region
//! (`regions/topology.rs`) draws.

/// Half a node card's width and height (the card is 160 × 84).
pub const HALF_W: f64 = 80.0;
pub const HALF_H: f64 = 42.0;

pub struct Layout {
    pub width: f64,
    pub height: f64,
    /// Each node card's centre, in the view's node order.
    pub centres: Vec<(f64, f64)>,
    /// Horizontal room for one node's fan of clients.
    client_room: f64,
}

/// Where the row of sentinels stands below the servers, and its depth.
const SENTINEL_ROW_GAP: f64 = 230.0;

impl Layout {
    /// The layout for nodes of which `sentinel[i]` tells which are sentinels: the servers as
    /// [`Layout::servers`] places them, the sentinels in a row under them (each watches the
    /// master from below, its clients hanging under it). It depends on the counts only, so a
    /// failover moves links, not cards.
    pub fn new(sentinel: &[bool]) -> Layout {
        let servers = sentinel.iter().filter(|s| !**s).count();
        let sentinels = sentinel.len() - servers;
        let mut base = Layout::servers(servers);
        if sentinels == 0 {
            return base;
        }
        let row_y = base.centres.iter().map(|c| c.1).fold(150.0, f64::max) + SENTINEL_ROW_GAP;
        let width = base.width.max(220.0 * sentinels as f64);
        let step = width / sentinels as f64;
        let shift = (width - base.width) / 2.0;
        let mut server_centres = base.centres.iter().map(|(x, y)| (x + shift, *y));
        let mut k = 0;
        let centres = sentinel
            .iter()
            .map(|is_sentinel| {
                if *is_sentinel {
                    k += 1;
                    (step * (k as f64 - 0.5), row_y)
                } else {
                    server_centres.next().expect("one centre per server")
                }
            })
            .collect();
        base.centres = centres;
        base.width = width;
        base.height = row_y + 180.0;
        base.client_room = base.client_room.min(step);
        base
    }

    /// The layout for `n` servers.
    fn servers(n: usize) -> Layout {
        match n {
            0 | 1 => {
                Layout { width: 640.0, height: 420.0, centres: vec![(320.0, 150.0); n], client_room: f64::INFINITY }
            }
            2..=4 => {
                // Wide enough that an arc's label fits between two cards' fans of clients.
                let width = (220.0 * n as f64).max(640.0);
                let step = width / n as f64;
                let centres = (0..n).map(|i| (step * (i as f64 + 0.5), 240.0)).collect();
                Layout { width, height: 420.0, centres, client_room: step }
            }
            _ => {
                let centres = (0..n)
                    .map(|i| {
                        let a = std::f64::consts::TAU * i as f64 / n as f64 - std::f64::consts::FRAC_PI_2;
                        (320.0 + 200.0 * a.cos(), 170.0 + 110.0 * a.sin())
                    })
                    .collect();
                Layout { width: 640.0, height: 420.0, centres, client_room: f64::INFINITY }
            }
        }
    }

    pub fn view_box(&self) -> String {
        format!("0 0 {} {}", self.width, self.height)
    }

    /// How far apart two cards are: links that span more are drawn first, under shorter ones.
    pub fn span(&self, a: usize, b: usize) -> f64 {
        let ((ax, ay), (bx, by)) = (self.centres[a], self.centres[b]);
        ((ax - bx).powi(2) + (ay - by).powi(2)).sqrt()
    }

    /// The distance between neighbouring clients when `count` of them hang under one node.
    pub fn client_spacing(&self, count: usize) -> f64 {
        (self.client_room / count.max(1) as f64).min(110.0)
    }
}

/// A quadratic Bézier curve: how a replication link is drawn, and the path its messages travel.
pub struct Curve {
    pub from: (f64, f64),
    pub ctrl: (f64, f64),
    pub to: (f64, f64),
    /// Where the link's label goes (its text is centred there).
    pub label: (f64, f64),
}

impl Curve {
    /// The point a fraction `t` (0..=1) of the way from `from` to `to`.
    pub fn at(&self, t: f64) -> (f64, f64) {
        let t = t.clamp(0.0, 1.0);
        let u = 1.0 - t;
        let (a, b, c) = (u * u, 2.0 * u * t, t * t);
        (a * self.from.0 + b * self.ctrl.0 + c * self.to.0, a * self.from.1 + b * self.ctrl.1 + c * self.to.1)
    }

    /// The SVG path.
    pub fn d(&self) -> String {
        format!(
            "M {:.1} {:.1} Q {:.1} {:.1} {:.1} {:.1}",
            self.from.0, self.from.1, self.ctrl.0, self.ctrl.1, self.to.0, self.to.1
        )
    }

    /// An arrowhead at `to`, pointing the way the curve arrives.
    pub fn arrowhead(&self) -> String {
        let (dx, dy) = (self.to.0 - self.ctrl.0, self.to.1 - self.ctrl.1);
        let len = (dx * dx + dy * dy).sqrt().max(1e-6);
        let (ux, uy) = (dx / len, dy / len);
        let (bx, by) = (self.to.0 - ux * 11.0, self.to.1 - uy * 11.0);
        format!(
            "{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
            self.to.0,
            self.to.1,
            bx - uy * 5.5,
            by + ux * 5.5,
            bx + uy * 5.5,
            by - ux * 5.5
        )
    }
}

/// A replication link from a replica's card to its master's. Side by side, it arches over the
/// row, leaving and landing off-centre so that two links never share an arrowhead. Its height
/// is proportional to its span, and the further a replica, the closer to its master's centre
/// its link lands: so the links of one master's replicas nest, one over the other, and never
/// cross. Elsewhere (the circle) a link bends gently between the two cards' edges.
pub fn replication_curve(replica: (f64, f64), master: (f64, f64)) -> Curve {
    let (dx, dy) = (master.0 - replica.0, master.1 - replica.1);
    if dy.abs() < 1.0 {
        let side = if dx >= 0.0 { 1.0 } else { -1.0 };
        let inset = (60.0 - dx.abs() * 0.08).clamp(16.0, 48.0);
        let top = replica.1 - HALF_H;
        let from = (replica.0 + side * inset, top);
        let to = (master.0 - side * inset, top);
        let rise = ((to.0 - from.0).abs() * 0.3).min(165.0);
        let ctrl = ((from.0 + to.0) / 2.0, top - 2.0 * rise);
        let label = ((from.0 + to.0) / 2.0, top - rise - 7.0);
        return Curve { from, ctrl, to, label };
    }
    let from = card_edge(replica, master);
    let to = card_edge(master, replica);
    let (ex, ey) = (to.0 - from.0, to.1 - from.1);
    let mid = ((from.0 + to.0) / 2.0, (from.1 + to.1) / 2.0);
    let ctrl = (mid.0 + ey * 0.15, mid.1 - ex * 0.15);
    let apex = ((mid.0 + ctrl.0) / 2.0, (mid.1 + ctrl.1) / 2.0);
    Curve { from, ctrl, to, label: (apex.0, apex.1 - 7.0) }
}

/// A link to a master that is not one of the lab's nodes: a short arrow up from the replica.
pub fn dangling_curve(replica: (f64, f64)) -> Curve {
    let top = replica.1 - HALF_H;
    Curve {
        from: (replica.0, top),
        ctrl: (replica.0, top - 25.0),
        to: (replica.0, top - 50.0),
        label: (replica.0, top - 58.0),
    }
}

/// Where the segment from a card's centre towards `other` leaves the card.
fn card_edge(centre: (f64, f64), other: (f64, f64)) -> (f64, f64) {
    let (dx, dy) = (other.0 - centre.0, other.1 - centre.1);
    if dx == 0.0 && dy == 0.0 {
        return centre;
    }
    let s = (HALF_W / dx.abs()).min(HALF_H / dy.abs());
    (centre.0 + dx * s, centre.1 + dy * s)
}

/// A sentinel's line to the master it watches: from the top of its card to the bottom of the
/// master's, its label (the sentinel's opinion) near the sentinel.
pub fn monitor_line(sentinel: (f64, f64), master: Option<(f64, f64)>) -> ((f64, f64), (f64, f64), (f64, f64)) {
    // Off the cards' centre lines, where the clients' lines run.
    let from = (sentinel.0 + HALF_W * 0.55, sentinel.1 - HALF_H);
    let to = match master {
        Some(m) if m.1 < sentinel.1 => (m.0 + HALF_W * 0.55, m.1 + HALF_H),
        Some(m) => card_edge(m, sentinel),
        None => (from.0, from.1 - 60.0),
    };
    let label = (from.0 + (to.0 - from.0) * 0.12 + 6.0, from.1 + (to.1 - from.1) * 0.12);
    (from, to, label)
}

/// The arc a message travels between two cards that no link joins (two sentinels side by
/// side, a sentinel and a replica): edge to edge, bowed to the right of its direction, so a
/// question and its answer travel apart and a row of sentinels talks under its cards.
pub fn message_arc(from: (f64, f64), to: (f64, f64)) -> Curve {
    let (a, b) = (card_edge(from, to), card_edge(to, from));
    let (a, b) = if (from.1 - to.1).abs() < 1.0 {
        // Side by side: from the bottom edges, arching below the row.
        let bottom = from.1 + HALF_H;
        ((from.0, bottom), (to.0, bottom))
    } else {
        (a, b)
    };
    let (ex, ey) = (b.0 - a.0, b.1 - a.1);
    let mid = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
    let ctrl = (mid.0 - ey * 0.25, mid.1 + ex * 0.25);
    Curve { from: a, ctrl, to: b, label: ctrl }
}
