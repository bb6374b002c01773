//! `xs:base64Binary` payloads moved out of the JSON: each becomes an [`ExtractedBinary`] entry
//! and its decoded octets go to a [`BinarySink`], never into the JSON.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::Value as Json;

use super::writer::Node;

/// One binary payload taken out of the document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExtractedBinary {
    /// Document-unique id, `binary-1`, `binary-2`, … in document order; the JSON value of the
    /// element is `{"attachment": id, "size": …, "sha512": …}`.
    pub id: String,
    /// Decoded size in octets.
    pub size: u64,
    /// SHA-512 of the decoded octets, lowercase hex.
    pub sha512: String,
    /// Where it was: the element path (`/xbau:root/child/text`; names, no values).
    pub path: String,
}

impl ExtractedBinary {
    pub(crate) fn new(id: String, bytes: &[u8], path: String) -> Self {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, bytes);
        let mut sha512 = String::with_capacity(128);
        for b in digest.as_ref() {
            // Writing to a String cannot fail.
            let _ = write!(sha512, "{b:02x}");
        }
        Self {
            id,
            size: bytes.len() as u64,
            sha512,
            path,
        }
    }

    /// The JSON value that stands in the data for this payload.
    pub fn reference(&self) -> Json {
        self.reference_node().into_json()
    }

    /// [`ExtractedBinary::reference`], members in their documented order.
    pub(crate) fn reference_node(&self) -> Node {
        Node::Object(vec![
            (
                "attachment".into(),
                Node::Leaf(Json::String(self.id.clone())),
            ),
            ("size".into(), Node::Leaf(Json::from(self.size))),
            (
                "sha512".into(),
                Node::Leaf(Json::String(self.sha512.clone())),
            ),
        ])
    }
}

/// Receives the decoded payloads during the transform (e.g. writes them to the blob store).
pub trait BinarySink {
    /// One complete payload.
    fn put(&mut self, binary: &ExtractedBinary, bytes: &[u8]) -> std::io::Result<()>;
}

/// A sink that drops the octets (only the entries with size and hash are kept).
#[derive(Debug, Default, Clone, Copy)]
pub struct DiscardBinaries;

impl BinarySink for DiscardBinaries {
    fn put(&mut self, _: &ExtractedBinary, _: &[u8]) -> std::io::Result<()> {
        Ok(())
    }
}

/// A sink that keeps the octets in memory, by id (tests and small documents; `--to-xml`).
#[derive(Debug, Default, Clone)]
pub struct MemoryBinaries(pub HashMap<String, Vec<u8>>);

impl BinarySink for MemoryBinaries {
    fn put(&mut self, binary: &ExtractedBinary, bytes: &[u8]) -> std::io::Result<()> {
        self.0.insert(binary.id.clone(), bytes.to_vec());
        Ok(())
    }
}

/// Supplies the octets of a binary back for `--to-xml`.
pub trait BinarySource {
    /// The octets of the payload with this id.
    fn get(&self, id: &str) -> std::io::Result<Vec<u8>>;
}

impl BinarySource for MemoryBinaries {
    fn get(&self, id: &str) -> std::io::Result<Vec<u8>> {
        self.0.get(id).cloned().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, format!("no binary {id}"))
        })
    }
}

/// A directory of `<id>.bin` files (the CLI's `--binaries DIR`).
#[derive(Debug, Clone)]
pub struct DirBinaries(pub std::path::PathBuf);

impl DirBinaries {
    fn file(&self, id: &str) -> std::io::Result<std::path::PathBuf> {
        // Ids are ours (`binary-N`), but `--to-xml` reads them from a JSON file: refuse paths.
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "binary id is not of the form binary-N",
            ));
        }
        Ok(self.0.join(format!("{id}.bin")))
    }
}

impl BinarySink for DirBinaries {
    fn put(&mut self, binary: &ExtractedBinary, bytes: &[u8]) -> std::io::Result<()> {
        std::fs::write(self.file(&binary.id)?, bytes)
    }
}

impl BinarySource for DirBinaries {
    fn get(&self, id: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.file(id)?)
    }
}
