//! Configuration shared by all layers: the [`Limits`] that bound every input, and the
//! `serve` configuration ([`gateway`]) with its reference ([`mod@reference`]).

pub mod gateway;
mod limits;
pub mod reference;
mod tls;

pub use limits::{
    HttpLimits, JoseLimits, JsonLimits, Limits, PipelineLimits, SandboxLimits, SchematronLimits,
    ServerLimits, XmlLimits, XsdLimits,
};
pub use tls::TlsFiles;
