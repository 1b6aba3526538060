// Reads Sources/XLSTMCABI/*.swift into an `API`, following the conventions documented at the top of
// Types.swift. Pass 1 finds the C types (so signatures can refer to types of any file), pass 2 maps
// every field and signature. Whatever has no exact C meaning is a problem, never a guess.

import SwiftParser
import SwiftSyntax

/// One parsed Swift file.
struct SwiftFile {
    var fileName: String
    var path: String
    var tree: SourceFileSyntax
    var converter: SourceLocationConverter

    init(fileName: String, path: String, text: String) {
        self.fileName = fileName
        self.path = path
        tree = Parser.parse(source: text)
        converter = SourceLocationConverter(fileName: path, tree: tree)
    }

    func spot(_ node: some SyntaxProtocol) -> SourceSpot {
        let location = converter.location(for: node.positionAfterSkippingLeadingTrivia)
        return SourceSpot(path: path, fileName: fileName, line: location.line, column: location.column)
    }
}

struct Reader {
    /// Functions are grouped by file in this order; files not listed follow, sorted by name.
    static let fileOrder = ["Types.swift", "VersionAPI.swift", "ModelAPI.swift", "SessionAPI.swift",
                            "StateAPI.swift", "SamplerAPI.swift"]
    /// Conformances that do not change what a type means in C.
    static let neutralConformances: Set<String> = ["Sendable", "Equatable", "Hashable", "BitwiseCopyable"]
    /// Attributes an exported function may carry besides `@c`.
    static let neutralFunctionAttributes: Set<String> = ["inline", "discardableResult"]
    /// The generic typealiases of the conventions and the Swift type each must stand for.
    static let conventionTypealiases: [String: String] = [
        "Handle": "OpaquePointer", "ConstHandle": "OpaquePointer",
        "StructPointer": "UnsafeMutableRawPointer", "ConstStructPointer": "UnsafeRawPointer",
        "CEnumValue": "Int32",
    ]
    static let conventionProtocols: Set<String> = ["COpaqueType", "CEnum", "CStruct"]

    private(set) var problems = Problems()
    private var handleNames: Set<String> = []
    private var enumNames: Set<String> = []
    private var structNames: Set<String> = []
    private var callbackNames: Set<String> = []
    /// Every name the header declares, with where it was first declared.
    private var declaredNames: [String: SourceSpot] = [:]

    static func ordered(_ files: [SwiftFile]) -> [SwiftFile] {
        files.sorted { a, b in
            let ia = fileOrder.firstIndex(of: a.fileName) ?? fileOrder.count
            let ib = fileOrder.firstIndex(of: b.fileName) ?? fileOrder.count
            return ia != ib ? ia < ib : a.fileName < b.fileName
        }
    }

    // MARK: Classification (pass 1)

    private enum Declaration {
        case macro(VariableDeclSyntax)
        case handle(EnumDeclSyntax)
        case enumeration(EnumDeclSyntax)
        case structure(StructDeclSyntax)
        case function(FunctionDeclSyntax, cName: String)
        case callback(TypeAliasDeclSyntax)
    }

    mutating func read(_ unordered: [SwiftFile]) -> API {
        let files = Self.ordered(unordered)
        var declarations: [(SwiftFile, Declaration)] = []
        for file in files {
            reportSyntaxErrors(file)
            for item in file.tree.statements {
                guard case .decl(let decl) = item.item else { continue }
                if let declaration = classify(decl, in: file) { declarations.append((file, declaration)) }
            }
        }
        for (file, declaration) in declarations { declareName(of: declaration, in: file) }

        var api = API()
        var groups: [String: FunctionGroup] = [:]
        for (file, declaration) in declarations {
            switch declaration {
            case .macro(let decl): if let macro = readMacro(decl, in: file) { api.macros.append(macro) }
            case .handle(let decl): api.handles.append(OpaqueHandle(name: decl.name.text, doc: requiredDoc(decl, "the handle type \(decl.name.text)", in: file), spot: file.spot(decl)))
            case .enumeration(let decl): api.enums.append(readEnum(decl, in: file))
            case .structure(let decl): api.structs.append(readStruct(decl, in: file))
            case .callback(let decl): if let callback = readCallback(decl, in: file) { api.callbacks.append(callback) }
            case .function(let decl, let cName):
                guard let function = readFunction(decl, cName: cName, in: file) else { continue }
                groups[file.fileName, default: FunctionGroup(
                    fileName: file.fileName, title: DocComments.fileTitle(from: file.tree.leadingTrivia), functions: [])]
                    .functions.append(function)
            }
        }
        api.groups = files.compactMap { groups[$0.fileName] }
        return api
    }

