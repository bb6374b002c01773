//! The one integration-test binary (`autotests = false`): one module per area.

mod fitconnect_client;
mod fitconnect_metadata;
mod fitconnect_set;
mod interop_python_fitconnect;
mod jose_cli;
mod jose_hostile;
mod jose_interop_josekit;
mod jose_interop_python;
mod jose_keys;
mod jose_vectors;
mod jose_x509;
mod sandbox_callbacks;
mod sandbox_flow;
mod sandbox_refusals;
mod sandbox_support;
mod send_e2e;
mod store_suite;
mod xml_hostile;
mod xoev_packs;
mod xoev_registry;
mod xoev_support;
mod xoev_xgewerbeanzeige;
mod xsd_datatypes_bench;
mod xsd_datatypes_w3c;
mod xsd_validator;
mod xsd_xbau;
