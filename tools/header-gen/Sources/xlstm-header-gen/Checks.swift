// What is checked once the whole API is read: struct layouts, and that every doc comment can be
// written into the ASCII header and names only things the header declares.

enum Checks {
    /// Lays out every struct as the LP64 C ABIs do (fields in order, natural alignment) and refuses
    /// any implicit padding: with none, Swift's layout of the same fields is the same, so the library
    /// (which loads and stores these structs with Swift's layout) and C callers agree.
    static func layOut(_ api: inout API, problems: inout Problems) {
        for s in api.structs.indices {
            var offset = 0, alignment = 1
            for f in api.structs[s].fields.indices {
                let field = api.structs[s].fields[f]
                let (size, fieldAlignment) = field.type.layout
                if offset % fieldAlignment != 0 {
                    let gap = fieldAlignment - offset % fieldAlignment
                    problems.error("struct `\(api.structs[s].name)`: field `\(field.name)` (\(field.type.spelling), aligned to "
                                   + "\(fieldAlignment)) would start at offset \(offset + gap) after \(gap) byte(s) of implicit "
                                   + "padding; add an explicit field before it (e.g. `public var reserved0: "
                                   + "\(gap == 4 ? "UInt32" : gap == 2 ? "UInt16" : "UInt8")`) or reorder the fields", at: field.spot)
                    offset += gap
                }
                api.structs[s].fields[f].offset = offset
                offset += size
                alignment = max(alignment, fieldAlignment)
            }
            if offset % alignment != 0 {
                let gap = alignment - offset % alignment
                problems.error("struct `\(api.structs[s].name)` ends at offset \(offset) but is aligned to \(alignment): C would add "
                               + "\(gap) byte(s) of tail padding that Swift's layout does not have; add an explicit trailing field "
                               + "(e.g. `public var reserved: \(gap == 4 ? "UInt32" : gap == 2 ? "UInt16" : "UInt8")`)",
                               at: api.structs[s].spot)
                offset += gap
            }
            api.structs[s].size = offset
            api.structs[s].alignment = alignment
        }
    }

    /// Names the header declares besides those read from the sources.
    static let headerNames: Set<String> = ["XLSTM_API", "XLSTM_STATIC", "XLSTM_H"]
    /// Names that docs may mention without declaring: `xlstm_large` is a package of the official
    /// Python implementation, `XLSTM_CPU` the environment variable that forces a kernel path.
    static let foreignNames: Set<String> = ["xlstm_large", "XLSTM_CPU"]

    /// Every doc comment (and the header's prologue) must be writable in ASCII and may mention only
    /// `xlstm_…`/`XLSTM_…` names that exist.
    static func checkDocs(_ api: API, prologue: String, problems: inout Problems) {
        var known = headerNames.union(foreignNames)
        api.macros.forEach { known.insert($0.name) }
        api.handles.forEach { known.insert($0.name) }
        api.enums.forEach { e in known.insert(e.name); e.enumerators.forEach { known.insert($0.name) } }
        api.structs.forEach { known.insert($0.name) }
        api.callbacks.forEach { known.insert($0.name) }
        api.functions.forEach { known.insert($0.name) }

        func check(_ doc: Doc, of what: String, at spot: SourceSpot) {
            if case .failure(let bad) = DocComments.ascii(doc.text) {
                problems.error("the doc comment of \(what) contains \(bad.description), which has no ASCII spelling in the "
                               + "header; write it in ASCII or add it to DocComments.asciiSpellings", at: spot)
            }
            // In a `//` comment, a line ending in a backslash (or the C99 trigraph ??/) continues the
            // comment onto the next line of the header, and the re-wrapping may end a line at any word.
            for word in doc.text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
            where word.hasSuffix("\\") || word.hasSuffix("??/") {
                problems.error("the doc comment of \(what) has a word ending in a backslash (`\(word)`), which would "
                               + "continue a C `//` comment onto the next line; rephrase it", at: spot)
            }
            for name in DocComments.mentionedNames(in: doc.text) where !known.contains(name) {
                problems.error("the doc comment of \(what) mentions `\(name)`, which the header does not declare "
                               + "(a name of other software goes into Checks.foreignNames)", at: spot)
            }
        }
        for macro in api.macros { check(macro.doc, of: macro.name, at: macro.spot) }
        for handle in api.handles { check(handle.doc, of: handle.name, at: handle.spot) }
        for e in api.enums {
            check(e.doc, of: e.name, at: e.spot)
            for enumerator in e.enumerators { check(enumerator.doc, of: enumerator.name, at: enumerator.spot) }
        }
        for s in api.structs {
            check(s.doc, of: s.name, at: s.spot)
            for field in s.fields { check(field.doc, of: "\(s.name).\(field.name)", at: field.spot) }
        }
        for callback in api.callbacks { check(callback.doc, of: callback.name, at: callback.spot) }
        for function in api.functions { check(function.doc, of: function.name, at: function.spot) }

        let prologueSpot = SourceSpot(path: "tools/header-gen/Sources/xlstm-header-gen/Prologue.swift",
                                      fileName: "Prologue.swift", line: 1, column: 1)
        check(Doc(lines: prologue.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)),
              of: "the header's prologue", at: prologueSpot)
    }
}
