//! The one integration-test binary (`autotests = false`): one module per area.

mod xml_hostile;
