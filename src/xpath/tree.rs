//! The document tree XPath evaluates over: one array of nodes in document order.
//!
//! Every node (element, attribute, text) is a [`NodeId`], its index in that array, so document
//! order is integer order and a subtree is a contiguous range: the descendant axis is a scan,
//! `<<`/`>>` are integer comparisons, sorting a node set is sorting integers. An element's
//! attributes follow it directly, before its children (the XPath document order). Names are
//! interned per document; strings (text and attribute values) live in one buffer.
//!
//! The tree is built from [`crate::xml::BoundedReader`] events only — there is no
//! second XML parser — so every reader limit applies; the tree adds its own bound on the number
//! of nodes ([`TreeLimits`]). Comments and processing instructions are not delivered by the
//! reader and are therefore not in the tree (`comment()` and `processing-instruction()` match
//! nothing).

use std::collections::HashMap;

/// Interning maps, hashed with foldhash: element names are hashed once per element start, and
/// SipHash plus a key allocation per lookup made interning the largest cost of building a tree
/// (benches/rules).
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// One interned name under its local name: (namespace id, prefix as written, name id).
type Interned = (u32, Box<str>, u32);
use std::io::BufRead;

use crate::config::XmlLimits;
use crate::xml::{BoundedReader, Event, Pos, StartTag, XmlError};

/// Index of a node in its [`Tree`]; document order is integer order.
pub type NodeId = u32;

/// The document node is always node 0.
pub const DOCUMENT: NodeId = 0;

/// No parent (the document node).
const NONE: u32 = u32::MAX;

/// The kinds of node the tree holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// The document node (node 0).
    Document,
    /// An element.
    Element,
    /// An attribute (namespace declarations are not attributes).
    Attribute,
    /// A run of character data.
    Text,
}

#[derive(Debug, Clone, Copy)]
struct NodeRec {
    kind: NodeKind,
    parent: u32,
    /// Elements and the document: one past the last node of the subtree. Others: self + 1.
    end: u32,
    /// Elements: index of the first child (after the attributes). Others: unused.
    children: u32,
    /// Elements and attributes: interned name.
    name: u32,
    /// Text and attributes: range in the string buffer.
    text: (u32, u32),
    line: u32,
    column: u32,
}

/// An interned name as written: expanded name plus the prefix of this occurrence.
#[derive(Debug, Clone)]
struct NameRec {
    expanded: u32,
    ns: u32,
    local: Box<str>,
    prefix: Box<str>,
}

/// Bounds on a tree built from untrusted input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeLimits {
    /// Nodes (elements, attributes, text runs) of one document.
    pub max_nodes: usize,
}

/// Why a tree could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TreeError {
    /// The XML reader refused the document.
    #[error(transparent)]
    Xml(#[from] XmlError),
    /// More nodes than [`TreeLimits::max_nodes`].
    #[error("the document has more than {0} nodes (limit max_nodes)")]
    TooManyNodes(usize),
    /// More than 4 GiB of character data (the tree addresses its strings with 32 bits).
    #[error("the document holds more than 4 GiB of character data")]
    TooMuchText,
}

/// A parsed document (see the module documentation).
#[derive(Debug, Clone)]
pub struct Tree {
    nodes: Vec<NodeRec>,
    strings: String,
    names: Vec<NameRec>,
    ns_uris: Vec<Box<str>>,
    /// Local name → the interned names with it: (namespace id, prefix, name id). Looked up by
    /// `&str` (no allocation per element); the lists are short (one per namespace/prefix).
    by_local: FastMap<Box<str>, Vec<Interned>>,
    ns_ids: FastMap<Box<str>, u32>,
    /// The namespace id of the last interned name (most elements share it).
    last_ns: u32,
    expanded_count: u32,
}

impl Tree {
    /// Parses a document held in memory.
    ///
    /// # Errors
    /// The reader's error (not well-formed, over an XML limit) or a tree limit.
    pub fn parse(input: &[u8], xml: &XmlLimits, limits: TreeLimits) -> Result<Tree, TreeError> {
        Self::parse_reader(input, xml, limits)
    }

