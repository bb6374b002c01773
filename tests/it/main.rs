//! The one integration-test binary (`autotests = false`): one module per area.

mod xml_hostile;
mod xoev_packs;
mod xoev_registry;
mod xoev_support;
mod xoev_xgewerbeanzeige;
mod xsd_datatypes_w3c;
mod xsd_xbau;
