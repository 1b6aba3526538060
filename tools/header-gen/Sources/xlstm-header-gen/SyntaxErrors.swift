// Swift syntax errors, so that a file the parser only partly understood is never half-read.

import SwiftDiagnostics
import SwiftParserDiagnostics
import SwiftSyntax

enum SyntaxErrors {
    static func list(_ tree: SourceFileSyntax, converter: SourceLocationConverter) -> [(line: Int, column: Int, message: String)] {
        ParseDiagnosticsGenerator.diagnostics(for: tree)
            .filter { $0.diagMessage.severity == .error }
            .map { diagnostic in
                let location = diagnostic.location(converter: converter)
                return (location.line, location.column, diagnostic.message)
            }
    }
}