    private mutating func reportSyntaxErrors(_ file: SwiftFile) {
        for error in SyntaxErrors.list(file.tree, converter: file.converter) {
            problems.append(Problem(path: file.path, line: error.line, column: error.column,
                                    message: "Swift syntax error: \(error.message)"))
        }
    }

    private mutating func declareName(of declaration: Declaration, in file: SwiftFile) {
        switch declaration {
        case .macro(let decl):
            if let binding = decl.bindings.first, let pattern = binding.pattern.as(IdentifierPatternSyntax.self) {
                declare(pattern.identifier.text, at: file.spot(decl))
            }
        case .handle(let decl):
            handleNames.insert(decl.name.text)
            declare(decl.name.text, at: file.spot(decl))
        case .enumeration(let decl):
            enumNames.insert(decl.name.text)
            declare(decl.name.text, at: file.spot(decl))
            for member in decl.memberBlock.members {
                guard let caseDecl = member.decl.as(EnumCaseDeclSyntax.self) else { continue }
                for element in caseDecl.elements { declare(element.name.text, at: file.spot(element)) }
            }
        case .structure(let decl):
            structNames.insert(decl.name.text)
            declare(decl.name.text, at: file.spot(decl))
        case .function(let decl, let cName):
            declare(cName, at: file.spot(decl))
        case .callback(let decl):
            callbackNames.insert(decl.name.text)
            declare(decl.name.text, at: file.spot(decl))
        }
    }

    private mutating func declare(_ name: String, at spot: SourceSpot) {
        if let first = declaredNames[name] {
            problems.error("`\(name)` is already declared at \(first.path):\(first.line); C has one namespace for "
                           + "types, functions, enumerators and macros", at: spot)
        } else {
            declaredNames[name] = spot
        }
    }

