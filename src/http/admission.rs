//! Who gets a connection slot: the total and per-client limits, the probe slots beyond them,
//! and the counts the listener reports.
//!
//! Probe slots go to connections nobody can tell apart yet: a probe and an attacker look the
//! same until the request head arrives. So a full set of probe slots does not refuse a new
//! connection: it evicts the oldest one that has not sent its request head yet. A probe, which
//! sends its request at once, is then only lost if `probe_connections` newer connections
//! arrive within that instant; an attacker that holds probe slots by sending nothing merely
//! churns.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::config::HttpLimits;

/// A client as the per-client limit counts it: an IPv4 address, or an IPv6 /64 (one host
/// usually has a whole /64, so counting single IPv6 addresses would limit nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Client {
    V4([u8; 4]),
    V6Prefix([u8; 8]),
}

impl From<IpAddr> for Client {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4.octets()),
                None => {
                    let o = Ipv6Addr::octets(&v6);
                    let mut prefix = [0u8; 8];
                    prefix.copy_from_slice(&o[..8]);
                    Self::V6Prefix(prefix)
                }
            },
        }
    }
}

/// What a new connection gets.
#[derive(Debug)]
pub(super) enum Slot {
    /// A regular slot: all routes, keep-alive.
    Main(Ticket),
    /// A probe slot: one request with a short deadline, probes only; evictable until
    /// [`Ticket::started`].
    Probe(Ticket),
    /// Nothing: close at once.
    Refused,
}

#[derive(Debug, Default)]
struct Counts {
    main: usize,
    probe: usize,
    per_client: HashMap<Client, usize>,
    /// Probe-slot connections without a request head yet, oldest first: (id, eviction signal).
    waiting: VecDeque<(u64, Arc<Eviction>)>,
    next_id: u64,
}

/// Connection counts of a listener, for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListenerStats {
    /// Connections in regular slots now.
    pub open: u64,
    /// Connections in probe slots now.
    pub probing: u64,
    /// Connections given a probe slot since the start (over a limit).
    pub overflowed_total: u64,
    /// Probe-slot connections closed for a newer one since the start.
    pub evicted_total: u64,
    /// Connections closed at once since the start (over every limit, no probe slot to free).
    pub refused_total: u64,
}

/// The slot bookkeeping of one listener.
#[derive(Debug)]
pub(super) struct Admission {
    max: usize,
    per_client: usize,
    probes: usize,
    counts: Mutex<Counts>,
    overflowed: AtomicU64,
    evicted: AtomicU64,
    refused: AtomicU64,
}

