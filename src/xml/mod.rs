//! Bounded, hardened XML reader over quick-xml.
