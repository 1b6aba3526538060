// swift-tools-version: 6.1
// xlstm-header-gen — writes include/xlstm.h and include/xlstm.abi.json from Sources/XLSTMCABI/*.swift.
//
// A package of its own so that building the library never builds swift-syntax.
// Run it through tools/header-gen/run.sh (or `make header`).
import PackageDescription

let package = Package(
    name: "xlstm-header-gen",
    products: [
        .executable(name: "xlstm-header-gen", targets: ["xlstm-header-gen"]),
    ],
    dependencies: [
        .package(url: "https://github.com/swiftlang/swift-syntax", exact: "603.0.1"),
    ],
    targets: [
        .executableTarget(
            name: "xlstm-header-gen",
            dependencies: [
                .product(name: "SwiftSyntax", package: "swift-syntax"),
                .product(name: "SwiftParser", package: "swift-syntax"),
                .product(name: "SwiftParserDiagnostics", package: "swift-syntax"),
            ]
        ),
    ]
)
