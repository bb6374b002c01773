//! The one integration-test binary (`autotests = false`): one module per area.

mod store_suite;
mod xml_hostile;
