//! XSD 1.0 built-in datatypes: their derivation tree, lexical spaces and value spaces.
//!
//! Each family lives in its own file; this module holds the tree of built-ins ([`Builtin`]),
//! the whitespace rule ([`WhiteSpace`]), namespace resolution for QName values ([`NsResolver`])
//! and the dispatch from a built-in to its lexical parser ([`parse_lexical`]).
//!
//! Deliberate choices, documented once here:
//! - ENTITY/ENTITIES never validate: their values must name unparsed entities declared in a
//!   DTD, and poststelle refuses DTDs.
//! - Name-like types use the XML 1.0 (5th edition) name-character classes.
//! - anyURI is lenient (see [`uri`]).
//! - NOTATION values are checked as QNames; that they name a declared notation is checked by
//!   the schema layer.

pub mod binary;
pub mod boolean;
pub mod date_time;
pub mod decimal;
pub mod duration;
pub mod float;
pub mod names;
pub mod uri;
pub mod value;
pub mod whitespace;

pub use decimal::Decimal;
pub use value::Value;
pub use whitespace::WhiteSpace;

/// Namespace bindings in scope at a value (for QName/NOTATION values and QName enumerations).
///
/// `resolve(prefix)` returns the namespace name bound to `prefix`. The prefix `""` asks for
/// the default namespace. "No namespace" is returned as `None` (or, equivalently, `Some("")`,
/// e.g. after `xmlns=""`); for a non-empty prefix `None` means the prefix is unbound, which
/// makes a QName value invalid.
pub trait NsResolver {
    /// The namespace bound to `prefix` (see the trait documentation for `""`).
    fn resolve(&self, prefix: &str) -> Option<&str>;
}

/// A resolver with no bindings at all (only the `xml` prefix is bound, as in every document).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoNamespaces;

impl NsResolver for NoNamespaces {
    fn resolve(&self, prefix: &str) -> Option<&str> {
        (prefix == "xml").then_some(XML_NS)
    }
}

/// The namespace bound to the `xml` prefix in every document.
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// The XSD 1.0 built-in simple types (XML Schema Part 2, §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)] // each variant is the built-in of the same local name
pub enum Builtin {
    AnySimpleType,
    String,
    NormalizedString,
    Token,
    Language,
    Name,
    NCName,
    NMTOKEN,
    NMTOKENS,
    ID,
    IDREF,
    IDREFS,
    ENTITY,
    ENTITIES,
    Boolean,
    Decimal,
    Integer,
    NonPositiveInteger,
    NegativeInteger,
    Long,
    Int,
    Short,
    Byte,
    NonNegativeInteger,
    UnsignedLong,
    UnsignedInt,
    UnsignedShort,
    UnsignedByte,
    PositiveInteger,
    Float,
    Double,
    Duration,
    DateTime,
    Time,
    Date,
    GYearMonth,
    GYear,
    GMonthDay,
    GDay,
    GMonth,
    HexBinary,
    Base64Binary,
    AnyURI,
    QName,
    NOTATION,
}

/// Every built-in with its local name, in declaration order.
const ALL: [(Builtin, &str); 45] = [
    (Builtin::AnySimpleType, "anySimpleType"),
    (Builtin::String, "string"),
    (Builtin::NormalizedString, "normalizedString"),
    (Builtin::Token, "token"),
    (Builtin::Language, "language"),
    (Builtin::Name, "Name"),
    (Builtin::NCName, "NCName"),
    (Builtin::NMTOKEN, "NMTOKEN"),
    (Builtin::NMTOKENS, "NMTOKENS"),
    (Builtin::ID, "ID"),
    (Builtin::IDREF, "IDREF"),
    (Builtin::IDREFS, "IDREFS"),
    (Builtin::ENTITY, "ENTITY"),
    (Builtin::ENTITIES, "ENTITIES"),
    (Builtin::Boolean, "boolean"),
    (Builtin::Decimal, "decimal"),
    (Builtin::Integer, "integer"),
    (Builtin::NonPositiveInteger, "nonPositiveInteger"),
    (Builtin::NegativeInteger, "negativeInteger"),
    (Builtin::Long, "long"),
    (Builtin::Int, "int"),
    (Builtin::Short, "short"),
    (Builtin::Byte, "byte"),
    (Builtin::NonNegativeInteger, "nonNegativeInteger"),
    (Builtin::UnsignedLong, "unsignedLong"),
    (Builtin::UnsignedInt, "unsignedInt"),
    (Builtin::UnsignedShort, "unsignedShort"),
    (Builtin::UnsignedByte, "unsignedByte"),
    (Builtin::PositiveInteger, "positiveInteger"),
    (Builtin::Float, "float"),
    (Builtin::Double, "double"),
    (Builtin::Duration, "duration"),
    (Builtin::DateTime, "dateTime"),
    (Builtin::Time, "time"),
    (Builtin::Date, "date"),
    (Builtin::GYearMonth, "gYearMonth"),
    (Builtin::GYear, "gYear"),
    (Builtin::GMonthDay, "gMonthDay"),
    (Builtin::GDay, "gDay"),
    (Builtin::GMonth, "gMonth"),
    (Builtin::HexBinary, "hexBinary"),
    (Builtin::Base64Binary, "base64Binary"),
    (Builtin::AnyURI, "anyURI"),
    (Builtin::QName, "QName"),
    (Builtin::NOTATION, "NOTATION"),
];

