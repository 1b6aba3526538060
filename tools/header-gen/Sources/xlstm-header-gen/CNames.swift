// Rules for the names the header declares.

enum CNames {
    /// Words a C or C++ compiler would not accept as a parameter or field name (C11 and C++17
    /// keywords, alternative operator spellings, and names the standard headers may define as macros).
    static let reserved: Set<String> = [
        // C11
        "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
        "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict",
        "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union",
        "unsigned", "void", "volatile", "while", "_Alignas", "_Alignof", "_Atomic", "_Bool", "_Complex",
        "_Generic", "_Imaginary", "_Noreturn", "_Static_assert", "_Thread_local",
        // C++17
        "alignas", "alignof", "asm", "bool", "catch", "char16_t", "char32_t", "class", "const_cast",
        "constexpr", "decltype", "delete", "dynamic_cast", "explicit", "export", "false", "friend",
        "mutable", "namespace", "new", "noexcept", "nullptr", "operator", "private", "protected",
        "public", "reinterpret_cast", "static_assert", "static_cast", "template", "this",
        "thread_local", "throw", "true", "try", "typeid", "typename", "using", "virtual", "wchar_t",
        "and", "and_eq", "bitand", "bitor", "compl", "not", "not_eq", "or", "or_eq", "xor", "xor_eq",
        // macros of <stddef.h>, <stdint.h>, <assert.h>, <errno.h> that would break a declarator
        "NULL", "offsetof", "assert", "errno",
    ]

    /// A plain C identifier: ASCII letters, digits and '_', not starting with a digit.
    static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !name.isEmpty else { return false }
        func isLetter(_ c: Unicode.Scalar) -> Bool { (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" }
        guard isLetter(first) else { return false }
        return name.unicodeScalars.allSatisfy { isLetter($0) || ($0 >= "0" && $0 <= "9") }
    }

    /// Checks a parameter or field name; returns the problem, if any.
    static func problem(withMemberName name: String) -> String? {
        if !isIdentifier(name) { return "`\(name)` is not a plain C identifier" }
        if reserved.contains(name) { return "`\(name)` is a C or C++ keyword or standard macro" }
        if name.hasPrefix("__") || (name.hasPrefix("_") && name.count > 1 && name.dropFirst().first!.isUppercase) {
            return "`\(name)` is a name reserved for the C implementation"
        }
        return nil
    }
}
