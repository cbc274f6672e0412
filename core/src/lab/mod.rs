//! The lab: everything that is not a Redis process.
//!
//! [`sim`] runs a deployment of real [`crate::node::Node`]s on a virtual network and clock;
//! [`observe`] reads one node's state — from its accessors in the simulator, from what it
//! answers (`INFO`, `ROLE`) and logs when it is a live process — into one typed
//! [`observe::NodeObservation`]; [`view`] builds what the web app draws from those
//! observations; [`lesson`] parses the tutorials' experiments and runs them.
//!
//! Nothing outside `lab` imports it: the node does not know it is being watched.

pub mod bridge;
pub mod lesson;
pub mod observe;
pub mod sim;
pub mod view;
