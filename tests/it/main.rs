//! The one integration-test binary (`autotests = false`): one module per area.

mod sandbox_callbacks;
mod sandbox_flow;
mod sandbox_refusals;
mod sandbox_support;
mod xml_hostile;