    /// What a top-level declaration is for the header, or nil if it is not part of the C API.
    private mutating func classify(_ decl: DeclSyntax, in file: SwiftFile) -> Declaration? {
        let spot = file.spot(decl)
        if let function = decl.as(FunctionDeclSyntax.self) {
            let attributes = attributeNames(function.attributes, in: file)
            if attributes.contains("_cdecl") {
                problems.error("@_cdecl on `\(function.name.text)`: exported functions use @c (the generator reads @c)", at: spot)
                return nil
            }
            guard attributes.contains("c") else {
                if isPublic(function.modifiers) {
                    problems.error("public function `\(function.name.text)` is not @c: the C layer exports C functions only "
                                   + "(make it internal, or @c)", at: spot)
                }
                return nil
            }
            guard isPublic(function.modifiers) else {
                problems.error("@c function `\(function.name.text)` must be public", at: spot)
                return nil
            }
            guard let cName = cName(of: function, in: file) else { return nil }
            return .function(function, cName: cName)
        }
        if let enumDecl = decl.as(EnumDeclSyntax.self) {
            let inherited = inheritedNames(enumDecl.inheritanceClause)
            let isHandle = inherited.contains("COpaqueType"), isEnum = inherited.contains("CEnum")
            guard isHandle || isEnum else {
                if isPublic(enumDecl.modifiers) {
                    problems.error("public enum `\(enumDecl.name.text)` is neither COpaqueType nor CEnum; the C layer "
                                   + "declares C types only", at: spot)
                }
                return nil
            }
            guard isPublic(enumDecl.modifiers) else {
                problems.error("`\(enumDecl.name.text)` conforms to \(isHandle ? "COpaqueType" : "CEnum") and must be public", at: spot)
                return nil
            }
            checkTypeName(enumDecl.name.text, at: spot)
            if enumDecl.genericParameterClause != nil || enumDecl.genericWhereClause != nil {
                problems.error("`\(enumDecl.name.text)` is generic; C types are not", at: spot)
            }
            if isHandle && isEnum {
                problems.error("`\(enumDecl.name.text)` cannot be both COpaqueType and CEnum", at: spot)
                return nil
            }
            if isHandle {
                let extra = inherited.filter { $0 != "COpaqueType" && !Self.neutralConformances.contains($0) }
                if !extra.isEmpty { problems.error("handle type `\(enumDecl.name.text)` has conformances with no C meaning: \(extra.joined(separator: ", "))", at: spot) }
                if !enumDecl.memberBlock.members.isEmpty {
                    problems.error("handle type `\(enumDecl.name.text)` must be empty (`public enum \(enumDecl.name.text): COpaqueType {}`)", at: spot)
                }
                return .handle(enumDecl)
            }
            if inherited.first != "Int32" {
                problems.error("CEnum `\(enumDecl.name.text)` must have the raw type Int32, written first "
                               + "(`public enum \(enumDecl.name.text): Int32, CEnum`)", at: spot)
            }
            let extra = inherited.dropFirst().filter { $0 != "CEnum" && !Self.neutralConformances.contains($0) }
            if !extra.isEmpty { problems.error("CEnum `\(enumDecl.name.text)` has conformances with no C meaning: \(extra.joined(separator: ", "))", at: spot) }
            return .enumeration(enumDecl)
        }
        if let structDecl = decl.as(StructDeclSyntax.self) {
            let inherited = inheritedNames(structDecl.inheritanceClause)
            guard inherited.contains("CStruct") else {
                if isPublic(structDecl.modifiers) {
                    problems.error("public struct `\(structDecl.name.text)` is not a CStruct; the C layer declares C types only", at: spot)
                }
                return nil
            }
            guard isPublic(structDecl.modifiers) else {
                problems.error("CStruct `\(structDecl.name.text)` must be public", at: spot)
                return nil
            }
            checkTypeName(structDecl.name.text, at: spot)
            if structDecl.genericParameterClause != nil || structDecl.genericWhereClause != nil {
                problems.error("`\(structDecl.name.text)` is generic; C types are not", at: spot)
            }
            let extra = inherited.filter { $0 != "CStruct" && !Self.neutralConformances.contains($0) }
            if !extra.isEmpty { problems.error("CStruct `\(structDecl.name.text)` has conformances with no C meaning: \(extra.joined(separator: ", "))", at: spot) }
            return .structure(structDecl)
        }
        if let variable = decl.as(VariableDeclSyntax.self) {
            return isPublic(variable.modifiers) ? .macro(variable) : nil
        }
        if let protocolDecl = decl.as(ProtocolDeclSyntax.self) {
            if isPublic(protocolDecl.modifiers) && !Self.conventionProtocols.contains(protocolDecl.name.text) {
                problems.error("public protocol `\(protocolDecl.name.text)` is not one of the conventions (\(Self.conventionProtocols.sorted().joined(separator: ", ")))", at: spot)
            }
            return nil
        }
        if let alias = decl.as(TypeAliasDeclSyntax.self) {
            guard isPublic(alias.modifiers) else { return nil }
            let name = alias.name.text
            if let attributed = alias.initializer.value.as(AttributedTypeSyntax.self),
               attributed.baseType.is(FunctionTypeSyntax.self) {
                guard attributed.attributes.trimmedDescription == "@convention(c)", alias.genericParameterClause == nil else {
                    problems.error("a function type of the C layer must be `public typealias xlstm_NAME = @convention(c) "
                                   + "(_ a: T, …) -> R`", at: spot)
                    return nil
                }
                checkTypeName(name, at: spot)
                return .callback(alias)
            }
            guard let expected = Self.conventionTypealiases[name] else {
                problems.error("public typealias `\(name)` is not one of the conventions "
                               + "(\(Self.conventionTypealiases.keys.sorted().joined(separator: ", ")))", at: spot)
                return nil
            }
            let actual = alias.initializer.value.trimmedDescription
            if actual != expected || alias.genericParameterClause?.parameters.count != 1 {
                problems.error("typealias `\(name)` must be `public typealias \(name)<T> = \(expected)` "
                               + "(the generator maps it to C by that meaning; it is `\(alias.trimmedDescription)`)", at: spot)
            }
            return nil
        }
        if let ifConfig = decl.as(IfConfigDeclSyntax.self) {
            if containsPublicOrExported(Syntax(ifConfig)) {
                problems.error("a public or @c declaration inside #if cannot be expressed in the header", at: spot)
            }
            return nil
        }
        if decl.is(ImportDeclSyntax.self) { return nil }
        if let ext = decl.as(ExtensionDeclSyntax.self) {
            if isPublic(ext.modifiers) || containsPublicOrExported(Syntax(ext.memberBlock)) {
                problems.error("public or @c declarations in an extension of `\(ext.extendedType.trimmedDescription)` have "
                               + "no C form; the C layer's public declarations are top-level C types and functions", at: spot)
            }
            return nil
        }
        if containsPublicOrExported(Syntax(decl)) {
            problems.error("this public declaration has no C form (see the conventions at the top of Types.swift)", at: spot)
        }
        return nil
    }

