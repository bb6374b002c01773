//! XÖV standards: the registry of known standards and message types.