impl Admission {
    pub(super) fn new(limits: &HttpLimits) -> Arc<Self> {
        Arc::new(Self {
            max: limits.max_connections.max(1),
            per_client: limits.max_connections_per_client.max(1),
            probes: limits.probe_connections,
            counts: Mutex::new(Counts::default()),
            overflowed: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        // Counters only: a panic elsewhere cannot leave them half-updated.
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Decides for a connection from `peer`.
    pub(super) fn admit(self: &Arc<Self>, peer: IpAddr) -> Slot {
        let client = Client::from(peer);
        let mut counts = self.lock();
        let mine = counts.per_client.get(&client).copied().unwrap_or(0);
        if counts.main < self.max && mine < self.per_client {
            counts.main += 1;
            *counts.per_client.entry(client).or_insert(0) += 1;
            return Slot::Main(Ticket {
                admission: Arc::clone(self),
                client: Some(client),
                waiting: None,
            });
        }
        if counts.probe >= self.probes {
            // Full: the oldest connection still silent makes room (its slot is counted free
            // now; its task ends at its next poll).
            let Some((_, evicted)) = counts.waiting.pop_front() else {
                self.refused.fetch_add(1, Ordering::Relaxed);
                return Slot::Refused;
            };
            evicted.done.store(true, Ordering::Release);
            evicted.notify.notify_one();
            self.evicted.fetch_add(1, Ordering::Relaxed);
            counts.probe -= 1;
        }
        counts.probe += 1;
        counts.next_id += 1;
        let id = counts.next_id;
        let eviction = Arc::new(Eviction::default());
        counts.waiting.push_back((id, Arc::clone(&eviction)));
        self.overflowed.fetch_add(1, Ordering::Relaxed);
        Slot::Probe(Ticket {
            admission: Arc::clone(self),
            client: None,
            waiting: Some((id, eviction)),
        })
    }

    pub(super) fn stats(&self) -> ListenerStats {
        let counts = self.lock();
        ListenerStats {
            open: counts.main as u64,
            probing: counts.probe as u64,
            overflowed_total: self.overflowed.load(Ordering::Relaxed),
            evicted_total: self.evicted.load(Ordering::Relaxed),
            refused_total: self.refused.load(Ordering::Relaxed),
        }
    }
}

/// The eviction signal of a probe-slot connection.
#[derive(Debug, Default)]
struct Eviction {
    notify: Notify,
    /// Set when the slot was handed to a newer connection (then it is no longer counted).
    done: AtomicBool,
}

/// A held slot; dropping it frees the slot.
#[derive(Debug)]
pub(super) struct Ticket {
    admission: Arc<Admission>,
    /// `Some` for a regular slot (counted per client), `None` for a probe slot.
    client: Option<Client>,
    /// A probe slot's place in the eviction queue and its eviction signal.
    waiting: Option<(u64, Arc<Eviction>)>,
}

impl Ticket {
    /// Resolves when the connection was evicted for a newer one (never for a regular slot).
    pub(super) async fn evicted(&self) {
        match &self.waiting {
            Some((_, eviction)) => eviction.notify.notified().await,
            None => std::future::pending().await,
        }
    }

    /// The request head arrived: the connection is no longer evictable.
    pub(super) fn started(&self) {
        if let Some((id, _)) = &self.waiting {
            self.admission.lock().waiting.retain(|(w, _)| w != id);
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut counts = self.admission.lock();
        match (self.client, &self.waiting) {
            (None, Some((id, eviction))) => {
                counts.waiting.retain(|(w, _)| w != id);
                // An evicted connection's slot was handed on when it was evicted.
                if !eviction.done.load(Ordering::Acquire) {
                    counts.probe -= 1;
                }
            }
            (None, None) => counts.probe -= 1,
            (Some(client), _) => {
                counts.main -= 1;
                if let Some(n) = counts.per_client.get_mut(&client) {
                    *n -= 1;
                    if *n == 0 {
                        counts.per_client.remove(&client);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: usize, per_client: usize, probes: usize) -> HttpLimits {
        HttpLimits {
            max_connections: max,
            max_connections_per_client: per_client,
            probe_connections: probes,
            ..HttpLimits::default()
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[tokio::test]
    async fn one_client_cannot_take_the_slots_of_others() {
        let a = Admission::new(&limits(4, 2, 1));
        let mut held = Vec::new();
        let mut mine = Vec::new();
        for _ in 0..2 {
            mine.push(a.admit(ip("10.0.0.1")));
        }
        assert!(mine.iter().all(|s| matches!(s, Slot::Main(_))));
        // The third from the same address gets the probe slot; the fourth too, evicting the
        // third (which sent no request head yet); once a probe has started, it stays and
        // the next is refused.
        let evicted = a.admit(ip("10.0.0.1"));
        let Slot::Probe(first) = &evicted else {
            panic!("probe slot")
        };
        let probe = a.admit(ip("10.0.0.1"));
        let Slot::Probe(second) = &probe else {
            panic!("probe slot")
        };
        tokio::time::timeout(std::time::Duration::from_secs(1), first.evicted())
            .await
            .expect("the older probe-slot connection is evicted");
        drop(evicted);
        second.started();
        assert!(matches!(a.admit(ip("10.0.0.1")), Slot::Refused));
        // Others still get regular slots, up to the total.
        held.push(a.admit(ip("10.0.0.2")));
        held.push(a.admit(ip("::ffff:10.0.0.3")));
        assert!(held.iter().all(|s| matches!(s, Slot::Main(_))));
        assert!(matches!(a.admit(ip("10.0.0.4")), Slot::Refused));
        assert_eq!(
            a.stats(),
            ListenerStats {
                open: 4,
                probing: 1,
                overflowed_total: 2,
                evicted_total: 1,
                refused_total: 2
            }
        );
        drop(probe);
        drop(held);
        assert_eq!(a.stats().open, 2);
        assert_eq!(a.stats().probing, 0);
        assert!(matches!(a.admit(ip("10.0.0.4")), Slot::Main(_)));
    }

    #[test]
    fn an_ipv6_client_is_its_64_prefix() {
        let a = Admission::new(&limits(10, 1, 0));
        let first = a.admit(ip("2001:db8:1:2::1"));
        assert!(matches!(first, Slot::Main(_)));
        assert!(matches!(a.admit(ip("2001:db8:1:2::ffff")), Slot::Refused));
        assert!(matches!(a.admit(ip("2001:db8:1:3::1")), Slot::Main(_)));
        // An IPv4-mapped address counts as the IPv4 address.
        let v4 = a.admit(ip("192.0.2.1"));
        assert!(matches!(v4, Slot::Main(_)));
        assert!(matches!(a.admit(ip("::ffff:192.0.2.1")), Slot::Refused));
    }
}