    /// Parses a document from a reader (use a `BufReader` for files).
    ///
    /// # Errors
    /// See [`Tree::parse`].
    pub fn parse_reader<R: BufRead>(
        input: R,
        xml: &XmlLimits,
        limits: TreeLimits,
    ) -> Result<Tree, TreeError> {
        let mut reader = BoundedReader::new(input, xml);
        let mut builder = TreeBuilder::new(limits);
        loop {
            // The event's borrow ends here; tag and text are then borrowed immutably beside
            // the position (as the XSD driver does).
            let kind = match reader.next_event()? {
                Event::Start(_) => 0,
                Event::Text(_) => 1,
                Event::End => 2,
                Event::Eof => 3,
            };
            let pos = reader.position();
            match kind {
                0 => {
                    if let Some(tag) = reader.start_tag() {
                        builder.start_tag(&tag, pos)?;
                    }
                }
                1 => {
                    if let Some(t) = reader.text() {
                        builder.text(t, pos)?;
                    }
                }
                2 => builder.end(),
                _ => return Ok(builder.finish()),
            }
        }
    }

    /// Number of nodes (document node included).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the tree holds only the document node.
    pub fn is_empty(&self) -> bool {
        self.nodes.len() <= 1
    }

    fn rec(&self, n: NodeId) -> &NodeRec {
        &self.nodes[n as usize]
    }

    /// The kind of a node.
    pub fn kind(&self, n: NodeId) -> NodeKind {
        self.rec(n).kind
    }

    /// The parent (`None` for the document node).
    pub fn parent(&self, n: NodeId) -> Option<NodeId> {
        let p = self.rec(n).parent;
        (p != NONE).then_some(p)
    }

    /// One past the last node of the subtree of `n` (attributes of `n` included).
    pub fn subtree_end(&self, n: NodeId) -> NodeId {
        self.rec(n).end
    }

    /// The first child position of an element or the document (after the attributes).
    pub fn children_start(&self, n: NodeId) -> NodeId {
        let r = self.rec(n);
        match r.kind {
            NodeKind::Element => r.children,
            NodeKind::Document => 1,
            _ => r.end,
        }
    }

