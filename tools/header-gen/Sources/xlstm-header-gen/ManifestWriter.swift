// Writes include/xlstm.abi.json: the same API for programs (a libffi conformance test, bindings).
// Every C type string is spelled exactly as in the header; "ffi" says how libffi passes the value.

enum JSON {
    case string(String)
    case int(Int)
    case bool(Bool)
    case array([JSON])
    /// Members in the order given (the output order is part of the format: stable diffs).
    case object([(String, JSON)])

    /// Pretty-printed with two-space indentation. An object of scalars without a "doc" (a type, a
    /// parameter) is written on one line, and so is an array of scalars that fits in `width` columns.
    func rendered(indent: Int = 0, width: Int = 110) -> String {
        let pad = String(repeating: " ", count: indent)
        switch self {
        case .string(let s): return JSON.quote(s)
        case .int(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .array(let items):
            if items.isEmpty { return "[]" }
            if items.allSatisfy(\.isScalar) {
                let inline = "[" + items.map { $0.rendered() }.joined(separator: ", ") + "]"
                if indent + inline.count <= width { return inline }
            }
            let inner = items.map { pad + "  " + $0.rendered(indent: indent + 2, width: width) }
            return "[\n" + inner.joined(separator: ",\n") + "\n" + pad + "]"
        case .object(let members):
            if members.isEmpty { return "{}" }
            if members.allSatisfy({ $0.1.isScalar && $0.0 != "doc" }) {
                return "{" + members.map { JSON.quote($0.0) + ": " + $0.1.rendered() }.joined(separator: ", ") + "}"
            }
            let inner = members.map { pad + "  " + JSON.quote($0.0) + ": " + $0.1.rendered(indent: indent + 2, width: width) }
            return "{\n" + inner.joined(separator: ",\n") + "\n" + pad + "}"
        }
    }

    private var isScalar: Bool {
        switch self {
        case .string, .int, .bool: return true
        case .array(let items): return items.isEmpty
        case .object(let members): return members.isEmpty
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

enum ManifestWriter {
    /// Version of this file's format; bump it when a key changes meaning or disappears.
    static let formatVersion = 1

    static func render(_ api: API, headerName: String) -> String {
        func doc(_ d: Doc) -> (String, JSON) { ("doc", .string(d.text)) }
        func typed(_ type: CType, nullable: Bool) -> [(String, JSON)] {
            var members: [(String, JSON)] = [("type", .string(type.spelling)), ("ffi", .string(type.ffiKind))]
            if case .pointer(let pointee, let constPointee) = type {
                members.append(("pointee", .string(pointee.spelling)))
                members.append(("const_pointee", .bool(constPointee)))
                members.append(("nullable", .bool(nullable)))
            }
            if case .callback = type {
                members.append(("callback", .bool(true)))
                members.append(("nullable", .bool(nullable)))
            }
            return members
        }

        let macros = JSON.array(api.macros.map { macro in
            .object([("name", .string(macro.name)), ("value", .int(Int(macro.value))), ("type", .string("int")),
                     ("file", .string(macro.spot.fileName)), doc(macro.doc)])
        })
        let handles = JSON.array(api.handles.map { handle in
            .object([("name", .string(handle.name)), ("file", .string(handle.spot.fileName)), doc(handle.doc)])
        })
        let enums = JSON.array(api.enums.map { enumeration in
            .object([
                ("name", .string(enumeration.name)), ("size", .int(4)), ("ffi", .string("sint32")),
                ("file", .string(enumeration.spot.fileName)), doc(enumeration.doc),
                ("enumerators", .array(enumeration.enumerators.map { enumerator in
                    .object([("name", .string(enumerator.name)), ("value", .int(Int(enumerator.value))), doc(enumerator.doc)])
                })),
            ])
        })
        let callbacks = JSON.array(api.callbacks.map { callback in
            .object([
                ("name", .string(callback.name)), ("file", .string(callback.spot.fileName)), doc(callback.doc),
                ("return", .object(typed(callback.returnType, nullable: false))),
                ("parameters", .array(callback.parameters.map { parameter in
                    .object([("name", .string(parameter.name))] + typed(parameter.type, nullable: parameter.nullable))
                })),
            ])
        })
        let structs = JSON.array(api.structs.map { structure in
            .object([
                ("name", .string(structure.name)), ("size", .int(structure.size)), ("alignment", .int(structure.alignment)),
                ("file", .string(structure.spot.fileName)), doc(structure.doc),
                ("fields", .array(structure.fields.map { field in
                    let (size, alignment) = field.type.layout
                    return .object([("name", .string(field.name))] + typed(field.type, nullable: false)
                                   + [("offset", .int(field.offset)), ("size", .int(size)), ("alignment", .int(alignment)),
                                      doc(field.doc)])
                })),
            ])
        })
        let functions = JSON.array(api.functions.map { function in
            .object([
                ("name", .string(function.name)), ("file", .string(function.spot.fileName)), doc(function.doc),
                ("return", .object(typed(function.returnType, nullable: function.returnNullable))),
                ("parameters", .array(function.parameters.map { parameter in
                    .object([("name", .string(parameter.name))] + typed(parameter.type, nullable: parameter.nullable))
                })),
            ])
        })
        let root = JSON.object([
            ("comment", .string("Generated by tools/header-gen from Sources/XLSTMCABI/*.swift together with \(headerName); "
                                + "do not edit. Type strings are spelled as in the header. Sizes and offsets are for LP64 C ABIs "
                                + "(x86-64 System V, AArch64). ffi kinds: void, sint8, uint8, sint16, uint16, sint32, uint32, "
                                + "sint64, uint64, size_t, float, double, pointer (enums are sint32).")),
            ("format_version", .int(formatVersion)),
            ("header", .string(headerName)),
            ("data_model", .string("LP64")),
            ("macros", macros),
            ("handles", handles),
            ("enums", enums),
            ("callbacks", callbacks),
            ("structs", structs),
            ("functions", functions),
        ])
        return root.rendered() + "\n"
    }
}
