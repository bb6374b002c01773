//! FIT-Connect protocol primitives: types, metadata, SETs, problems, callbacks.