    private func isPublic(_ modifiers: DeclModifierListSyntax) -> Bool {
        modifiers.contains { $0.name.tokenKind == .keyword(.public) || $0.name.tokenKind == .keyword(.open) }
    }

    private mutating func attributeNames(_ attributes: AttributeListSyntax, in file: SwiftFile) -> [String] {
        attributes.compactMap { element in
            switch element {
            case .attribute(let attribute): return attribute.attributeName.trimmedDescription
            case .ifConfigDecl(let ifConfig):
                problems.error("#if around attributes cannot be expressed in the header", at: file.spot(ifConfig))
                return nil
            }
        }
    }

    private func inheritedNames(_ clause: InheritanceClauseSyntax?) -> [String] {
        clause?.inheritedTypes.map { $0.type.trimmedDescription } ?? []
    }

    /// Whether `node` holds a public/open declaration or an @c/@_cdecl function anywhere inside.
    private func containsPublicOrExported(_ node: Syntax) -> Bool {
        final class Finder: SyntaxVisitor {
            var found = false
            override func visit(_ node: DeclModifierSyntax) -> SyntaxVisitorContinueKind {
                if node.name.tokenKind == .keyword(.public) || node.name.tokenKind == .keyword(.open) { found = true }
                return .skipChildren
            }
            override func visit(_ node: AttributeSyntax) -> SyntaxVisitorContinueKind {
                let name = node.attributeName.trimmedDescription
                if name == "c" || name == "_cdecl" { found = true }
                return .skipChildren
            }
            // Bodies hold statements, not declarations of the C layer.
            override func visit(_ node: CodeBlockSyntax) -> SyntaxVisitorContinueKind { .skipChildren }
            override func visit(_ node: AccessorBlockSyntax) -> SyntaxVisitorContinueKind { .skipChildren }
        }
        let finder = Finder(viewMode: .sourceAccurate)
        finder.walk(node)
        return finder.found
    }

    private mutating func checkTypeName(_ name: String, at spot: SourceSpot) {
        if !name.hasPrefix("xlstm_") || !CNames.isIdentifier(name) {
            problems.error("C type `\(name)` must be a C identifier starting with `xlstm_`", at: spot)
        }
    }

    /// `@c` → the Swift name; `@c(name)` → name.
    private mutating func cName(of function: FunctionDeclSyntax, in file: SwiftFile) -> String? {
        var name = function.name.text
        for element in function.attributes {
            guard case .attribute(let attribute) = element, attribute.attributeName.trimmedDescription == "c",
                  let arguments = attribute.arguments else { continue }
            guard case .argumentList(let list) = arguments, list.count == 1, let only = list.first, only.label == nil,
                  let reference = only.expression.as(DeclReferenceExprSyntax.self) else {
                problems.error("unexpected arguments of @c: \(attribute.trimmedDescription) (expected @c or @c(name))", at: file.spot(attribute))
                return nil
            }
            name = reference.baseName.text
        }
        if !name.hasPrefix("xlstm_") || !CNames.isIdentifier(name) {
            problems.error("exported function `\(name)` must be named `xlstm_<class>_<action>…` (a C identifier starting with `xlstm_`)",
                           at: file.spot(function))
            return nil
        }
        return name
    }

    // MARK: Docs

    private mutating func requiredDoc(_ node: some SyntaxProtocol, _ what: String, in file: SwiftFile) -> Doc {
        let (doc, hasBlockDoc) = DocComments.doc(from: node.leadingTrivia)
        if hasBlockDoc {
            problems.error("use `///` doc comments for \(what); the generator does not read `/** */`", at: file.spot(node))
        } else if doc.isEmpty {
            problems.error("\(what) has no `///` doc comment (it is carried into the header, and the header documents everything)",
                           at: file.spot(node))
        }
        return doc
    }

    // MARK: Macros, enums, structs (pass 2)

