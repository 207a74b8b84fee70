import CSnappy

/// Snappy's block format through Debian's libsnappy, for remote-write bodies
/// (`Content-Encoding: snappy`: the block format, not the framed one).
public enum Snappy {
    public struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
        public var description: String
    }

    public static func compress(_ input: [UInt8]) -> [UInt8] {
        var length = snappy_max_compressed_length(input.count)
        var output = [UInt8](repeating: 0, count: length)
        let status = input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { target in
                snappy_compress(
                    source.baseAddress?.assumingMemoryBound(to: CChar.self), source.count,
                    target.baseAddress?.assumingMemoryBound(to: CChar.self), &length)
            }
        }
        // Compression into a buffer of snappy_max_compressed_length cannot fail.
        precondition(status == SNAPPY_OK, "snappy_compress failed with a large enough buffer")
        output.removeSubrange(length...)
        return output
    }

    /// Decompresses a block, refusing to produce more than `limit` bytes.
    public static func decompress(_ input: [UInt8], limit: Int = 64 << 20) throws(Failure) -> [UInt8] {
        var length = 0
        let known = input.withUnsafeBytes {
            snappy_uncompressed_length($0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count, &length)
        }
        guard known == SNAPPY_OK else { throw Failure(description: "not a snappy block") }
        guard length <= limit else { throw Failure(description: "a snappy block of \(length) bytes is over the limit") }
        var output = [UInt8](repeating: 0, count: length)
        let status = input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { target in
                snappy_uncompress(
                    source.baseAddress?.assumingMemoryBound(to: CChar.self), source.count,
                    target.baseAddress?.assumingMemoryBound(to: CChar.self), &length)
            }
        }
        guard status == SNAPPY_OK else { throw Failure(description: "a damaged snappy block") }
        return output
    }
}
