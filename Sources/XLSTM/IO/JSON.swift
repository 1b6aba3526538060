// A small immutable JSON tree built with json-c (the only JSON parser the library uses).
// json-c parses; the tree is copied into Swift values and the json-c object released at once,
// so nothing json-c allocates outlives `JSON.parse`.

import CJSONC

public enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    /// Members in file order (config files are small; lookups are linear).
    case object([(String, JSON)])

    public static func == (lhs: JSON, rhs: JSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.double(a), .double(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// Parses `bytes` as one JSON document. `context` names the source in error messages.
    public static func parse(_ bytes: UnsafeRawBufferPointer, context: String) throws(XLSTMError) -> JSON {
        guard let tokener = json_tokener_new_ex(64) else {
            throw XLSTMError(.io, "\(context): json-c could not allocate a parser")
        }
        defer { json_tokener_free(tokener) }
        guard bytes.count < Int(Int32.max) else {
            throw XLSTMError(.invalidModel, "\(context): JSON document too large (\(bytes.count) bytes)")
        }
        let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self)
        let root = json_tokener_parse_ex(tokener, base, Int32(bytes.count))
        let error = json_tokener_get_error(tokener)
        guard let root, error == json_tokener_success else {
            if let root { json_object_put(root) }
            let reason = error == json_tokener_continue
                ? "unexpected end of input" : String(cString: json_tokener_error_desc(error))
            throw XLSTMError(.invalidModel, "\(context): invalid JSON (\(reason))")
        }
        defer { json_object_put(root) }
        // json-c stops at the end of the first value; anything but white space after it is an error.
        let consumed = Int(json_tokener_get_parse_end(tokener))
        if consumed < bytes.count {
            for i in consumed..<bytes.count where !(bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 || bytes[i] == 0) {
                throw XLSTMError(.invalidModel, "\(context): invalid JSON (trailing data at byte \(i))")
            }
        }
        return convert(root, depth: 0)
    }

    public static func parse(_ bytes: [UInt8], context: String) throws(XLSTMError) -> JSON {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(XLSTMError) -> JSON in try parse(raw, context: context) }
        }
        return try result.get()
    }

    public static func parse(_ text: String, context: String) throws(XLSTMError) -> JSON {
        try parse(Array(text.utf8), context: context)
    }

    private static func convert(_ object: OpaquePointer?, depth: Int) -> JSON {
        guard let object else { return .null }
        switch json_object_get_type(object) {
        case json_type_null: return .null
        case json_type_boolean: return .bool(json_object_get_boolean(object) != 0)
        case json_type_int: return .int(json_object_get_int64(object))
        case json_type_double: return .double(json_object_get_double(object))
        case json_type_string:
            let length = Int(json_object_get_string_len(object))
            guard let chars = json_object_get_string(object) else { return .string("") }
            let buffer = UnsafeRawBufferPointer(start: chars, count: length)
            return .string(String(decoding: buffer, as: UTF8.self))
        case json_type_array:
            let count = json_object_array_length(object)
            var items: [JSON] = []
            items.reserveCapacity(count)
            for i in 0..<count { items.append(convert(json_object_array_get_idx(object, i), depth: depth + 1)) }
            return .array(items)
        case json_type_object:
            var members: [(String, JSON)] = []
            var iterator = json_object_iter_begin(object)
            var end = json_object_iter_end(object)
            while json_object_iter_equal(&iterator, &end) == 0 {
                let key = String(cString: json_object_iter_peek_name(&iterator))
                members.append((key, convert(json_object_iter_peek_value(&iterator), depth: depth + 1)))
                json_object_iter_next(&iterator)
            }
            return .object(members)
        default: return .null
        }
    }

    // MARK: Access

    public subscript(key: String) -> JSON? {
        guard case let .object(members) = self else { return nil }
        return members.first(where: { $0.0 == key })?.1
    }

    public var members: [(String, JSON)]? {
        if case let .object(m) = self { return m }
        return nil
    }

    public var arrayValue: [JSON]? {
        if case let .array(a) = self { return a }
        return nil
    }

    public var stringValue: String? {
        if case let .string(s) = self { return s }
        return nil
    }

    public var boolValue: Bool? {
        if case let .bool(b) = self { return b }
        return nil
    }

    /// Integers, and doubles that hold an integral value (Python writes `4.0` for some int fields).
    public var intValue: Int? {
        switch self {
        case let .int(i): return Int(exactly: i)
        case let .double(d): return d.rounded() == d && abs(d) < 1e15 ? Int(d) : nil
        default: return nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case let .int(i): return Double(i)
        case let .double(d): return d
        default: return nil
        }
    }

    public var isNull: Bool { if case .null = self { return true } else { return false } }
}
