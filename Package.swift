// swift-tools-version: 6.1
// xlstm — a streaming xLSTM inference runtime with a C ABI.
//
// Layers (each a target; a layer only imports the ones above it):
//   CJSONC      system library: json-c, the only JSON parser the library uses
//   XLSTM       the engine: config → weights → blocks → session (pure Swift, no Foundation)
//   XLSTMCABI   the C ABI: nothing but exported thunks; built as libxlstm.so (product "xlstm")
//   XLSTMCLI    the `xlstm` command-line tool (product "xlstm-cli"; `make install` names it xlstm)
//   XLSTMBench  xlstm-bench: step/prefill speed vs the machine's measured peak FMA rate and bandwidth
import PackageDescription

/// Code generation flags for the engine. `XLSTM_PORTABLE=1` drops the AVX2/FMA flags (see README).
let simdFlags: [SwiftSetting] = {
    if Context.environment["XLSTM_PORTABLE"] == "1" { return [] }
    return [.unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma", "-target-cpu", "haswell"])]
}()

let package = Package(
    name: "xlstm",
    products: [
        .library(name: "xlstm", type: .dynamic, targets: ["XLSTMCABI"]),
        .executable(name: "xlstm-cli", targets: ["XLSTMCLI"]),
        .executable(name: "xlstm-bench", targets: ["XLSTMBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CJSONC",
            pkgConfig: "json-c",
            providers: [.apt(["libjson-c-dev"])]
        ),
        .target(
            name: "XLSTM",
            dependencies: ["CJSONC"],
            swiftSettings: simdFlags
        ),
        .target(
            name: "XLSTMCABI",
            dependencies: ["XLSTM"],
            linkerSettings: [.unsafeFlags([
                "-static-stdlib",
                "-Xlinker", "--version-script=\(Context.packageDirectory)/mk/libxlstm.map",
            ])]
        ),
        .executableTarget(
            name: "XLSTMCLI",
            dependencies: [
                "XLSTM",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "XLSTMBench",
            dependencies: [
                "XLSTM",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: simdFlags
        ),
        .testTarget(
            name: "XLSTMTests",
            dependencies: ["XLSTM"],
            resources: [],
            swiftSettings: []
        ),
    ]
)
