//! Arrow result sets (`queryResultFormat = "arrow"`) into the cells of Snowflake's JSON result format.
//!
//! ```text
//!  rowsetBase64 ──base64──▶ IPC stream ──schema──▶ one Converter per column (rowtype kind × Arrow type)
//!                                       ──batches─▶ RecordBatch ──Converter::cells──▶ rows of Option<String>
//! ```
//!
//! The Arrow type alone does not say what a column is: an Int64 may be NUMBER(18,2), a TIME or a TIMESTAMP_NTZ,
//! so the column's `rowtype` kind picks the conversion, and the scale comes from the field metadata `scale`
//! (Snowflake's drivers read it there; the rowtype's scale is the fallback). Encodings, as Snowflake and fakesnow
//! send them (see the Python connector's `CArrowChunkIterator`):
//!
//! | kind                          | Arrow                                                     | cell         |
//! |-------------------------------|-----------------------------------------------------------|--------------|
//! | fixed                         | Int8..Int64 or Decimal128, unscaled                       | `-0.10`      |
//! | real                          | Float64                                                   | `1.5`, `NaN` |
//! | text, variant, object, array  | Utf8, LargeUtf8                                           | as is        |
//! | boolean                       | Boolean                                                   | `1` / `0`    |
//! | date                          | Date32                                                    | `19724`      |
//! | time                          | Int64 (or Int32) scaled by 10^scale                       | `3723.123456000` |
//! | timestamp_ntz, timestamp_ltz  | Int64 scaled, or {epoch s, fraction ns}                   | `1704164645.678901000` |
//! | timestamp_tz                  | {epoch s, fraction ns, timezone} or {epoch scaled, timezone} | `1704164645.678901000 1440` |
//! | binary                        | Binary, LargeBinary                                       | uppercase hex |
//!
//! Timestamps always get nine fraction digits, so every timestamp cell parses the same way whatever its scale.
//! All arithmetic is on `i128`: no float ever touches a NUMBER or a time.
//!
//! Why not `arrow_ipc::reader::StreamReader`, for two reasons:
//! - fakesnow writes a null timestamp as a valid struct whose non-nullable `epoch` and `fraction` children hold
//!   the nulls, and arrow-rs rejects such a batch ("Found unmasked nulls for non-nullable StructArray field");
//!   only `unsafe` skips that check. So [`read_stream`] walks the messages itself and decodes each batch
//!   against a schema with every field nullable.
//! - arrow-ipc panics on malformed metadata (unknown types in the schema, buffer offsets and struct lengths that
//!   lie). So [`schema_from_flatbuffer`] reads the schema itself, admitting only the types above, and
//!   [`check_layout`] checks each batch's metadata against its body before arrow-ipc sees it.

use std::sync::Arc;

use arrow_array::cast::AsArray as _;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type,
    UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrowPrimitiveType, PrimitiveArray, RecordBatch};
use arrow_buffer::Buffer;
use arrow_ipc::reader::FileDecoder;
use arrow_ipc::{Block, MessageHeader};
use arrow_schema::{DataType, Field, Fields, Schema};
use base64::Engine as _;

/// One column of a result's `rowtype` (deserialize from the response JSON: fields name, type, precision, scale,
/// nullable; more fields may exist, ignore them).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ColumnType {
    pub name: String,
    /// Snowflake's logical type, lowercase: `fixed`, `text`, `timestamp_ntz`, ….
    #[serde(rename = "type")]
    pub kind: String,
    pub precision: Option<u32>,
    pub scale: Option<i32>,
    pub nullable: Option<bool>,
}

