//! Where a new session goes: the media node with the most free room.

use super::wire::NodeStatus;

/// A node as placement sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// The node's name.
    pub node: &'a str,
    /// Participants it takes at most.
    pub capacity: u64,
    /// Its last reported load.
    pub status: NodeStatus,
    /// Participants placed on it by this control plane since that report.
    pub placed_since: u64,
}

impl Candidate<'_> {
    fn load(&self) -> u64 {
        self.status.participants + self.placed_since
    }

    fn free(&self) -> u64 {
        self.capacity.saturating_sub(self.load())
    }
}

/// The node for a new session: among the nodes that are not draining and have room
/// for one more participant, the one with the most free room; ties go to the node
/// with fewer rooms, then to the first name. `None`: no node has room.
pub fn choose<'a>(candidates: &[Candidate<'a>]) -> Option<&'a str> {
    candidates
        .iter()
        .filter(|c| !c.status.draining && c.free() > 0)
        .min_by(|a, b| {
            b.free()
                .cmp(&a.free())
                .then(a.status.rooms.cmp(&b.status.rooms))
                .then(a.node.cmp(b.node))
        })
        .map(|c| c.node)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, capacity: u64, participants: u64, rooms: u64) -> Candidate<'_> {
        Candidate {
            node: name,
            capacity,
            status: NodeStatus {
                rooms,
                participants,
                draining: false,
            },
            placed_since: 0,
        }
    }

    #[test]
    fn the_node_with_most_free_room_wins() {
        let nodes = [node("a", 100, 60, 6), node("b", 100, 20, 2)];
        assert_eq!(choose(&nodes), Some("b"));
        // A bigger node with the same load has more room.
        let nodes = [node("a", 300, 60, 6), node("b", 100, 20, 2)];
        assert_eq!(choose(&nodes), Some("a"));
    }

    #[test]
    fn ties_go_to_fewer_rooms_then_the_name() {
        let nodes = [node("b", 50, 10, 3), node("a", 50, 10, 1)];
        assert_eq!(choose(&nodes), Some("a"));
        let nodes = [node("b", 50, 10, 1), node("a", 50, 10, 1)];
        assert_eq!(choose(&nodes), Some("a"));
    }

    #[test]
    fn draining_and_full_nodes_take_nothing() {
        let mut draining = node("a", 100, 0, 0);
        draining.status.draining = true;
        let full = node("b", 10, 10, 1);
        assert_eq!(choose(&[draining.clone(), full.clone()]), None);
        assert_eq!(choose(&[draining, full, node("c", 10, 9, 1)]), Some("c"));
        assert_eq!(choose(&[]), None);
    }

    #[test]
    fn placements_since_the_last_report_count() {
        let mut a = node("a", 100, 10, 1);
        a.placed_since = 50;
        let b = node("b", 100, 30, 3);
        assert_eq!(choose(&[a, b]), Some("b"));
    }
}