impl Builtin {
    /// All built-ins, in declaration order.
    pub fn all() -> impl Iterator<Item = Builtin> {
        ALL.iter().map(|(b, _)| *b)
    }

    /// The built-in with this local name in the XSD namespace.
    pub fn from_local_name(name: &str) -> Option<Builtin> {
        ALL.iter().find(|(_, n)| *n == name).map(|(b, _)| *b)
    }

    /// The local name in the XSD namespace.
    pub fn local_name(self) -> &'static str {
        ALL[self as usize].1
    }

    /// The base type in the derivation tree (`None` only for anySimpleType).
    pub fn base(self) -> Option<Builtin> {
        use Builtin as B;
        Some(match self {
            B::AnySimpleType => return None,
            B::String
            | B::Boolean
            | B::Decimal
            | B::Float
            | B::Double
            | B::Duration
            | B::DateTime
            | B::Time
            | B::Date
            | B::GYearMonth
            | B::GYear
            | B::GMonthDay
            | B::GDay
            | B::GMonth
            | B::HexBinary
            | B::Base64Binary
            | B::AnyURI
            | B::QName
            | B::NOTATION
            | B::NMTOKENS
            | B::IDREFS
            | B::ENTITIES => B::AnySimpleType,
            B::NormalizedString => B::String,
            B::Token => B::NormalizedString,
            B::Language | B::Name | B::NMTOKEN => B::Token,
            B::NCName => B::Name,
            B::ID | B::IDREF | B::ENTITY => B::NCName,
            B::Integer => B::Decimal,
            B::NonPositiveInteger | B::Long | B::NonNegativeInteger => B::Integer,
            B::NegativeInteger => B::NonPositiveInteger,
            B::Int => B::Long,
            B::Short => B::Int,
            B::Byte => B::Short,
            B::UnsignedLong | B::PositiveInteger => B::NonNegativeInteger,
            B::UnsignedInt => B::UnsignedLong,
            B::UnsignedShort => B::UnsignedInt,
            B::UnsignedByte => B::UnsignedShort,
        })
    }

    /// The primitive ancestor. anySimpleType and the built-in list types (NMTOKENS, IDREFS,
    /// ENTITIES) return themselves: they have no primitive.
    pub fn primitive(self) -> Builtin {
        let mut b = self;
        while let Some(base) = b.base() {
            if base == Builtin::AnySimpleType {
                return b;
            }
            b = base;
        }
        b
    }

    /// Whether `self` is `other` or derived from it by restriction (list built-ins derive
    /// from anySimpleType).
    pub fn is_derived_from(self, other: Builtin) -> bool {
        let mut b = Some(self);
        while let Some(x) = b {
            if x == other {
                return true;
            }
            b = x.base();
        }
        false
    }

    /// The built-in list types and their item types.
    pub fn list_item(self) -> Option<Builtin> {
        match self {
            Builtin::NMTOKENS => Some(Builtin::NMTOKEN),
            Builtin::IDREFS => Some(Builtin::IDREF),
            Builtin::ENTITIES => Some(Builtin::ENTITY),
            _ => None,
        }
    }

    /// The whiteSpace facet value of this built-in.
    pub fn whitespace(self) -> WhiteSpace {
        match self {
            Builtin::String | Builtin::AnySimpleType => WhiteSpace::Preserve,
            Builtin::NormalizedString => WhiteSpace::Replace,
            _ => WhiteSpace::Collapse,
        }
    }
}

