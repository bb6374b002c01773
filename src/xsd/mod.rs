//! The XSD 1.0 engine: offline catalog → schema documents → compiled, immutable `Grammar` →
//! streaming validator.
pub mod datatypes;
pub mod facets;
pub mod regex;
pub mod simple;