    /// The children of `n` in document order (attributes are not children).
    pub fn children(&self, n: NodeId) -> Children<'_> {
        Children {
            tree: self,
            next: self.children_start(n),
            end: self.rec(n).end,
        }
    }

    /// The attributes of an element.
    pub fn attributes(&self, n: NodeId) -> std::ops::Range<NodeId> {
        let r = self.rec(n);
        if r.kind == NodeKind::Element {
            n + 1..r.children
        } else {
            n..n
        }
    }

    /// The root element, if the document has one.
    pub fn root_element(&self) -> Option<NodeId> {
        self.children(DOCUMENT)
            .find(|&c| self.kind(c) == NodeKind::Element)
    }

    /// The expanded-name id of an element or attribute (`None` for other nodes). Two nodes have
    /// the same expanded name iff their ids are equal.
    pub fn expanded_name(&self, n: NodeId) -> Option<u32> {
        let r = self.rec(n);
        matches!(r.kind, NodeKind::Element | NodeKind::Attribute)
            .then(|| self.names[r.name as usize].expanded)
    }

    /// The expanded-name id of `{ns}local` in this document, if any node has it.
    pub fn lookup_expanded(&self, ns: &str, local: &str) -> Option<u32> {
        let ns_id = *self.ns_ids.get(ns)?;
        let &(_, _, name) = self.by_local.get(local)?.iter().find(|e| e.0 == ns_id)?;
        Some(self.names[name as usize].expanded)
    }

    /// Namespace URI of an element or attribute ("" for none and for other nodes).
    pub fn namespace(&self, n: NodeId) -> &str {
        let r = self.rec(n);
        match r.kind {
            NodeKind::Element | NodeKind::Attribute => {
                &self.ns_uris[self.names[r.name as usize].ns as usize]
            }
            _ => "",
        }
    }

    /// Local name of an element or attribute ("" for other nodes).
    pub fn local_name(&self, n: NodeId) -> &str {
        let r = self.rec(n);
        match r.kind {
            NodeKind::Element | NodeKind::Attribute => &self.names[r.name as usize].local,
            _ => "",
        }
    }

    /// Prefix as written ("" for none and for other nodes).
    pub fn prefix(&self, n: NodeId) -> &str {
        let r = self.rec(n);
        match r.kind {
            NodeKind::Element | NodeKind::Attribute => &self.names[r.name as usize].prefix,
            _ => "",
        }
    }

    /// The own text of a text node or the value of an attribute ("" for other nodes).
    pub fn own_text(&self, n: NodeId) -> &str {
        let r = self.rec(n);
        match r.kind {
            NodeKind::Text | NodeKind::Attribute => {
                &self.strings[r.text.0 as usize..r.text.1 as usize]
            }
            _ => "",
        }
    }

    /// The XPath string value: the text of a text or attribute node; the concatenated text of
    /// every descendant text node for elements and the document.
    pub fn string_value(&self, n: NodeId) -> String {
        let r = self.rec(n);
        match r.kind {
            NodeKind::Text | NodeKind::Attribute => self.own_text(n).to_owned(),
            NodeKind::Element | NodeKind::Document => {
                let mut out = String::new();
                self.for_each_text(n, |t| out.push_str(t));
                out
            }
        }
    }

    /// Calls `f` with every descendant text run of `n` in document order.
    pub fn for_each_text(&self, n: NodeId, mut f: impl FnMut(&str)) {
        let r = self.rec(n);
        match r.kind {
            NodeKind::Text | NodeKind::Attribute => f(self.own_text(n)),
            NodeKind::Element | NodeKind::Document => {
                for i in self.children_start(n)..r.end {
                    if self.nodes[i as usize].kind == NodeKind::Text {
                        f(self.own_text(i));
                    }
                }
            }
        }
    }

    /// Line and column where the node begins (its start tag, its text; attributes: the start
    /// tag of their element). The document node is at 1:1.
    pub fn position(&self, n: NodeId) -> Pos {
        let r = self.rec(n);
        Pos {
            line: u64::from(r.line),
            column: u64::from(r.column),
        }
    }

    /// A location path of the node without instance values:
    /// `/Q{ns}root[1]/Q{}child[2]/@Q{}attr` style but with prefixes as written
    /// (`/xbau:antrag[1]/nachrichtenkopf.g2g[1]`), the form findings carry.
    pub fn path(&self, n: NodeId) -> String {
        let mut steps = Vec::new();
        let mut cur = n;
        while let Some(parent) = self.parent(cur) {
            let step = match self.kind(cur) {
                NodeKind::Element => {
                    let name = self.qualified_name(cur);
                    let expanded = self.expanded_name(cur);
                    let index = 1 + self
                        .children(parent)
                        .take_while(|&c| c != cur)
                        .filter(|&c| self.expanded_name(c) == expanded)
                        .count();
                    format!("{name}[{index}]")
                }
                NodeKind::Attribute => format!("@{}", self.qualified_name(cur)),
                NodeKind::Text => {
                    let index = 1 + self
                        .children(parent)
                        .take_while(|&c| c != cur)
                        .filter(|&c| self.kind(c) == NodeKind::Text)
                        .count();
                    format!("text()[{index}]")
                }
                NodeKind::Document => String::new(),
            };
            steps.push(step);
            cur = parent;
        }
        if steps.is_empty() {
            return "/".to_owned();
        }
        steps.reverse();
        let mut out = String::new();
        for s in steps {
            out.push('/');
            out.push_str(&s);
        }
        out
    }

    /// `prefix:local` (or `local`) as written.
    pub fn qualified_name(&self, n: NodeId) -> String {
        let prefix = self.prefix(n);
        if prefix.is_empty() {
            self.local_name(n).to_owned()
        } else {
            format!("{prefix}:{}", self.local_name(n))
        }
    }

    /// All element ids in document order.
    pub fn elements(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.nodes.len() as u32).filter(|&i| self.nodes[i as usize].kind == NodeKind::Element)
    }
}

/// Iterator over the children of a node.
#[derive(Debug, Clone)]
pub struct Children<'t> {
    tree: &'t Tree,
    next: NodeId,
    end: NodeId,
}

impl Iterator for Children<'_> {
    type Item = NodeId;

    fn next(&mut self) -> Option<NodeId> {
        if self.next >= self.end {
            return None;
        }
        let n = self.next;
        self.next = self.tree.rec(n).end;
        Some(n)
    }
}

/// Builds a [`Tree`] from events in document order (the reader's, or another source's).
#[derive(Debug)]
pub struct TreeBuilder {
    tree: Tree,
    open: Vec<u32>,
    limits: TreeLimits,
}

impl TreeBuilder {
    /// An empty document.
    pub fn new(limits: TreeLimits) -> Self {
        let mut tree = Tree {
            nodes: Vec::new(),
            strings: String::new(),
            names: Vec::new(),
            ns_uris: Vec::new(),
            by_local: FastMap::default(),
            ns_ids: FastMap::default(),
            last_ns: 0,
            expanded_count: 0,
        };
        tree.nodes.push(NodeRec {
            kind: NodeKind::Document,
            parent: NONE,
            end: 1,
            children: 1,
            name: 0,
            text: (0, 0),
            line: 1,
            column: 1,
        });
        tree.ns_uris.push("".into());
        tree.ns_ids.insert("".into(), 0);
        Self {
            tree,
            open: vec![DOCUMENT],
            limits,
        }
    }

