//! Entry points for the fuzz targets in `fuzz/` (one target per function, each a few lines
//! there). Every entry takes the fuzzer's raw bytes and asserts properties — differential
//! (two paths that must agree), round trips, or a reference written from the rules — not only
//! "no panic". Structure-aware entries read their input with an `Input` cursor, so any byte
//! string is valid. The committed seeds (`fuzz/seeds/<target>/`) are written by
//! `seeds::write_fuzz_seeds` and every target runs over them in `cargo test`. Not a stable
//! API.

mod client;
mod console;
mod event_log;
mod fixtures;
mod http;
mod input;
mod jwe;
mod jwk;
mod metadata;
mod pack;
mod rules;
mod sandbox;
#[cfg(test)]
mod seeds;
mod server;
mod set;
mod submission;
mod transform;
mod xml;
mod xsd;

pub use client::client_response;
pub use console::console_forms;
pub use event_log::event_log;
pub use jwe::jwe_stream;
pub use jwk::jwk;
pub use metadata::metadata;
pub use pack::pack_zip;
pub use rules::schematron;
pub use sandbox::sandbox_http;
pub use server::{callback, server_http};
pub use set::set_verify;
pub use submission::check_submission;
pub use transform::transform_round_trip;
pub use xml::{json_fachdaten, root_sniff, validate_xbau, xml_reader};
pub use xsd::{xsd_compile, xsd_regex};

/// A target's entry point.
pub type Target = fn(&[u8]);

/// Every target by its name in `fuzz/Cargo.toml`.
pub const TARGETS: &[(&str, Target)] = &[
    ("xml_reader", xml_reader),
    ("root_sniff", root_sniff),
    ("validate_xbau", validate_xbau),
    ("jwe_stream", jwe_stream),
    ("metadata", metadata),
    ("set_verify", set_verify),
    ("event_log", event_log),
    ("jwk", jwk),
    ("callback", callback),
    ("server_http", server_http),
    ("sandbox_http", sandbox_http),
    ("client_response", client_response),
    ("xsd_compile", xsd_compile),
    ("xsd_regex", xsd_regex),
    ("transform", transform_round_trip),
    ("pack_zip", pack_zip),
    ("check_submission", check_submission),
    ("json_fachdaten", json_fachdaten),
    ("schematron", schematron),
    ("console_forms", console_forms),
];
