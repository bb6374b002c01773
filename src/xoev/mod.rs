//! XÖV standards: the catalogue of known standards, the registry that identifies messages, and
//! the store of installed schema packs.
//!
//! `catalog`, `registry`, `root`, `xsd_summary`, `transform` (XML → JSON and back) and
//! `json_schema` (the JSON Schema of that JSON) are pure; `pack` and `pack_files` read and write the
//! operator's schema-pack directory and `embedded` writes out the project's own packs
//! (configuration-time I/O, never payloads).

pub mod catalog;
pub mod codelist;
pub mod embedded;
pub mod json_schema;
pub mod pack;
pub mod pack_files;
pub mod registry;
pub mod render;
pub mod root;
pub mod rules;
pub mod transform;
pub mod xsd_summary;
