// safetensors reader: an 8-byte little-endian header length N, N bytes of JSON
// `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`, then the data.
// Every field is validated against the file size before any tensor is touched.

public enum DType: String, Sendable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    /// Codes of block-quantized tensors (q8_0: I8, q4_0: U8, two codes a byte; BlockQuant.swift).
    case i8 = "I8"
    case u8 = "U8"

    public var byteSize: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .i8, .u8: return 1
        }
    }
}

/// Where one tensor's bytes live inside a mapped safetensors file.
public struct TensorEntry: Sendable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// The mapping holding the data, and the data's byte range within it.
    public let file: MappedFile
    public let byteOffset: Int
    public let byteCount: Int

    public var elementCount: Int { shape.reduce(1, *) }
    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[byteOffset..<(byteOffset + byteCount)])
    }
}

public struct SafeTensorsFile: Sendable {
    public let file: MappedFile
    public let entries: [TensorEntry]

    public init(path: String, mode: LoadMode = .map) throws(XLSTMError) {
        let file = try MappedFile(path: path, mode: mode)
        self.file = file
        let bytes = file.bytes
        guard bytes.count >= 8 else {
            throw XLSTMError(.invalidModel, "\(path): truncated safetensors file (\(bytes.count) bytes, no header)")
        }
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(bytes.count - 8), headerLength <= 100 << 20 else {
            throw XLSTMError(.invalidModel,
                             "\(path): safetensors header length \(headerLength) exceeds the file (\(bytes.count) bytes)")
        }
        let dataStart = 8 + Int(headerLength)
        let dataSize = bytes.count - dataStart
        let header = try JSON.parse(UnsafeRawBufferPointer(rebasing: bytes[8..<dataStart]),
                                    context: "\(path) (safetensors header)")
        guard let members = header.members else {
            throw XLSTMError(.invalidModel, "\(path): safetensors header is not a JSON object")
        }
        guard members.count <= Limits.maxTensorsPerFile + 1 else {
            throw XLSTMError(.invalidModel, "\(path): safetensors header lists \(members.count) tensors (limit \(Limits.maxTensorsPerFile))")
        }
        var entries: [TensorEntry] = []
        entries.reserveCapacity(members.count)
        for (name, value) in members where name != "__metadata__" {
            func bad(_ why: String) -> XLSTMError {
                XLSTMError(.invalidModel, "\(path): tensor '\(name)': \(why)")
            }
            guard let dtypeName = value["dtype"]?.stringValue else { throw bad("missing dtype") }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw XLSTMError(.unsupported, "\(path): tensor '\(name)': dtype \(dtypeName) is not supported (F32, F16, BF16; I8 and U8 for the codes of quantized tensors)")
            }
            guard let shapeItems = value["shape"]?.arrayValue else { throw bad("missing shape") }
            guard shapeItems.count <= Limits.maxTensorRank else { throw bad("shape has \(shapeItems.count) dimensions (limit \(Limits.maxTensorRank))") }
            var shape: [Int] = []
            var count = 1
            for item in shapeItems {
                guard let d = item.intValue, d >= 0, d < 1 << 40 else { throw bad("invalid shape") }
                shape.append(d)
                let (product, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow, product < 1 << 40 else { throw bad("shape too large") }
                count = product
            }
            guard let offsets = value["data_offsets"]?.arrayValue, offsets.count == 2,
                  let begin = offsets[0].intValue, let end = offsets[1].intValue,
                  begin >= 0, end >= begin else { throw bad("invalid data_offsets") }
            guard end <= dataSize else {
                throw bad("data [\(begin), \(end)) runs past the end of the file (truncated? \(dataSize) data bytes)")
            }
            guard end - begin == count * dtype.byteSize else {
                throw bad("\(end - begin) bytes do not match shape \(shape) of \(dtypeName)")
            }
            entries.append(TensorEntry(name: name, dtype: dtype, shape: shape, file: file,
                                       byteOffset: dataStart + begin, byteCount: end - begin))
        }
        self.entries = entries
    }
}
