//! The HTTP plumbing shared by the gateway's server ([`crate::server`]) and the sandbox
//! ([`crate::sandbox`]): the listener with its connection limits and timeouts, bounded body
//! reading, and the reply builders (JSON, `application/problem+json`, files). Base of layer L2:
//! it imports only L0 (`config`) and its crates (hyper, rustls), and knows no route.
//!
//! # Design note: starvation
//!
//! An attack run against the earlier listeners found one pool of 256 connections for all
//! routes, filled by silent sockets (10 s each) or slow bodies (30 s each); the accept loop
//! then stopped accepting, so a `/health` probe waited in the kernel backlog behind 1,200
//! silent connections and did not get an answer within 60 s. The rules now:
//!
//! 1. **The accept loop never waits for a slot.** Every connection is taken from the backlog at
//!    once and admitted or refused right there ([`HttpLimits`]): within `max_connections` and
//!    `max_connections_per_client` it is served; beyond either it gets one of
//!    `probe_connections` *probe slots* (TLS handshake and request head within
//!    `probe_timeout_ms`, one request, answered by [`Routes::probes`], which serves only
//!    `/health` and `/ready`). With those taken, the oldest probe-slot connection that has not
//!    sent its request head yet is evicted for the new one: a probe sends its request at once
//!    and keeps its slot, a silent attacker only churns. Only when every probe slot is busy
//!    with a request is a connection closed at once. A refused client learns it immediately
//!    instead of hanging.
//! 2. **A slot is expensive to hold.** The request head must arrive within `header_timeout_ms`
//!    (also the keep-alive idle time), a body at `min_body_bytes_per_sec` after
//!    `body_grace_ms` and within the route's own deadline ([`body::BodyLimits`]), the whole
//!    request within `request_timeout_ms`. Routes check what their headers allow before they
//!    read a body (the gateway's callback checks timestamp and MAC format first).
//! 3. **One address cannot take every slot**: `max_connections_per_client` per IPv4 address
//!    or IPv6 /64. Attackers from one address leave the slots of everybody else alone.
//! 4. **Probes that must survive any flood** use a listener of their own (`serve`'s
//!    `[server] probe_listen`, on an address attackers cannot reach). On the shared port a
//!    probe only loses when `probe_connections` newer connections arrive between its connect
//!    and its request head, or when attackers fill every probe slot with slow requests (the
//!    attack harness, `tests/it/attack_http.rs`, measures both ports).
//!
//! Measured (`tests/it/attack_http.rs`, debug build, loopback, 2 shared cores, 1,200 silent and
//! 300 slow connections reconnecting a second after each drop, 100 probes): `/health` p99
//! 12–53 ms on `serve`'s main port against one attacker address, 12–45 ms on its probe
//! listener, 23–35 ms on the probe listener against 40 attacker addresses that take every main
//! slot, 15–29 ms on the sandbox (before: 8.5 s under 300 slow connections, no answer within
//! 60 s under 1,200 silent ones). On the main port against 40 addresses 3–5 of 100 probes
//! failed: there only `probe_listen` gives a guarantee.

mod admission;
pub mod bearer;
pub mod body;
mod listener;
pub mod reply;
pub mod tls;

pub use crate::config::{HttpLimits, TlsFiles};
pub use admission::ListenerStats;
pub use bearer::bearer_token;
pub use body::{BodyError, BodyLimits, BodyReader};
pub(crate) use listener::serve_stream;
pub use listener::{Bound, Handler, Listener, ListenerConfig, Routes, handler};
pub use reply::{Body, Reply};
pub use tls::{Identity, TlsError, trust_roots};

use std::net::SocketAddr;

/// Why a listener could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListenError {
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The TLS certificate or key cannot be read or used.
    #[error("TLS: {0}")]
    Tls(String),
}