    fn intern(&mut self, ns: &str, local: &str, prefix: &str) -> u32 {
        let t = &mut self.tree;
        let ns_id = if *t.ns_uris[t.last_ns as usize] == *ns {
            t.last_ns
        } else if let Some(&id) = t.ns_ids.get(ns) {
            id
        } else {
            let id = t.ns_uris.len() as u32;
            t.ns_uris.push(ns.into());
            t.ns_ids.insert(ns.into(), id);
            id
        };
        t.last_ns = ns_id;
        let mut expanded = None;
        if let Some(list) = t.by_local.get(local) {
            for &(n, ref p, name) in list {
                if n == ns_id {
                    if **p == *prefix {
                        return name;
                    }
                    expanded = Some(t.names[name as usize].expanded);
                }
            }
        }
        let expanded = expanded.unwrap_or_else(|| {
            t.expanded_count += 1;
            t.expanded_count - 1
        });
        let id = t.names.len() as u32;
        t.names.push(NameRec {
            expanded,
            ns: ns_id,
            local: local.into(),
            prefix: prefix.into(),
        });
        t.by_local
            .entry(local.into())
            .or_default()
            .push((ns_id, prefix.into(), id));
        id
    }

    fn push(&mut self, rec: NodeRec) -> Result<u32, TreeError> {
        if self.tree.nodes.len() >= self.limits.max_nodes {
            return Err(TreeError::TooManyNodes(self.limits.max_nodes));
        }
        let id = self.tree.nodes.len() as u32;
        self.tree.nodes.push(rec);
        Ok(id)
    }

    fn store(&mut self, s: &str) -> Result<(u32, u32), TreeError> {
        let start = self.tree.strings.len();
        let end = start + s.len();
        let (Ok(a), Ok(b)) = (u32::try_from(start), u32::try_from(end)) else {
            return Err(TreeError::TooMuchText);
        };
        self.tree.strings.push_str(s);
        Ok((a, b))
    }

    fn parent(&self) -> u32 {
        self.open.last().copied().unwrap_or(DOCUMENT)
    }

    /// An element starts at `pos`; its attributes follow through [`TreeBuilder::attribute`].
    ///
    /// # Errors
    /// [`TreeError::TooManyNodes`].
    pub fn start(
        &mut self,
        ns: &str,
        local: &str,
        prefix: &str,
        pos: Pos,
    ) -> Result<(), TreeError> {
        let name = self.intern(ns, local, prefix);
        let parent = self.parent();
        let id = self.push(NodeRec {
            kind: NodeKind::Element,
            parent,
            end: 0,
            children: 0,
            name,
            text: (0, 0),
            line: clamp(pos.line),
            column: clamp(pos.column),
        })?;
        self.tree.nodes[id as usize].children = id + 1;
        self.open.push(id);
        Ok(())
    }

    /// A start tag as the reader delivers it: the element and its attributes as written.
    ///
    /// # Errors
    /// See [`TreeBuilder::start`] and [`TreeBuilder::attribute`].
    pub fn start_tag(&mut self, tag: &StartTag<'_>, pos: Pos) -> Result<(), TreeError> {
        let name = tag.name();
        self.start(name.namespace, name.local, name.prefix, pos)?;
        for a in tag.attributes() {
            self.attribute(a.name.namespace, a.name.local, a.name.prefix, a.value)?;
        }
        Ok(())
    }

    /// An attribute of the element just started.
    ///
    /// # Errors
    /// [`TreeError::TooManyNodes`], [`TreeError::TooMuchText`].
    pub fn attribute(
        &mut self,
        ns: &str,
        local: &str,
        prefix: &str,
        value: &str,
    ) -> Result<(), TreeError> {
        let name = self.intern(ns, local, prefix);
        let text = self.store(value)?;
        let parent = self.parent();
        let (line, column) = {
            let p = &self.tree.nodes[parent as usize];
            (p.line, p.column)
        };
        let id = self.push(NodeRec {
            kind: NodeKind::Attribute,
            parent,
            end: 0,
            children: 0,
            name,
            text,
            line,
            column,
        })?;
        self.tree.nodes[id as usize].end = id + 1;
        self.tree.nodes[parent as usize].children = id + 1;
        Ok(())
    }

