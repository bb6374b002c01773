//! The one integration-test binary (`autotests = false`): one module per area.
mod xsd_datatypes_bench;
mod xsd_datatypes_w3c;