    private mutating func readMacro(_ decl: VariableDeclSyntax, in file: SwiftFile) -> Macro? {
        let spot = file.spot(decl)
        let form = "`public let XLSTM_NAME: Int32 = <integer literal>`"
        guard decl.bindingSpecifier.tokenKind == .keyword(.let), decl.bindings.count == 1, let binding = decl.bindings.first,
              let pattern = binding.pattern.as(IdentifierPatternSyntax.self) else {
            problems.error("a public variable of the C layer must be a macro: \(form), one per declaration", at: spot)
            return nil
        }
        let name = pattern.identifier.text
        if decl.modifiers.count != 1 || !decl.attributes.isEmpty {
            problems.error("macro `\(name)` has modifiers or attributes with no C meaning; write \(form)", at: spot)
        }
        if !name.hasPrefix("XLSTM_") || !CNames.isIdentifier(name) {
            problems.error("macro `\(name)` must be a C identifier starting with `XLSTM_`", at: spot)
        }
        guard binding.typeAnnotation?.type.trimmedDescription == "Int32" else {
            problems.error("macro `\(name)` must be declared as Int32 (\(form)); other types have no #define form here", at: spot)
            return nil
        }
        guard binding.accessorBlock == nil, let value = binding.initializer?.value,
              let (number, spelling) = integerLiteral(value) else {
            problems.error("macro `\(name)` must be initialised with an integer literal (\(form))", at: spot)
            return nil
        }
        guard let value32 = Int32(exactly: number) else {
            problems.error("macro `\(name)` = \(number) is outside the Int32 range", at: spot)
            return nil
        }
        let doc = requiredDoc(decl, "macro \(name)", in: file)
        return Macro(name: name, value: value32, spelling: number < 0 ? "(\(spelling))" : spelling, doc: doc, spot: spot)
    }

    /// An integer literal, optionally negated: its value and its C spelling.
    private func integerLiteral(_ expression: ExprSyntax) -> (Int64, String)? {
        var negative = false
        var expression = expression
        if let prefix = expression.as(PrefixOperatorExprSyntax.self), prefix.operator.text == "-" {
            negative = true
            expression = prefix.expression
        }
        guard let literal = expression.as(IntegerLiteralExprSyntax.self) else { return nil }
        let text = literal.literal.text.filter { $0 != "_" }
        let value: Int64?
        var spelling: String
        if text.hasPrefix("0x") {
            value = Int64(text.dropFirst(2), radix: 16)
            spelling = "0x" + text.dropFirst(2).uppercased()
        } else if text.hasPrefix("0o") || text.hasPrefix("0b") {
            value = Int64(text.dropFirst(2), radix: text.hasPrefix("0o") ? 8 : 2)
            spelling = value.map { String($0) } ?? text
        } else {
            value = Int64(text, radix: 10)
            spelling = value.map { String($0) } ?? text
        }
        guard let magnitude = value else { return nil }
        if negative { spelling = "-" + spelling }
        return (negative ? -magnitude : magnitude, spelling)
    }

    private mutating func readEnum(_ decl: EnumDeclSyntax, in file: SwiftFile) -> Enumeration {
        let name = decl.name.text
        var enumeration = Enumeration(name: name, doc: requiredDoc(decl, "enum \(name)", in: file),
                                      spot: file.spot(decl), enumerators: [])
        var cases = 0
        for member in decl.memberBlock.members {
            guard let caseDecl = member.decl.as(EnumCaseDeclSyntax.self) else {
                if member.decl.is(IfConfigDeclSyntax.self) || containsPublicOrExported(Syntax(member.decl)) {
                    problems.error("enum `\(name)` may hold only its cases (and non-public helpers)", at: file.spot(member.decl))
                }
                continue
            }
            cases += 1
            guard caseDecl.elements.count == 1, let element = caseDecl.elements.first else {
                problems.error("write one case per line in `\(name)`, each with its own `///` doc", at: file.spot(caseDecl))
                continue
            }
            let caseName = element.name.text
            if !caseName.hasPrefix("XLSTM_") || !CNames.isIdentifier(caseName) {
                problems.error("enumerator `\(caseName)` must be a C identifier starting with `XLSTM_` (C enumerators are global)",
                               at: file.spot(element))
            }
            if element.parameterClause != nil {
                problems.error("enumerator `\(caseName)` has associated values; C enums have none", at: file.spot(element))
                continue
            }
            guard let rawValue = element.rawValue?.value, let (value, spelling) = integerLiteral(rawValue) else {
                problems.error("enumerator `\(caseName)` needs an explicit integer value (`case \(caseName) = 0`): the values are ABI",
                               at: file.spot(element))
                continue
            }
            guard let value32 = Int32(exactly: value) else {
                problems.error("enumerator `\(caseName)` = \(value) is outside the Int32 range", at: file.spot(element))
                continue
            }
            if !caseDecl.attributes.isEmpty || !caseDecl.modifiers.isEmpty {
                problems.error("enumerator `\(caseName)` has attributes or modifiers with no C meaning", at: file.spot(caseDecl))
            }
            enumeration.enumerators.append(Enumerator(
                name: caseName, value: value32, spelling: spelling,
                doc: requiredDoc(caseDecl, "enumerator \(caseName)", in: file), spot: file.spot(element)))
        }
        if cases == 0 {
            problems.error("enum `\(name)` has no cases; a C enum needs at least one", at: file.spot(decl))
        }
        return enumeration
    }

