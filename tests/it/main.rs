//! The one integration-test binary (`autotests = false`): one module per area.

mod xml_hostile;
mod sandbox_callbacks;
mod sandbox_flow;
mod sandbox_refusals;
mod sandbox_support;
