//! Configuration shared by all layers: the [`Limits`] that bound every input.

mod limits;

pub use limits::{JoseLimits, Limits, XmlLimits, XsdLimits};