    private mutating func readStruct(_ decl: StructDeclSyntax, in file: SwiftFile) -> Structure {
        let name = decl.name.text
        var structure = Structure(name: name, doc: requiredDoc(decl, "struct \(name)", in: file), spot: file.spot(decl), fields: [])
        let form = "`public var name: Type`"
        var storedProperties = 0
        for member in decl.memberBlock.members {
            let spot = file.spot(member.decl)
            guard let variable = member.decl.as(VariableDeclSyntax.self) else {
                if member.decl.is(IfConfigDeclSyntax.self) || containsPublicOrExported(Syntax(member.decl)) {
                    problems.error("struct `\(name)` may hold only its fields (\(form)) and non-public helpers", at: spot)
                }
                continue
            }
            let isStatic = variable.modifiers.contains { $0.name.tokenKind == .keyword(.static) }
            let isStored = variable.bindings.allSatisfy { binding in
                guard let accessors = binding.accessorBlock?.accessors else { return true }
                guard case .accessors(let list) = accessors else { return false }
                return list.allSatisfy { $0.accessorSpecifier.tokenKind == .keyword(.willSet) || $0.accessorSpecifier.tokenKind == .keyword(.didSet) }
            }
            if isStatic || !isStored {
                if isPublic(variable.modifiers) {
                    problems.error("struct `\(name)`: public static or computed properties have no C form", at: spot)
                }
                continue
            }
            // A stored property: a C field, whatever its access level.
            storedProperties += 1
            guard variable.bindingSpecifier.tokenKind == .keyword(.var), isPublic(variable.modifiers), variable.modifiers.count == 1,
                  variable.attributes.isEmpty, variable.bindings.count == 1, let binding = variable.bindings.first,
                  let pattern = binding.pattern.as(IdentifierPatternSyntax.self), let type = binding.typeAnnotation?.type else {
                problems.error("every stored property of CStruct `\(name)` is a C field and must be written \(form), "
                               + "one per declaration, with no attributes", at: spot)
                continue
            }
            let fieldName = pattern.identifier.text
            if binding.initializer != nil || binding.accessorBlock != nil {
                problems.error("field `\(name).\(fieldName)` has a default value or observers; C fields have neither", at: spot)
            }
            if let problem = CNames.problem(withMemberName: fieldName) {
                problems.error("field `\(name).\(fieldName)`: \(problem)", at: spot)
            }
            guard let (cType, _) = mapType(type, .field, in: file) else { continue }
            structure.fields.append(Field(name: fieldName, type: cType,
                                          doc: requiredDoc(variable, "field \(name).\(fieldName)", in: file), spot: spot))
        }
        if storedProperties == 0 {
            problems.error("struct `\(name)` has no fields; a C struct needs at least one", at: file.spot(decl))
        }
        return structure
    }

    // MARK: Functions (pass 2)

