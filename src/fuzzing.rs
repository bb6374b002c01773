//! Entry points for the fuzz targets in `fuzz/`. Each takes raw bytes and asserts properties.
//! Not a stable API.
