//! poststelle — a hardened gateway for German e-government.
//!
//! It receives FIT-Connect submissions, decrypts and verifies them, validates their XÖV
//! payloads (XBau, XGewerbeanzeige, …) against the official XSD sets with its own streaming
//! XSD 1.0 engine, transforms them into documented JSON and hands them to the specialist
//! procedures. The layers (see `README.md` and the architecture notes) are:
//!
//! ```text
//! L4  main.rs → cli                          thin main; the commands
//! L4  app                                    composition root of the gateway (serve, demo)
//! L3  pipeline                               receive orchestration (async)
//! L3  forward                                outbox worker: routes, upstreams, retries
//! L3  vectors                                test-vector runner and generator
//! L3  console                                operator console: HTML pages on serve's listener
//!                                            (plugged into server by app)
//! L2  server                                 HTTP(S): callbacks, health, metrics, admin API
//! L2  http                                   the listener, body reading and replies server and
//!                                            sandbox share (imports only L0)
//! L2  sandbox                                local delivery service (hyper, SQLite)
//! L2  fitconnect::{client, sender}           Submission API client (reqwest), sender role
//! L2  store                                  durable state (SQLite / PostgreSQL)
//! L1  json, xml, xsd, xoev, fim, jose,       pure, sync, fuzzable; no I/O on payloads
//!     fitconnect, xpath, schematron          (fim: JSON Fachdaten schema packs; schematron:
//!                                            business rules, not yet in the pipeline)
//! L0  error, config (incl. Limits), private_file (writing secret files)
//! ```
//! A module imports only from lower layers.
#![forbid(unsafe_code)]

pub(crate) mod app;
pub mod backoff;
pub mod cli;
pub mod config;
pub mod console;
pub mod error;
pub mod fim;
pub mod fitconnect;
pub mod forward;
pub mod http;
pub mod jose;
pub mod json;
pub mod pipeline;
pub mod private_file;
pub mod reply;
pub mod sandbox;
pub mod schematron;
pub mod server;
pub mod store;
pub mod vectors;
pub mod xml;
pub mod xoev;
pub mod xpath;
pub mod xsd;

#[doc(hidden)]
pub mod fuzzing;

pub use config::Limits;
