// Writes include/xlstm.h: portable C99 / C++ (no compiler extensions besides the guarded
// visibility attribute), ASCII, at most `width` columns where the words allow.

struct HeaderWriter {
    static let width = 100
    let api: API
    private var out: [String] = []

    init(api: API) { self.api = api }

    /// The header text. Call only after `Checks.checkDocs` found no problem (docs are ASCII-able).
    static func render(_ api: API) -> String {
        var writer = HeaderWriter(api: api)
        writer.write()
        return writer.out.joined(separator: "\n") + "\n"
    }

    private mutating func emit(_ line: String = "") {
        // Doc text was checked to have an ASCII spelling; names and types are ASCII by construction.
        switch DocComments.ascii(line) {
        case .success(let ascii): out.append(ascii)
        case .failure: preconditionFailure("non-ASCII text reached the header: \(line)")
        }
    }

    /// The doc as wrapped `//` lines; spelled in ASCII before wrapping so the widths are right.
    private mutating func emitDoc(_ doc: Doc, indent: String = "") {
        let ascii = Doc(lines: doc.lines.map { line in
            guard case .success(let spelled) = DocComments.ascii(line) else {
                preconditionFailure("doc line without an ASCII spelling reached the header: \(line)")
            }
            return spelled
        })
        for line in DocComments.commentLines(ascii, indent: indent, width: Self.width) { emit(line) }
    }

    /// `// ---- Title -----…` to the full width; a title too long for that goes under a plain rule.
    private mutating func section(_ title: String) {
        emit()
        let head = "// ---- \(title) "
        if head.count + 4 <= Self.width {
            emit(head + String(repeating: "-", count: Self.width - head.count))
        } else {
            emit("// " + String(repeating: "-", count: Self.width - 3))
            emitDoc(Doc(lines: [title]))
        }
        emit()
    }

    private mutating func write() {
        for line in Prologue.text.split(separator: "\n", omittingEmptySubsequences: false) {
            emit(line.isEmpty ? "//" : "// " + line)
        }
        emit()
        emit("#ifndef XLSTM_H")
        emit("#define XLSTM_H")
        emit()
        emit("#include <stddef.h>")
        emit("#include <stdint.h>")
        emit()
        emit("// XLSTM_API marks the functions libxlstm exports. Define it before including this header to")
        emit("// override it; on Windows define XLSTM_STATIC when linking a static build.")
        emit("#ifndef XLSTM_API")
        emit("#  if defined(_WIN32) || defined(__CYGWIN__)")
        emit("#    ifdef XLSTM_STATIC")
        emit("#      define XLSTM_API")
        emit("#    else")
        emit("#      define XLSTM_API __declspec(dllimport)")
        emit("#    endif")
        emit("#  elif defined(__GNUC__) || defined(__clang__)")
        emit("#    define XLSTM_API __attribute__((visibility(\"default\")))")
        emit("#  else")
        emit("#    define XLSTM_API")
        emit("#  endif")
        emit("#endif")
        emit()
        emit("#ifdef __cplusplus")
        emit("extern \"C\" {")
        emit("#endif")

        if !api.macros.isEmpty {
            section(api.macros.allSatisfy { $0.name.contains("VERSION") } ? "Versions" : "Constants")
            for (i, macro) in api.macros.enumerated() {
                if i > 0 { emit() }
                emitDoc(macro.doc)
                emit("#define \(macro.name) \(macro.spelling)")
            }
        }
        if !api.handles.isEmpty {
            section("Handles (opaque types)")
            for (i, handle) in api.handles.enumerated() {
                if i > 0 { emit() }
                emitDoc(handle.doc)
                emit("typedef struct \(handle.name) \(handle.name);")
            }
        }
        if !api.enums.isEmpty {
            section("Enumerations")
            for (i, enumeration) in api.enums.enumerated() {
                if i > 0 { emit() }
                emitDoc(enumeration.doc)
                emit("typedef enum \(enumeration.name) {")
                for (j, enumerator) in enumeration.enumerators.enumerated() {
                    emitDoc(enumerator.doc, indent: "    ")
                    let comma = j + 1 < enumeration.enumerators.count ? "," : ""
                    emit("    \(enumerator.name) = \(enumerator.spelling)\(comma)")
                }
                emit("} \(enumeration.name);")
            }
        }
        if !api.callbacks.isEmpty {
            section("Callbacks")
            for (i, callback) in api.callbacks.enumerated() {
                if i > 0 { emit() }
                emitDoc(callback.doc)
                let parameters = callback.parameters.isEmpty ? "void"
                    : callback.parameters.map { $0.type.declaration($0.name) }.joined(separator: ", ")
                emit("typedef \(callback.returnType.spelling) (*\(callback.name))(\(parameters));")
            }
        }
        if !api.structs.isEmpty {
            section("Structures")
            for (i, structure) in api.structs.enumerated() {
                if i > 0 { emit() }
                emitDoc(structure.doc)
                emit("typedef struct \(structure.name) {")
                for field in structure.fields {
                    emitDoc(field.doc, indent: "    ")
                    emit("    \(field.type.declaration(field.name));")
                }
                emit("} \(structure.name);")
            }
        }
        for group in api.groups {
            section(Self.title(of: group))
            for (i, function) in group.functions.enumerated() {
                if i > 0 { emit() }
                emitDoc(function.doc)
                for line in Self.prototype(function) { emit(line) }
            }
        }

        emit()
        emit("#ifdef __cplusplus")
        emit("}")
        emit("#endif")
        emit()
        emit("#endif // XLSTM_H")
    }

    static func title(of group: FunctionGroup) -> String {
        guard var title = group.title, !title.isEmpty else {
            return String(group.fileName.dropLast(".swift".count))
        }
        while title.hasSuffix(".") { title.removeLast() }
        return title
    }

    /// `XLSTM_API R name(T a, U b);`, wrapped after commas: continuation lines align with the
    /// first parameter, or, when the name is too long for that, are indented by four spaces.
    static func prototype(_ function: Function) -> [String] {
        let head = "XLSTM_API " + function.returnType.declaration(function.name) + "("
        let parameters = function.parameters.isEmpty ? ["void"] : function.parameters.map { $0.type.declaration($0.name) }
        let oneLine = head + parameters.joined(separator: ", ") + ");"
        if oneLine.count <= width { return [oneLine] }

        func pack(first: String, indent: String) -> [String] {
            var lines: [String] = []
            var line = first
            var lineHasParameter = false
            for (i, parameter) in parameters.enumerated() {
                let piece = parameter + (i + 1 < parameters.count ? "," : ");")
                if !lineHasParameter {
                    line += piece
                    lineHasParameter = true
                } else if line.count + 1 + piece.count <= width {
                    line += " " + piece
                } else {
                    lines.append(line)
                    line = indent + piece
                }
            }
            lines.append(line)
            return lines
        }
        let aligned = pack(first: head, indent: String(repeating: " ", count: head.count))
        if aligned.allSatisfy({ $0.count <= width }) { return aligned }
        return [head] + pack(first: "    ", indent: "    ")
    }
}