    /// Character data; adjacent runs are merged into one text node.
    ///
    /// # Errors
    /// [`TreeError::TooManyNodes`], [`TreeError::TooMuchText`].
    pub fn text(&mut self, text: &str, pos: Pos) -> Result<(), TreeError> {
        if text.is_empty() {
            return Ok(());
        }
        let parent = self.parent();
        if let Some(last) = self.tree.nodes.last()
            && last.kind == NodeKind::Text
            && last.parent == parent
            && last.text.1 as usize == self.tree.strings.len()
        {
            let (_, end) = self.store(text)?;
            if let Some(last) = self.tree.nodes.last_mut() {
                last.text.1 = end;
            }
            return Ok(());
        }
        let range = self.store(text)?;
        let id = self.push(NodeRec {
            kind: NodeKind::Text,
            parent,
            end: 0,
            children: 0,
            name: 0,
            text: range,
            line: clamp(pos.line),
            column: clamp(pos.column),
        })?;
        self.tree.nodes[id as usize].end = id + 1;
        Ok(())
    }

    /// The current element ends.
    pub fn end(&mut self) {
        if self.open.len() > 1
            && let Some(id) = self.open.pop()
        {
            let end = self.tree.nodes.len() as u32;
            self.tree.nodes[id as usize].end = end;
        }
    }

    /// The finished tree.
    pub fn finish(mut self) -> Tree {
        while self.open.len() > 1 {
            self.end();
        }
        let end = self.tree.nodes.len() as u32;
        self.tree.nodes[0].end = end;
        self.tree.nodes.shrink_to_fit();
        self.tree
    }
}

fn clamp(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(xml: &str) -> Tree {
        Tree::parse(
            xml.as_bytes(),
            &XmlLimits::default(),
            TreeLimits { max_nodes: 1000 },
        )
        .expect("well-formed")
    }

    #[test]
    fn document_order_puts_attributes_before_children() {
        let t = tree(r#"<a x="1" y="2"><b>t</b>u<c/></a>"#);
        let a = t.root_element().expect("root");
        assert_eq!(a, 1);
        let attrs: Vec<_> = t
            .attributes(a)
            .map(|n| t.local_name(n).to_owned())
            .collect();
        assert_eq!(attrs, ["x", "y"]);
        let kids: Vec<_> = t.children(a).map(|n| t.kind(n)).collect();
        assert_eq!(kids, [NodeKind::Element, NodeKind::Text, NodeKind::Element]);
        assert_eq!(t.string_value(a), "tu");
        assert_eq!(t.subtree_end(a) as usize, t.len());
    }

    #[test]
    fn paths_name_positions_not_values() {
        let t = tree(r#"<p:r xmlns:p="urn:x"><k>secret</k><k a="v">x</k></p:r>"#);
        let second = t.elements().nth(2).expect("second k");
        assert_eq!(t.path(second), "/p:r[1]/k[2]");
        let attr = t.attributes(second).next().expect("attribute");
        assert_eq!(t.path(attr), "/p:r[1]/k[2]/@a");
        assert_eq!(t.namespace(1), "urn:x");
    }

    #[test]
    fn node_limit_is_enforced() {
        let err = Tree::parse(
            b"<a><b/><b/><b/></a>",
            &XmlLimits::default(),
            TreeLimits { max_nodes: 3 },
        )
        .expect_err("too many nodes");
        assert_eq!(err, TreeError::TooManyNodes(3));
    }

    #[test]
    fn same_expanded_name_with_other_prefix_is_equal() {
        let t = tree(r#"<a:r xmlns:a="urn:x"><b:r xmlns:b="urn:x"/></a:r>"#);
        assert_eq!(t.expanded_name(1), t.expanded_name(2));
        assert_eq!(t.prefix(2), "b");
        assert_eq!(t.lookup_expanded("urn:x", "r"), t.expanded_name(1));
    }

    #[test]
    fn one_local_name_in_several_namespaces_stays_apart() {
        let t = tree(
            r#"<r xmlns:a="urn:a" xmlns:b="urn:b"><a:k/><b:k/><k/><a:k/><c:k xmlns:c="urn:a"/></r>"#,
        );
        let [ak, bk, k, ak2, ck] = [2, 3, 4, 5, 6].map(|n| t.expanded_name(n));
        assert_ne!(ak, bk);
        assert_ne!(ak, k);
        assert_ne!(bk, k);
        assert_eq!(ak, ak2);
        assert_eq!(ak, ck);
        assert_eq!(
            [t.namespace(3), t.namespace(4), t.namespace(6)],
            ["urn:b", "", "urn:a"]
        );
        assert_eq!(t.prefix(6), "c");
        assert_eq!(t.lookup_expanded("urn:b", "k"), bk);
        assert_eq!(t.lookup_expanded("", "k"), k);
        assert_eq!(t.lookup_expanded("urn:c", "k"), None);
        assert_eq!(t.lookup_expanded("urn:a", "r"), None);
    }
}
