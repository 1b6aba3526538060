// The C API as the generator understands it: what the reader builds from the Swift sources and what
// the header and manifest writers print. Nothing here knows about Swift syntax.

/// A C type of the LP64 data model (x86-64 System V, AArch64), as written in the header.
indirect enum CType: Equatable {
    case void
    case scalar(CScalar)
    /// An enum declared by the API (`xlstm_status`); 4 bytes, passed as a 32-bit integer.
    case enumeration(String)
    /// An opaque handle type (`xlstm_model`); only ever behind a pointer.
    case handle(String)
    /// A struct declared by the API (`xlstm_model_info`); only ever behind a pointer in signatures.
    case structure(String)
    /// `T *`, or `const T *` when `constPointee`.
    case pointer(to: CType, constPointee: Bool)
    /// A function pointer type declared by the API (`xlstm_progress_callback`); pointer-sized.
    case callback(String)

    /// The type as the header spells it: `const char *`, `xlstm_model **`, `char *const *`.
    var spelling: String {
        switch self {
        case .void: return "void"
        case .scalar(let scalar): return scalar.rawValue
        case .enumeration(let name), .handle(let name), .structure(let name), .callback(let name): return name
        case .pointer(let pointee, let constPointee):
            if case .pointer = pointee {
                return pointee.spelling + (constPointee ? "const *" : "*")
            }
            return (constPointee ? "const " : "") + pointee.spelling + " *"
        }
    }

    /// `spelling` followed by a declarator name: `const char *path`, `int32_t token`.
    func declaration(_ name: String) -> String {
        let type = spelling
        return type.hasSuffix("*") ? type + name : type + " " + name
    }

    var isPointer: Bool {
        if case .pointer = self { return true }
        return false
    }

    /// A pointer or a function pointer: what may be NULL (a Swift Optional).
    var isNullable: Bool {
        switch self {
        case .pointer, .callback: return true
        default: return false
        }
    }

    /// How libffi passes a value of this type (the manifest's "ffi" kind).
    var ffiKind: String {
        switch self {
        case .void: return "void"
        case .scalar(let scalar): return scalar.ffiKind
        case .enumeration: return "sint32"
        case .pointer, .callback: return "pointer"
        case .handle, .structure: preconditionFailure("\(spelling) is never passed by value")
        }
    }

    /// Size and alignment in bytes (LP64: natural alignment, 8-byte pointers).
    var layout: (size: Int, alignment: Int) {
        switch self {
        case .scalar(let scalar): return (scalar.size, scalar.size)
        case .enumeration: return (4, 4)
        case .pointer, .callback: return (8, 8)
        case .void, .handle, .structure: preconditionFailure("\(spelling) has no layout of its own")
        }
    }
}

/// The scalar C types the conventions allow.
enum CScalar: String, CaseIterable {
    case int8 = "int8_t", int16 = "int16_t", int32 = "int32_t", int64 = "int64_t"
    case uint8 = "uint8_t", uint16 = "uint16_t", uint32 = "uint32_t", uint64 = "uint64_t"
    case size = "size_t", ptrdiff = "ptrdiff_t"
    case float = "float", double = "double"
    /// Only as a pointee (`const char *`): the signedness of plain char differs between ABIs.
    case char = "char"

    var size: Int {
        switch self {
        case .int8, .uint8, .char: return 1
        case .int16, .uint16: return 2
        case .int32, .uint32, .float: return 4
        case .int64, .uint64, .size, .ptrdiff, .double: return 8
        }
    }

    var ffiKind: String {
        switch self {
        case .int8, .char: return "sint8"
        case .int16: return "sint16"
        case .int32: return "sint32"
        case .int64, .ptrdiff: return "sint64"
        case .uint8: return "uint8"
        case .uint16: return "uint16"
        case .uint32: return "uint32"
        case .uint64: return "uint64"
        case .size: return "size_t"
        case .float: return "float"
        case .double: return "double"
        }
    }
}

/// A `///` doc comment: its lines without the `///` and the one space after it.
struct Doc: Equatable {
    var lines: [String]
    var isEmpty: Bool { lines.allSatisfy { $0.isEmpty } }
    /// The text as written, lines joined by "\n" (the manifest's "doc").
    var text: String { lines.joined(separator: "\n") }
}

/// Where a declaration comes from, for diagnostics and the manifest's "file".
struct SourceSpot: Equatable {
    var path: String   // as given on the command line + file name
    var fileName: String
    var line: Int
    var column: Int
}

/// `public let XLSTM_NAME: Int32 = value` → `#define XLSTM_NAME value`.
struct Macro {
    var name: String
    var value: Int32
    /// The value as the header writes it (decimal, or hexadecimal if the source used hexadecimal).
    var spelling: String
    var doc: Doc
    var spot: SourceSpot
}

/// `public enum NAME: COpaqueType {}` → `typedef struct NAME NAME;`.
struct OpaqueHandle {
    var name: String
    var doc: Doc
    var spot: SourceSpot
}

struct Enumerator {
    var name: String
    var value: Int32
    var spelling: String
    var doc: Doc
    var spot: SourceSpot
}

/// `public enum NAME: Int32, CEnum { case X = 0 … }` → `typedef enum NAME { X = 0, … } NAME;`.
struct Enumeration {
    var name: String
    var doc: Doc
    var spot: SourceSpot
    var enumerators: [Enumerator]
}

struct Field {
    var name: String
    var type: CType
    var doc: Doc
    var spot: SourceSpot
    /// Byte offset in the struct (filled in by `Layout`).
    var offset = 0
}

/// `public struct NAME: CStruct { public var f: T }` → `typedef struct NAME { T f; } NAME;`.
struct Structure {
    var name: String
    var doc: Doc
    var spot: SourceSpot
    var fields: [Field]
    var size = 0
    var alignment = 1
}

struct Parameter {
    var name: String
    var type: CType
    /// The Swift type was Optional: the C argument may be NULL.
    var nullable: Bool
}

/// `@c public func name(_ p: T, …) -> R` → `XLSTM_API R name(T p, …);`.
struct Function {
    var name: String
    var returnType: CType
    var returnNullable: Bool
    var parameters: [Parameter]
    var doc: Doc
    var spot: SourceSpot
}

/// The functions of one source file, in source order; a section of the header.
struct FunctionGroup {
    var fileName: String
    /// The file's opening `//` comment ("Models: load, free, describe."), if it has one.
    var title: String?
    var functions: [Function]
}

/// `public typealias NAME = @convention(c) (_ a: T, …) -> R` → `typedef R (*NAME)(T a, …);`.
struct Callback {
    var name: String
    var returnType: CType
    var parameters: [Parameter]
    var doc: Doc
    var spot: SourceSpot
}

/// Everything the header and the manifest describe, in output order.
struct API {
    var macros: [Macro] = []
    var handles: [OpaqueHandle] = []
    var enums: [Enumeration] = []
    var callbacks: [Callback] = []
    var structs: [Structure] = []
    var groups: [FunctionGroup] = []

    var functions: [Function] { groups.flatMap(\.functions) }
}