    private mutating func readFunction(_ decl: FunctionDeclSyntax, cName: String, in file: SwiftFile) -> Function? {
        let spot = file.spot(decl)
        var ok = true
        for element in decl.attributes {
            guard case .attribute(let attribute) = element else { continue }
            let name = attribute.attributeName.trimmedDescription
            if name != "c" && !Self.neutralFunctionAttributes.contains(name) {
                problems.error("`\(cName)`: the attribute @\(name) has no C form here "
                               + "(allowed with @c: \(Self.neutralFunctionAttributes.sorted().map { "@" + $0 }.joined(separator: ", ")))",
                               at: file.spot(attribute))
                ok = false
            }
        }
        if decl.modifiers.count != 1 {
            problems.error("`\(cName)`: modifiers other than `public` have no C form", at: spot)
            ok = false
        }
        if decl.genericParameterClause != nil || decl.genericWhereClause != nil {
            problems.error("`\(cName)` is generic; C functions are not", at: spot)
            ok = false
        }
        if let effects = decl.signature.effectSpecifiers, effects.asyncSpecifier != nil || effects.throwsClause != nil {
            problems.error("`\(cName)` is async or throws; C functions are neither (return a status)", at: spot)
            ok = false
        }
        var parameters: [Parameter] = []
        var names: Set<String> = []
        for parameter in decl.signature.parameterClause.parameters {
            let pspot = file.spot(parameter)
            let internalName = (parameter.secondName ?? parameter.firstName).text
            if internalName == "_" {
                problems.error("`\(cName)`: give this parameter an internal name; the header uses it as the C parameter name", at: pspot)
                ok = false
                continue
            }
            if let problem = CNames.problem(withMemberName: internalName) {
                problems.error("`\(cName)` parameter `\(internalName)`: \(problem)", at: pspot)
                ok = false
            }
            if !names.insert(internalName).inserted {
                problems.error("`\(cName)` has two parameters named `\(internalName)`", at: pspot)
                ok = false
            }
            if parameter.ellipsis != nil || parameter.defaultValue != nil || !parameter.attributes.isEmpty || !parameter.modifiers.isEmpty {
                problems.error("`\(cName)` parameter `\(internalName)`: variadics, default values, attributes and modifiers "
                               + "have no C form", at: pspot)
                ok = false
                continue
            }
            guard let (type, nullable) = mapType(parameter.type, .parameter, in: file) else { ok = false; continue }
            parameters.append(Parameter(name: internalName, type: type, nullable: nullable))
        }
        var returnType = CType.void, returnNullable = false
        if let returnClause = decl.signature.returnClause {
            if let (type, nullable) = mapType(returnClause.type, .returnValue, in: file) {
                (returnType, returnNullable) = (type, nullable)
            } else {
                ok = false
            }
        }
        let doc = requiredDoc(decl, "function \(cName)", in: file)
        return ok ? Function(name: cName, returnType: returnType, returnNullable: returnNullable, parameters: parameters,
                             doc: doc, spot: spot) : nil
    }

    /// `public typealias NAME = @convention(c) (_ a: T, …) -> R`, every parameter named.
    private mutating func readCallback(_ decl: TypeAliasDeclSyntax, in file: SwiftFile) -> Callback? {
        let name = decl.name.text
        let spot = file.spot(decl)
        guard let function = decl.initializer.value.as(AttributedTypeSyntax.self)?.baseType.as(FunctionTypeSyntax.self) else {
            return nil
        }
        var ok = true
        var parameters: [Parameter] = []
        for element in function.parameters {
            guard let label = element.secondName ?? element.firstName, label.text != "_" else {
                problems.error("callback `\(name)`: name every parameter (`_ done: UInt64`); the names go into the header",
                               at: file.spot(element))
                ok = false
                continue
            }
            if let problem = CNames.problem(withMemberName: label.text) {
                problems.error("callback `\(name)`: \(problem)", at: file.spot(element))
                ok = false
            }
            guard let (type, nullable) = mapType(element.type, .parameter, in: file) else { ok = false; continue }
            if case .callback = type { problems.error("callback `\(name)`: a callback parameter of a callback", at: spot); ok = false }
            parameters.append(Parameter(name: label.text, type: type, nullable: nullable))
        }
        var returnType = CType.void
        if let (type, _) = mapType(function.returnClause.type, .returnValue, in: file) {
            returnType = type
        } else {
            ok = false
        }
        let doc = requiredDoc(decl, "the callback type \(name)", in: file)
        return ok ? Callback(name: name, returnType: returnType, parameters: parameters, doc: doc, spot: spot) : nil
    }

    // MARK: Types

    enum TypePosition {
        case parameter, returnValue, field, pointee
        var description: String {
            switch self {
            case .parameter: return "a parameter"
            case .returnValue: return "a return value"
            case .field: return "a struct field"
            case .pointee: return "a pointee"
            }
        }
    }

