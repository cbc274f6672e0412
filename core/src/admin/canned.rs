//! Test support: drive a [`Manager`] against scripted nodes (a closure per address answering
//! each request), with no sockets.