impl std::fmt::Display for Builtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "xs:{}", self.local_name())
    }
}

/// Why a lexical form is not in the lexical space of a built-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LexicalError {
    /// The text does not follow the lexical grammar of the type.
    #[error("not a valid {0}")]
    Syntax(Builtin),
    /// The text is well formed but outside the range of the type (e.g. 300 as xs:byte).
    #[error("out of the range of {0}")]
    Range(Builtin),
    /// A QName prefix is not bound to a namespace.
    #[error("the prefix of the {0} value is not bound to a namespace")]
    UnboundPrefix(Builtin),
    /// ENTITY values need DTD-declared unparsed entities; DTDs are refused.
    #[error("{0} values cannot be valid: unparsed entities need a DTD, which is refused")]
    Entity(Builtin),
    /// A number is too long for the engine's fixed-size representation (a documented limit).
    #[error("the {0} value is beyond the supported range")]
    Unsupported(Builtin),
}

/// Parse an already whitespace-normalised lexical form of the atomic built-in `b` into its
/// value. Built-in list types are handled by the simple-type layer, not here.
pub fn parse_lexical(b: Builtin, s: &str, ns: &dyn NsResolver) -> Result<Value, LexicalError> {
    use Builtin as B;
    Ok(match b {
        B::AnySimpleType | B::String | B::NormalizedString | B::Token => Value::String(s.into()),
        B::Language | B::Name | B::NCName | B::NMTOKEN | B::ID | B::IDREF | B::ENTITY => {
            check_string_lexical(b, s)?;
            Value::String(s.into())
        }
        B::AnyURI => {
            check_string_lexical(b, s)?;
            Value::AnyUri(s.into())
        }
        B::Boolean => Value::Boolean(boolean::parse(s).ok_or(LexicalError::Syntax(b))?),
        B::Decimal => Value::Decimal(Decimal::parse(s).ok_or(LexicalError::Syntax(b))?),
        B::Integer
        | B::NonPositiveInteger
        | B::NegativeInteger
        | B::Long
        | B::Int
        | B::Short
        | B::Byte
        | B::NonNegativeInteger
        | B::UnsignedLong
        | B::UnsignedInt
        | B::UnsignedShort
        | B::UnsignedByte
        | B::PositiveInteger => Value::Decimal(decimal::parse_integer(b, s)?),
        B::Float => Value::Float(float::parse_float(s).ok_or(LexicalError::Syntax(b))?),
        B::Double => Value::Double(float::parse_double(s).ok_or(LexicalError::Syntax(b))?),
        B::Duration => {
            Value::Duration(duration::Duration::parse(s).ok_or(LexicalError::Syntax(b))?)
        }
        B::DateTime
        | B::Time
        | B::Date
        | B::GYearMonth
        | B::GYear
        | B::GMonthDay
        | B::GDay
        | B::GMonth => Value::DateTime(date_time::DateTimeValue::parse(b, s)?),
        B::HexBinary => Value::HexBinary(binary::parse_hex(s).ok_or(LexicalError::Syntax(b))?),
        B::Base64Binary => {
            Value::Base64Binary(binary::parse_base64(s).ok_or(LexicalError::Syntax(b))?)
        }
        B::QName | B::NOTATION => {
            let (ns_name, local) = names::resolve_qname(s, ns).map_err(|e| match e {
                names::QNameError::Syntax => LexicalError::Syntax(b),
                names::QNameError::Unbound => LexicalError::UnboundPrefix(b),
            })?;
            let q = value::QNameValue {
                ns: ns_name.into(),
                local: local.into(),
            };
            if b == B::QName {
                Value::QName(q)
            } else {
                Value::Notation(q)
            }
        }
        B::NMTOKENS | B::IDREFS | B::ENTITIES => return Err(LexicalError::Syntax(b)),
    })
}

/// Check the lexical space of the string-derived built-ins without building a value
/// (the hot path for token-like types).
pub fn check_string_lexical(b: Builtin, s: &str) -> Result<(), LexicalError> {
    use Builtin as B;
    let ok = match b {
        B::Language => names::is_language(s),
        B::Name => names::is_name(s),
        B::NCName | B::ID | B::IDREF => names::is_ncname(s),
        B::NMTOKEN => names::is_nmtoken(s),
        B::AnyURI => uri::is_any_uri(s),
        B::ENTITY => return Err(LexicalError::Entity(b)),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(LexicalError::Syntax(b))
    }
}