    /// The C type of a Swift type in a given position, and whether it is a nullable pointer.
    mutating func mapType(_ type: TypeSyntax, _ position: TypePosition, in file: SwiftFile) -> (CType, Bool)? {
        let spot = file.spot(type)
        let written = type.trimmedDescription
        func fail(_ why: String) -> (CType, Bool)? {
            problems.error("`\(written)` as \(position.description): \(why)", at: spot)
            return nil
        }
        if let optional = type.as(OptionalTypeSyntax.self) {
            guard let (inner, _) = mapType(optional.wrappedType, position, in: file) else { return nil }
            guard inner.isNullable else { return fail("only pointers can be optional (NULL) in C") }
            return (inner, true)
        }
        if let tuple = type.as(TupleTypeSyntax.self), tuple.elements.isEmpty, position == .returnValue {
            return (.void, false)
        }
        guard let identifier = type.as(IdentifierTypeSyntax.self) else {
            return fail("no C form (the conventions are at the top of Types.swift)")
        }
        let name = identifier.name.text
        var arguments: [TypeSyntax] = []
        if let clause = identifier.genericArgumentClause {
            for argument in clause.arguments {
                guard case .type(let argumentType) = argument.argument else { return fail("value generic arguments have no C form") }
                arguments.append(argumentType)
            }
        }
        func noArguments() -> Bool { arguments.isEmpty }
        /// The single generic argument, if it is a plain name declared as a C type of the given set.
        func declaredArgument(_ names: Set<String>) -> String? {
            guard arguments.count == 1, let argument = arguments[0].as(IdentifierTypeSyntax.self),
                  argument.genericArgumentClause == nil, names.contains(argument.name.text) else { return nil }
            return argument.name.text
        }
        let scalars: [String: CScalar] = [
            "Int8": .int8, "Int16": .int16, "Int32": .int32, "Int64": .int64,
            "UInt8": .uint8, "UInt16": .uint16, "UInt32": .uint32, "UInt64": .uint64,
            "UInt": .size, "Int": .ptrdiff, "Float": .float, "Double": .double,
        ]
        if callbackNames.contains(name) {
            guard noArguments() else { return fail("unexpected generic arguments") }
            guard position == .parameter else { return fail("function pointer types are only parameters") }
            return (.callback(name), false)
        }
        if let scalar = scalars[name] {
            guard noArguments() else { return fail("unexpected generic arguments") }
            if position == .field && (scalar == .size || scalar == .ptrdiff) {
                return fail("CStruct fields are fixed-width (Int32, UInt64, …): the layout must not depend on the platform")
            }
            return (.scalar(scalar), false)
        }
        switch name {
        case "CChar":
            guard noArguments(), position == .pointee else {
                return fail("plain char is signed or unsigned depending on the ABI: use Int8/UInt8, or CChar only as a pointee (C strings)")
            }
            return (.scalar(.char), false)
        case "Void":
            guard noArguments(), position == .returnValue else {
                return fail("Void is only a return type; an untyped pointer is UnsafeRawPointer / UnsafeMutableRawPointer")
            }
            return (.void, false)
        case "UnsafeRawPointer", "UnsafeMutableRawPointer":
            guard noArguments() else { return fail("unexpected generic arguments") }
            guard position != .field else { return fail("CStruct fields are fixed-width; pointers are not allowed") }
            return (.pointer(to: .void, constPointee: name == "UnsafeRawPointer"), false)
        case "Handle", "ConstHandle":
            guard let handle = declaredArgument(handleNames) else {
                return fail("the argument of \(name)<T> must be a handle type declared as `public enum T: COpaqueType {}`")
            }
            guard position != .field else { return fail("CStruct fields are fixed-width; pointers are not allowed") }
            return (.pointer(to: .handle(handle), constPointee: name == "ConstHandle"), false)
        case "StructPointer", "ConstStructPointer":
            guard let structure = declaredArgument(structNames) else {
                return fail("the argument of \(name)<T> must be a struct declared as `public struct T: CStruct`")
            }
            guard position != .field else { return fail("CStruct fields are fixed-width; pointers are not allowed") }
            return (.pointer(to: .structure(structure), constPointee: name == "ConstStructPointer"), false)
        case "CEnumValue":
            guard let enumeration = declaredArgument(enumNames) else {
                return fail("the argument of CEnumValue<E> must be an enum declared as `public enum E: Int32, CEnum`")
            }
            return (.enumeration(enumeration), false)
        case "UnsafePointer", "UnsafeMutablePointer":
            guard arguments.count == 1 else { return fail("\(name) takes one generic argument") }
            guard position != .field else { return fail("CStruct fields are fixed-width; pointers are not allowed") }
            if let voidArgument = arguments[0].as(IdentifierTypeSyntax.self), voidArgument.name.text == "Void" {
                return fail("write UnsafeRawPointer / UnsafeMutableRawPointer for `void *`")
            }
            guard let (pointee, _) = mapType(arguments[0], .pointee, in: file) else { return nil }
            return (.pointer(to: pointee, constPointee: name == "UnsafePointer"), false)
        case "OpaquePointer":
            return fail("say what it points to: Handle<T> or ConstHandle<T>")
        case "Bool", "CBool":
            return fail("bool needs <stdbool.h> in C99 and its size is not fixed by the C standard; use Int32 (0 or 1)")
        default:
            return fail("no C form (the conventions are at the top of Types.swift)")
        }
    }
}
