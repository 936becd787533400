//! [`PgType`]: what a column's type oid means to the decoder and the encoders.
//!
//! Built-in types have fixed oids and are classified without a round trip. Everything else (enums, domains,
//! extension types such as hstore, arrays of those) is resolved once from `pg_type` by the source and cached; a
//! type we do not know is [`TypeKind::Other`] and travels as its text form, never as an error.

/// How a PostgreSQL type is decoded and encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeKind {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Numeric,
    Money,
    /// text, varchar, bpchar, name, "char", citext, xml …: a string.
    Text,
    Bytea,
    Date,
    Time,
    TimeTz,
    Timestamp,
    TimestampTz,
    Interval,
    Uuid,
    Json,
    Jsonb,
    /// inet and cidr.
    Inet,
    /// macaddr and macaddr8.
    MacAddr,
    /// bit(n) and varbit.
    Bit,
    Oid,
    Hstore,
    /// An enum with its labels in sort order.
    Enum(Vec<String>),
    /// An array of the element type.
    Array(Box<PgType>),
    /// Anything else: kept as the server's text output.
    Other,
}

/// A column type: its oid, its name as the catalog spells it, and how to handle it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgType {
    pub oid: u32,
    /// `int4`, `_text`, `mood`, `hstore` … (for a domain, the domain's own name).
    pub name: String,
    pub kind: TypeKind,
}

impl PgType {
    pub fn new(oid: u32, name: impl Into<String>, kind: TypeKind) -> Self {
        PgType { oid, name: name.into(), kind }
    }

    /// The element type of an array type, `None` for scalars.
    pub fn element(&self) -> Option<&PgType> {
        match &self.kind {
            TypeKind::Array(elem) => Some(elem),
            _ => None,
        }
    }

    /// Classifies a built-in type by oid (`pg_type.dat`); `None` for oids that need the catalog.
    pub fn builtin(oid: u32) -> Option<PgType> {
        let (name, kind) = match oid {
            16 => ("bool", TypeKind::Bool),
            17 => ("bytea", TypeKind::Bytea),
            18 => ("char", TypeKind::Text),
            19 => ("name", TypeKind::Text),
            20 => ("int8", TypeKind::Int8),
            21 => ("int2", TypeKind::Int2),
            23 => ("int4", TypeKind::Int4),
            25 => ("text", TypeKind::Text),
            26 => ("oid", TypeKind::Oid),
            114 => ("json", TypeKind::Json),
            142 => ("xml", TypeKind::Text),
            650 => ("cidr", TypeKind::Inet),
            700 => ("float4", TypeKind::Float4),
            701 => ("float8", TypeKind::Float8),
            774 => ("macaddr8", TypeKind::MacAddr),
            790 => ("money", TypeKind::Money),
            829 => ("macaddr", TypeKind::MacAddr),
            869 => ("inet", TypeKind::Inet),
            1042 => ("bpchar", TypeKind::Text),
            1043 => ("varchar", TypeKind::Text),
            1082 => ("date", TypeKind::Date),
            1083 => ("time", TypeKind::Time),
            1114 => ("timestamp", TypeKind::Timestamp),
            1184 => ("timestamptz", TypeKind::TimestampTz),
            1186 => ("interval", TypeKind::Interval),
            1266 => ("timetz", TypeKind::TimeTz),
            1560 => ("bit", TypeKind::Bit),
            1562 => ("varbit", TypeKind::Bit),
            1700 => ("numeric", TypeKind::Numeric),
            2950 => ("uuid", TypeKind::Uuid),
            3802 => ("jsonb", TypeKind::Jsonb),
            _ => return Self::builtin_array(oid),
        };
        Some(PgType::new(oid, name, kind))
    }

    fn builtin_array(oid: u32) -> Option<PgType> {
        let elem = match oid {
            1000 => 16,
            1001 => 17,
            1002 => 18,
            1003 => 19,
            1016 => 20,
            1005 => 21,
            1007 => 23,
            1009 => 25,
            1028 => 26,
            199 => 114,
            143 => 142,
            651 => 650,
            1021 => 700,
            1022 => 701,
            775 => 774,
            791 => 790,
            1040 => 829,
            1041 => 869,
            1014 => 1042,
            1015 => 1043,
            1182 => 1082,
            1183 => 1083,
            1115 => 1114,
            1185 => 1184,
            1187 => 1186,
            1270 => 1266,
            1561 => 1560,
            1563 => 1562,
            1231 => 1700,
            2951 => 2950,
            3807 => 3802,
            _ => return None,
        };
        let elem = PgType::builtin(elem)?;
        Some(PgType::new(oid, format!("_{}", elem.name), TypeKind::Array(Box::new(elem))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_of_builtins_know_their_element() {
        let t = PgType::builtin(1007).expect("int4[] is built in");
        assert_eq!(t.name, "_int4");
        assert_eq!(t.element().map(|e| &e.kind), Some(&TypeKind::Int4));
    }

    #[test]
    fn unknown_oids_need_the_catalog() {
        assert!(PgType::builtin(16_385).is_none());
    }
}