/// Why an Arrow result set cannot be turned into cells.
#[derive(Debug, thiserror::Error)]
pub enum ArrowError {
    #[error("the Arrow rowset is not valid base64")]
    Base64(#[source] base64::DecodeError),
    #[error("the Arrow IPC stream is malformed: {problem}")]
    Framing { problem: &'static str },
    #[error("cannot decode the Arrow IPC stream")]
    Ipc(#[source] arrow_schema::ArrowError),
    #[error("the Arrow result has {arrow} columns but the rowtype lists {rowtype}")]
    ColumnCount { arrow: usize, rowtype: usize },
    #[error("column {column} ({kind}): Arrow type {arrow_type} is not supported")]
    Unsupported { column: String, kind: String, arrow_type: String },
    #[error("column {column} ({kind}): invalid scale {scale}")]
    Scale { column: String, kind: String, scale: String },
}

/// Decodes an Arrow IPC stream into rows of cells as Snowflake's JSON result format spells them.
///
/// `base64_ipc` is the response's `rowsetBase64`; the empty string means no rows.
pub fn decode_rowset(
    base64_ipc: &str,
    rowtype: &[ColumnType],
) -> Result<Vec<Vec<Option<String>>>, ArrowError> {
    if base64_ipc.is_empty() {
        return Ok(Vec::new());
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(base64_ipc).map_err(ArrowError::Base64)?;
    decode_ipc(bytes, rowtype)
}

/// Decodes raw IPC stream bytes; the base64-free half of [`decode_rowset`].
fn decode_ipc(bytes: Vec<u8>, rowtype: &[ColumnType]) -> Result<Vec<Vec<Option<String>>>, ArrowError> {
    let (converters, batches) = read_stream(Buffer::from_vec(bytes), rowtype)?;
    let mut rows = Vec::new();
    for batch in batches {
        let mut batch_rows: Vec<Vec<Option<String>>> =
            (0..batch.num_rows()).map(|_| Vec::with_capacity(converters.len())).collect();
        for ((array, converter), column) in batch.columns().iter().zip(&converters).zip(rowtype) {
            let cells =
                converter.cells(array.as_ref()).ok_or_else(|| unsupported(column, array.data_type()))?;
            // Every column of a batch has `num_rows` entries, so the zip pairs each cell with its row.
            for (row, cell) in batch_rows.iter_mut().zip(cells) {
                row.push(cell);
            }
        }
        rows.append(&mut batch_rows);
    }
    Ok(rows)
}

fn framing(problem: &'static str) -> ArrowError {
    ArrowError::Framing { problem }
}

/// Reads an IPC stream: each message is `[0xFFFFFFFF] <i32 metadata length> <flatbuffer Message> <body>` (pre-1.0
/// writers omit the marker); a zero length or the end of the bytes ends the stream. The first message is the
/// schema, which gets one [`Converter`] per column before any batch is decoded; record batches follow. A stream
/// without a schema has no rows.
fn read_stream(
    buffer: Buffer,
    rowtype: &[ColumnType],
) -> Result<(Vec<Converter>, Vec<RecordBatch>), ArrowError> {
    const CONTINUATION: [u8; 4] = [0xFF; 4];
    let mut converters = Vec::new();
    let mut decoder: Option<(Arc<Schema>, FileDecoder)> = None;
    let mut batches = Vec::new();
    let mut offset = 0usize;
    while let Some(word) = buffer.get(offset..offset + 4) {
        let (prefix, length) = if word == CONTINUATION {
            (8, buffer.get(offset + 4..offset + 8).ok_or_else(|| framing("truncated message length"))?)
        } else {
            (4, word)
        };
        let length = i32::from_le_bytes(length.try_into().map_err(|_| framing("truncated message length"))?);
        if length == 0 {
            break;
        }
        let length = usize::try_from(length).map_err(|_| framing("negative message length"))?;
        let metadata_end = offset + prefix + length;
        let metadata =
            buffer.get(offset + prefix..metadata_end).ok_or_else(|| framing("truncated message"))?;
        let message =
            arrow_ipc::root_as_message(metadata).map_err(|_| framing("message is not a flatbuffer"))?;
        let body_length =
            usize::try_from(message.bodyLength()).map_err(|_| framing("negative body length"))?;
        let end = metadata_end.checked_add(body_length).ok_or_else(|| framing("body length overflows"))?;
        if end > buffer.len() {
            return Err(framing("truncated message body"));
        }
        match (message.header_type(), &decoder) {
            (MessageHeader::Schema, None) => {
                let schema =
                    message.header_as_schema().ok_or_else(|| framing("schema message without schema"))?;
                let schema = Arc::new(schema_from_flatbuffer(schema, rowtype)?);
                converters = converters_for(&schema, rowtype)?;
                decoder = Some((schema.clone(), FileDecoder::new(schema, message.version())));
            }
            (MessageHeader::Schema, Some(_)) => return Err(framing("a second schema message")),
            (_, None) => return Err(framing("the stream does not start with a schema")),
            (MessageHeader::RecordBatch, Some((schema, decoder))) => {
                check_layout(schema, message.header_as_record_batch(), body_length)?;
                // FileDecoder reads one message given its extent (a "block"), exactly the framing parsed above.
                let metadata_length =
                    i32::try_from(prefix + length).map_err(|_| framing("message too long"))?;
                let block = Block::new(0, metadata_length, message.bodyLength());
                let data = buffer.slice_with_length(offset, end - offset);
                batches.extend(decoder.read_record_batch(&block, &data).map_err(ArrowError::Ipc)?);
            }
            // Dictionary batches included: no admitted column is dictionary-encoded.
            (_, Some(_)) => return Err(framing("unexpected message type")),
        }
        offset = end;
    }
    if offset < buffer.len() && buffer.len() - offset < 4 {
        return Err(framing("trailing bytes after the last message"));
    }
    Ok((converters, batches))
}

/// The Arrow schema of a schema message, for the types Snowflake sends, with every field nullable (why: see the
/// module doc) and the field metadata kept (the scale lives there). By hand rather than
/// `arrow_ipc::convert::fb_to_schema`, which panics on types it does not know and on malformed fields.
fn schema_from_flatbuffer(
    schema: arrow_ipc::Schema<'_>,
    rowtype: &[ColumnType],
) -> Result<Schema, ArrowError> {
    if schema.endianness() != arrow_ipc::Endianness::Little {
        return Err(framing("big-endian streams are not supported"));
    }
    let fields = schema.fields().ok_or_else(|| framing("schema without fields"))?;
    if fields.len() != rowtype.len() {
        return Err(ArrowError::ColumnCount { arrow: fields.len(), rowtype: rowtype.len() });
    }
    let fields = fields
        .iter()
        .zip(rowtype)
        .map(|(field, column)| {
            field_from_flatbuffer(field, true).map_err(|arrow_type| ArrowError::Unsupported {
                column: column.name.clone(),
                kind: column.kind.clone(),
                arrow_type,
            })
        })
        .collect::<Result<Fields, _>>()?;
    Ok(Schema::new(fields))
}

/// One field, or the name of its unsupported type. Structs nest one level: Snowflake's timestamp structs hold
/// integers only.
fn field_from_flatbuffer(field: arrow_ipc::Field<'_>, top_level: bool) -> Result<Field, String> {
    use arrow_ipc::Type;
    let type_type = field.type_type();
    let unknown = || format!("{type_type:?}");
    if field.dictionary().is_some() {
        return Err(format!("Dictionary({})", unknown()));
    }
    let data_type = match type_type {
        Type::Int => {
            let int = field.type_as_int().ok_or_else(unknown)?;
            match (int.bitWidth(), int.is_signed()) {
                (8, true) => DataType::Int8,
                (16, true) => DataType::Int16,
                (32, true) => DataType::Int32,
                (64, true) => DataType::Int64,
                (8, false) => DataType::UInt8,
                (16, false) => DataType::UInt16,
                (32, false) => DataType::UInt32,
                (64, false) => DataType::UInt64,
                (bits, signed) => return Err(format!("Int(bits: {bits}, signed: {signed})")),
            }
        }
        Type::FloatingPoint => match field.type_as_floating_point().map(|float| float.precision()) {
            Some(arrow_ipc::Precision::DOUBLE) => DataType::Float64,
            Some(arrow_ipc::Precision::SINGLE) => DataType::Float32,
            _ => return Err(unknown()),
        },
        Type::Decimal => {
            let decimal = field.type_as_decimal().ok_or_else(unknown)?;
            let (precision, scale) = (u8::try_from(decimal.precision()), i8::try_from(decimal.scale()));
            match (decimal.bitWidth(), precision, scale) {
                (128, Ok(precision), Ok(scale)) => DataType::Decimal128(precision, scale),
                (bits, ..) => return Err(format!("Decimal(bits: {bits})")),
            }
        }
        Type::Date => match field.type_as_date().map(|date| date.unit()) {
            Some(arrow_ipc::DateUnit::DAY) => DataType::Date32,
            _ => return Err(unknown()),
        },
        Type::Bool => DataType::Boolean,
        Type::Utf8 => DataType::Utf8,
        Type::LargeUtf8 => DataType::LargeUtf8,
        Type::Binary => DataType::Binary,
        Type::LargeBinary => DataType::LargeBinary,
        Type::Struct_ if top_level => DataType::Struct(
            field
                .children()
                .ok_or_else(unknown)?
                .iter()
                .map(|child| field_from_flatbuffer(child, false))
                .collect::<Result<Fields, _>>()?,
        ),
        _ => return Err(unknown()),
    };
    let metadata = field
        .custom_metadata()
        .iter()
        .flatten()
        .filter_map(|pair| Some((pair.key()?.to_owned(), pair.value()?.to_owned())))
        .collect();
    Ok(Field::new(field.name().unwrap_or_default(), data_type, true).with_metadata(metadata))
}

/// Checks what arrow-ipc would otherwise trust, and panic on: every buffer inside the body, one node per field
/// and column lengths equal to the batch's, validity bitmaps long enough, no compression or view buffers. Walks
/// the buffers in the order arrow-ipc consumes them, for the types [`field_from_flatbuffer`] admits.
fn check_layout(
    schema: &Schema,
    batch: Option<arrow_ipc::RecordBatch<'_>>,
    body_length: usize,
) -> Result<(), ArrowError> {
    let batch = batch.ok_or_else(|| framing("batch message without a batch"))?;
    if batch.compression().is_some() {
        return Err(framing("compressed buffers are not supported"));
    }
    if batch.variadicBufferCounts().is_some_and(|counts| !counts.is_empty()) {
        return Err(framing("variadic buffers for a schema without view types"));
    }
    let rows = usize::try_from(batch.length()).map_err(|_| framing("negative row count"))?;
    // Every admitted type spends at least one bit of body per row; a larger count is a lie.
    if rows > body_length.saturating_mul(8) {
        return Err(framing("more rows than the body can hold"));
    }
    let mut buffer_lengths = Vec::new();
    for buffer in batch.buffers().iter().flatten() {
        let start = usize::try_from(buffer.offset()).map_err(|_| framing("negative buffer offset"))?;
        let length = usize::try_from(buffer.length()).map_err(|_| framing("negative buffer length"))?;
        if start.checked_add(length).is_none_or(|end| end > body_length) {
            return Err(framing("a buffer lies outside its message body"));
        }
        buffer_lengths.push(length);
    }
    let mut nodes = batch.nodes().into_iter().flatten().map(|node| (node.length(), node.null_count()));
    let mut buffers = buffer_lengths.into_iter();
    schema.fields().iter().try_for_each(|field| check_field_layout(field, rows, &mut nodes, &mut buffers))
}

fn check_field_layout(
    field: &Field,
    rows: usize,
    nodes: &mut impl Iterator<Item = (i64, i64)>,
    buffers: &mut impl Iterator<Item = usize>,
) -> Result<(), ArrowError> {
    let (length, null_count) = nodes.next().ok_or_else(|| framing("fewer field nodes than fields"))?;
    if usize::try_from(length).ok() != Some(rows) {
        return Err(framing("a column's length differs from the batch's"));
    }
    if null_count < 0 || null_count > length {
        return Err(framing("a column's null count is out of range"));
    }
    let validity = buffers.next().ok_or_else(|| framing("fewer buffers than fields need"))?;
    if null_count > 0 && validity < rows.div_ceil(8) {
        return Err(framing("a validity bitmap is shorter than its column"));
    }
    // The element width of each data buffer: arrow-data's validation panics on a buffer that is not a whole
    // number of elements.
    let widths: &[usize] = match field.data_type() {
        DataType::Struct(children) => {
            return children.iter().try_for_each(|child| check_field_layout(child, rows, nodes, buffers));
        }
        // Offsets, then data.
        DataType::Utf8 | DataType::Binary => &[4, 1],
        DataType::LargeUtf8 | DataType::LargeBinary => &[8, 1],
        DataType::Int8 | DataType::UInt8 | DataType::Boolean => &[1],
        DataType::Int16 | DataType::UInt16 => &[2],
        DataType::Int32 | DataType::UInt32 | DataType::Float32 | DataType::Date32 => &[4],
        DataType::Int64 | DataType::UInt64 | DataType::Float64 => &[8],
        DataType::Decimal128(..) => &[16],
        _ => return Err(framing("a column type without a known layout")),
    };
    for width in widths {
        let length = buffers.next().ok_or_else(|| framing("fewer buffers than fields need"))?;
        if length % width != 0 {
            return Err(framing("a buffer is not a whole number of elements"));
        }
    }
    Ok(())
}

/// One converter per column, or the first column whose kind and Arrow type do not go together.
fn converters_for(schema: &Schema, rowtype: &[ColumnType]) -> Result<Vec<Converter>, ArrowError> {
    schema.fields().iter().zip(rowtype).map(|(field, column)| Converter::new(field, column)).collect()
}

fn unsupported(column: &ColumnType, data_type: &DataType) -> ArrowError {
    ArrowError::Unsupported {
        column: column.name.clone(),
        kind: column.kind.clone(),
        arrow_type: data_type.to_string(),
    }
}

/// How one column's Arrow values become cells, decided once from the schema.
#[derive(Debug)]
enum Converter {
    /// An integer or Decimal128 holding `value × 10^scale`.
    Scaled {
        scale: u32,
        divisor: u128,
    },
    Real,
    Text,
    Boolean,
    Date,
    Binary,
    /// `timezone` for TIMESTAMP_TZ; `nanos_per_unit` converts a scaled epoch (integer column, or the struct's
    /// `epoch` when it has no `fraction`) to nanoseconds.
    Timestamp {
        nanos_per_unit: i128,
        fraction: bool,
        timezone: bool,
        is_struct: bool,
    },
}

impl Converter {
    fn new(field: &Field, column: &ColumnType) -> Result<Converter, ArrowError> {
        let kind = column.kind.to_ascii_lowercase();
        let data_type = field.data_type();
        let integer = data_type.is_integer();
        let child = |name| match data_type {
            DataType::Struct(children) => {
                children.find(name).map(|(_, child)| child.data_type().is_integer())
            }
            _ => None,
        };
        Ok(match kind.as_str() {
            "fixed" if integer => Converter::scaled(scale(field, column, 0)?, column)?,
            "fixed" => match data_type {
                // The decimal type carries the scale its values are at; it cannot disagree with them.
                DataType::Decimal128(_, scale) => {
                    Converter::scaled(non_negative(i32::from(*scale), column)?, column)?
                }
                _ => return Err(unsupported(column, data_type)),
            },
            "time" if integer => Converter::scaled(scale(field, column, 9)?, column)?,
            "real" if matches!(data_type, DataType::Float64 | DataType::Float32) => Converter::Real,
            "text" | "variant" | "object" | "array"
                if matches!(data_type, DataType::Utf8 | DataType::LargeUtf8) =>
            {
                Converter::Text
            }
            "boolean" if *data_type == DataType::Boolean => Converter::Boolean,
            "date" if *data_type == DataType::Date32 => Converter::Date,
            "binary" if matches!(data_type, DataType::Binary | DataType::LargeBinary) => Converter::Binary,
            "timestamp_ntz" | "timestamp_ltz" | "timestamp_tz" => {
                let timezone = kind == "timestamp_tz";
                let shape_ok = match (integer, child("epoch"), child("fraction"), child("timezone")) {
                    (true, ..) => !timezone,
                    (false, Some(true), fraction, zone) => {
                        fraction.unwrap_or(true) && zone.unwrap_or(false) == timezone
                    }
                    _ => false,
                };
                if !shape_ok {
                    return Err(unsupported(column, data_type));
                }
                let scale = scale(field, column, 9)?;
                // Nine digits is nanoseconds, the finest Snowflake has.
                let nanos_per_unit = 9u32
                    .checked_sub(scale)
                    .map(|exponent| 10i128.pow(exponent))
                    .ok_or_else(|| bad_scale(column, scale.to_string()))?;
                Converter::Timestamp {
                    nanos_per_unit,
                    fraction: child("fraction").is_some(),
                    timezone,
                    is_struct: !integer,
                }
            }
            _ => return Err(unsupported(column, data_type)),
        })
    }

    fn scaled(scale: u32, column: &ColumnType) -> Result<Converter, ArrowError> {
        // 10^38 is the largest power of ten a u128 holds, and 38 is NUMBER's maximum precision.
        let divisor = 10u128.checked_pow(scale).ok_or_else(|| bad_scale(column, scale.to_string()))?;
        Ok(Converter::Scaled { scale, divisor })
    }

    /// The column's cells; `None` if the array is not of the type the converter was made for, which the
    /// schema check rules out.
    fn cells(&self, array: &dyn Array) -> Option<Vec<Option<String>>> {
        Some(match self {
            Converter::Scaled { scale, divisor } => {
                unscaled(array)?.map(|value| value.map(|value| scaled(value, *scale, *divisor))).collect()
            }
            Converter::Real => match array.data_type() {
                DataType::Float64 => {
                    format_each(array.as_primitive_opt::<Float64Type>()?, |v| format!("{v:?}"))
                }
                _ => format_each(array.as_primitive_opt::<Float32Type>()?, |v| format!("{v:?}")),
            },
            Converter::Text => match array.data_type() {
                DataType::Utf8 => {
                    array.as_string_opt::<i32>()?.iter().map(|v| v.map(str::to_owned)).collect()
                }
                _ => array.as_string_opt::<i64>()?.iter().map(|v| v.map(str::to_owned)).collect(),
            },
            Converter::Boolean => array
                .as_boolean_opt()?
                .iter()
                .map(|v| v.map(|v| if v { "1" } else { "0" }.to_owned()))
                .collect(),
            Converter::Date => format_each(array.as_primitive_opt::<Date32Type>()?, |days| days.to_string()),
            Converter::Binary => match array.data_type() {
                DataType::Binary => array.as_binary_opt::<i32>()?.iter().map(|v| v.map(hex)).collect(),
                _ => array.as_binary_opt::<i64>()?.iter().map(|v| v.map(hex)).collect(),
            },
            Converter::Timestamp { nanos_per_unit, fraction, timezone, is_struct } => {
                timestamp_cells(array, *nanos_per_unit, *fraction, *timezone, *is_struct)?
            }
        })
    }
}

/// Timestamps as seconds with nine fraction digits, then ` <timezone>` for TIMESTAMP_TZ.
///
/// In the {epoch, fraction} struct, `epoch` is floor seconds and `fraction` is never negative, so
/// `epoch × 10^9 + fraction` is exact for times before 1970 too. A row is null when the struct or any child it
/// needs is null: fakesnow marks the nulls in the children.
fn timestamp_cells(
    array: &dyn Array,
    nanos_per_unit: i128,
    fraction: bool,
    timezone: bool,
    is_struct: bool,
) -> Option<Vec<Option<String>>> {
    if !is_struct {
        return Some(integers(array)?.map(|v| v.map(|v| seconds(v * nanos_per_unit))).collect());
    }
    let structs = array.as_struct_opt()?;
    let child = |name| structs.column_by_name(name).and_then(|child| integers(child.as_ref()));
    let nanos: Values<'_> = if fraction {
        Box::new(
            child("epoch")?
                .zip(child("fraction")?)
                .map(|(epoch, fraction)| Some(epoch? * 1_000_000_000 + fraction?)),
        )
    } else {
        Box::new(child("epoch")?.map(move |epoch| Some(epoch? * nanos_per_unit)))
    };
    let zones: Values<'_> = if timezone { child("timezone")? } else { Box::new(std::iter::repeat(Some(0))) };
    Some(
        nanos
            .zip(zones)
            .enumerate()
            .map(|(row, (nanos, zone))| {
                let (nanos, zone) = (nanos?, zone?);
                if structs.is_null(row) {
                    None
                } else if timezone {
                    Some(format!("{} {zone}", seconds(nanos)))
                } else {
                    Some(seconds(nanos))
                }
            })
            .collect(),
    )
}

/// Formats each non-null value of a primitive array.
fn format_each<T: ArrowPrimitiveType>(
    array: &PrimitiveArray<T>,
    format: impl Fn(T::Native) -> String,
) -> Vec<Option<String>> {
    array.iter().map(|v| v.map(&format)).collect()
}

type Values<'a> = Box<dyn Iterator<Item = Option<i128>> + 'a>;

/// The unscaled values of a NUMBER column: any integer array, or Decimal128.
fn unscaled(array: &dyn Array) -> Option<Values<'_>> {
    match array.data_type() {
        DataType::Decimal128(..) => {
            array.as_primitive_opt::<Decimal128Type>().map(|array| Box::new(array.iter()) as Values<'_>)
        }
        _ => integers(array),
    }
}

/// The values of an integer array widened to `i128`. Decimal128 is left out: its values could overflow the
/// nanosecond arithmetic of timestamps, which an integer of at most 64 bits cannot.
fn integers(array: &dyn Array) -> Option<Values<'_>> {
    fn widen<T>(array: Option<&PrimitiveArray<T>>) -> Option<Values<'_>>
    where
        T: ArrowPrimitiveType,
        T::Native: Into<i128>,
    {
        array.map(|array| Box::new(array.iter().map(|v| v.map(Into::into))) as Values<'_>)
    }
    match array.data_type() {
        DataType::Int8 => widen(array.as_primitive_opt::<Int8Type>()),
        DataType::Int16 => widen(array.as_primitive_opt::<Int16Type>()),
        DataType::Int32 => widen(array.as_primitive_opt::<Int32Type>()),
        DataType::Int64 => widen(array.as_primitive_opt::<Int64Type>()),
        DataType::UInt8 => widen(array.as_primitive_opt::<UInt8Type>()),
        DataType::UInt16 => widen(array.as_primitive_opt::<UInt16Type>()),
        DataType::UInt32 => widen(array.as_primitive_opt::<UInt32Type>()),
        DataType::UInt64 => widen(array.as_primitive_opt::<UInt64Type>()),
        _ => None,
    }
}

/// The column's scale: field metadata `scale` (what Snowflake's drivers read), else the rowtype's, else
/// `default`.
fn scale(field: &Field, column: &ColumnType, default: i32) -> Result<u32, ArrowError> {
    let scale = match field.metadata().get("scale") {
        Some(text) => text.trim().parse::<i32>().map_err(|_| bad_scale(column, format!("{text:?}")))?,
        None => column.scale.unwrap_or(default),
    };
    non_negative(scale, column)
}

fn non_negative(scale: i32, column: &ColumnType) -> Result<u32, ArrowError> {
    u32::try_from(scale).map_err(|_| bad_scale(column, scale.to_string()))
}

fn bad_scale(column: &ColumnType, scale: String) -> ArrowError {
    ArrowError::Scale { column: column.name.clone(), kind: column.kind.clone(), scale }
}

/// `value / 10^scale` as decimal text with exactly `scale` fraction digits: (-10, 2) → "-0.10", (7, 0) → "7".
fn scaled(value: i128, scale: u32, divisor: u128) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let magnitude = value.unsigned_abs();
    if scale == 0 {
        return format!("{sign}{magnitude}");
    }
    let width = scale as usize;
    format!("{sign}{}.{:0width$}", magnitude / divisor, magnitude % divisor)
}

/// Nanoseconds since the epoch as seconds with nine fraction digits.
fn seconds(nanos: i128) -> String {
    scaled(nanos, 9, 1_000_000_000)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
        // Writing to a String cannot fail.
        let _ = write!(out, "{byte:02X}");
        out
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A fixture written by `tests/fixtures/snowflake_arrow/generate.py`: a response's `rowtype` and
    /// `rowsetBase64`, and the JSON-format cells Snowflake would have sent instead.
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Fixture {
        rowtype: Vec<ColumnType>,
        rowset_base64: String,
        expected: Option<Vec<Vec<Option<String>>>>,
    }

    fn fixture(name: &str) -> Fixture {
        let path = format!("{}/tests/fixtures/snowflake_arrow/{name}.json", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    fn assert_decodes_to_expected(name: &str) {
        let fixture = fixture(name);
        let rows = decode_rowset(&fixture.rowset_base64, &fixture.rowtype).unwrap();
        let expected = fixture.expected.unwrap();
        assert_eq!(rows.len(), expected.len(), "{name}: row count");
        for (index, (row, expected)) in rows.iter().zip(&expected).enumerate() {
            for ((cell, expected), column) in row.iter().zip(expected).zip(&fixture.rowtype) {
                assert_eq!(cell, expected, "{name}: row {index}, column {} ({})", column.name, column.kind);
            }
            assert_eq!(row.len(), expected.len(), "{name}: row {index} width");
        }
    }

    #[test]
    fn every_type_fakesnow_serves_decodes_to_snowflakes_json_cells() {
        assert_decodes_to_expected("fakesnow_types");
    }

    #[test]
    fn snowflakes_own_encodings_decode_to_json_cells_across_batches() {
        assert_decodes_to_expected("snowflake_shapes");
    }

    #[test]
    fn an_empty_rowset_string_and_a_schema_only_stream_are_zero_rows() {
        let rowtype = fixture("fakesnow_empty").rowtype;
        assert!(decode_rowset("", &rowtype).unwrap().is_empty());
        assert_decodes_to_expected("fakesnow_empty");
    }

    #[test]
    fn rowtype_deserializes_from_response_json_ignoring_extra_fields() {
        let column = &fixture("fakesnow_types").rowtype[1];
        assert_eq!(
            (column.name.as_str(), column.kind.as_str(), column.precision, column.scale, column.nullable),
            ("AMOUNT", "fixed", Some(10), Some(2), Some(true))
        );
    }

    #[test]
    fn an_arrow_type_no_snowflake_kind_uses_is_an_error_naming_the_column() {
        let fixture = fixture("unsupported");
        let error = decode_rowset(&fixture.rowset_base64, &fixture.rowtype).unwrap_err();
        assert!(matches!(&error, ArrowError::Unsupported { column, .. } if column == "L"), "{error:?}");
        assert_eq!(error.to_string(), "column L (array): Arrow type List is not supported");
    }

    #[test]
    fn a_known_arrow_type_under_the_wrong_kind_is_an_error() {
        let mut fixture = fixture("fakesnow_types");
        fixture.rowtype[0].kind = "geography".into();
        let error = decode_rowset(&fixture.rowset_base64, &fixture.rowtype).unwrap_err();
        assert_eq!(error.to_string(), "column ID (geography): Arrow type Int64 is not supported");
        fixture.rowtype[0].kind = "date".into();
        assert!(matches!(
            decode_rowset(&fixture.rowset_base64, &fixture.rowtype),
            Err(ArrowError::Unsupported { .. })
        ));
    }

    #[test]
    fn a_rowtype_that_does_not_match_the_columns_is_an_error() {
        let mut fixture = fixture("fakesnow_types");
        fixture.rowtype.pop();
        let error = decode_rowset(&fixture.rowset_base64, &fixture.rowtype).unwrap_err();
        assert!(matches!(error, ArrowError::ColumnCount { arrow: 13, rowtype: 12 }), "{error:?}");
    }

    #[test]
    fn invalid_base64_is_an_error() {
        assert!(matches!(decode_rowset("not base64!", &[]), Err(ArrowError::Base64(_))));
    }

    /// Server bytes never panic the decoder: every truncation and many single-byte corruptions of a real stream
    /// return `Ok` or `Err`.
    #[test]
    fn truncated_or_corrupted_streams_are_errors_not_panics() {
        for name in ["snowflake_shapes", "fakesnow_types"] {
            let fixture = fixture(name);
            let bytes = base64::engine::general_purpose::STANDARD.decode(&fixture.rowset_base64).unwrap();
            for end in 0..bytes.len() {
                let _ = decode_ipc(bytes[..end].to_vec(), &fixture.rowtype);
            }
            assert!(matches!(
                decode_ipc(bytes[..bytes.len() / 2].to_vec(), &fixture.rowtype),
                Err(ArrowError::Framing { .. } | ArrowError::Ipc(_))
            ));
            let mut rng = fastrand::Rng::with_seed(7);
            for _ in 0..20_000 {
                let mut corrupted = bytes.clone();
                for _ in 0..rng.usize(1..4) {
                    let at = rng.usize(..corrupted.len());
                    corrupted[at] = rng.u8(..);
                }
                let _ = decode_ipc(corrupted, &fixture.rowtype);
            }
        }
    }

    #[test]
    fn scaled_integers_keep_exactly_scale_fraction_digits() {
        let cases = [
            (12345, 2, "123.45"),
            (-10, 2, "-0.10"),
            (7, 0, "7"),
            (-7, 0, "-7"),
            (0, 3, "0.000"),
            (-1, 9, "-0.000000001"),
            (i128::MIN, 0, "-170141183460469231731687303715884105728"),
            (i128::MAX, 38, "1.70141183460469231731687303715884105727"),
        ];
        for (value, scale, expected) in cases {
            assert_eq!(scaled(value, scale, 10u128.pow(scale)), expected, "{value} scale {scale}");
        }
    }

    #[test]
    fn binary_is_uppercase_hex() {
        assert_eq!(hex(&[0x00, 0xab, 0xff, 0x10]), "00ABFF10");
        assert_eq!(hex(&[]), "");
    }
}
