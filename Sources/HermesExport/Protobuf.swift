/// The few protocol-buffer encodings remote write needs, written by hand: the message is small and
/// fixed (`prompb.WriteRequest`), so a code generator and its runtime would not earn their build.
/// Fields are written in field-number order, as protoc does.
struct ProtobufWriter {
    private(set) var bytes: [UInt8] = []

    enum WireType: UInt8 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
    }

    mutating func tag(_ field: UInt8, _ type: WireType) {
        bytes.append(field << 3 | type.rawValue)
    }

    mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// A string field; empty strings are left out, as proto3 does.
    mutating func string(_ field: UInt8, _ value: String) {
        guard !value.isEmpty else { return }
        tag(field, .lengthDelimited)
        varint(UInt64(value.utf8.count))
        bytes += value.utf8
    }

    /// A `double` field, little-endian IEEE 754; proto3 leaves out 0.
    mutating func double(_ field: UInt8, _ value: Double) {
        guard value.bitPattern != 0 else { return }
        tag(field, .fixed64)
        var bits = value.bitPattern.littleEndian
        withUnsafeBytes(of: &bits) { bytes += $0 }
    }

    /// An `int64` field: negative values take ten bytes, as the two's complement varint.
    mutating func int64(_ field: UInt8, _ value: Int64) {
        guard value != 0 else { return }
        tag(field, .varint)
        varint(UInt64(bitPattern: value))
    }

    /// An embedded message written by `body`.
    mutating func message(_ field: UInt8, _ body: (inout ProtobufWriter) -> Void) {
        var inner = ProtobufWriter()
        body(&inner)
        tag(field, .lengthDelimited)
        varint(UInt64(inner.bytes.count))
        bytes += inner.bytes
    }
}
