//! The one integration-test binary (`autotests = false`): one module per area.

mod xml_hostile;
mod xsd_datatypes_w3c;
mod xsd_validator;
mod xsd_xbau;
