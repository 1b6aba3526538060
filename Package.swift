// swift-tools-version: 6.1
// xlstm — a streaming xLSTM inference runtime with a C ABI.
//
// Layers (each a target; a layer only imports the ones above it):
//   CJSONC      system library: json-c, the only JSON parser the library uses
//   CXLSTMCPU   cpuid/xgetbv feature detection, the int8 (VNNI / vpmaddubsw) matvecs of the `fast`
//               precision (C: Swift cannot spell these instructions; per-function target attributes)
//   XLSTMKernelsAVX2, XLSTMKernelsAVX512   the kernels of one ISA each, compiled for it
//   XLSTM       the engine: config → weights → blocks → session (pure Swift, no Foundation)
//   XLSTMCABI   the C ABI: nothing but exported thunks; built as libxlstm.so (product "xlstm")
//   XLSTMCLI    the `xlstm` command-line tool (product "xlstm-cli"; `make install` names it xlstm)
//   XLSTMBench  xlstm-bench: step/prefill speed vs the machine's measured peak FMA rate and bandwidth
import PackageDescription

/// Code generation for one ISA's kernel module. The engine itself is compiled for the baseline of
/// its architecture (any x86-64, any arm64); only these modules use wider instructions, and the
/// engine calls them only after detecting the CPU (Sources/XLSTM/Kernels/KernelSet.swift).
func isaFlags(_ cpu: String) -> [SwiftSetting] {
    #if arch(x86_64)
    return [.unsafeFlags(["-target-cpu", cpu])]
    #else
    return []
    #endif
}

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
        // cpuid / xgetbv / the AMX permission request, a prefetch, the int8 dot-product kernels:
        // the only things Swift cannot spell. Built for baseline x86-64; the kernels' functions
        // carry their ISA in `__attribute__((target))` (tools/check-isa.sh checks nothing leaks).
        .target(name: "CXLSTMCPU"),
        // The kernels import CXLSTMCPU only for its inline `xlstm_prefetch`.
        .target(name: "XLSTMKernelsAVX2", dependencies: ["CXLSTMCPU"], swiftSettings: isaFlags("haswell")),
        .target(name: "XLSTMKernelsAVX512", dependencies: ["CXLSTMCPU"], swiftSettings: isaFlags("skylake-avx512")),
        .target(
            name: "XLSTM",
            dependencies: ["CJSONC", "CXLSTMCPU", "XLSTMKernelsAVX2", "XLSTMKernelsAVX512"]
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
            ]
        ),
        .testTarget(
            name: "XLSTMTests",
            dependencies: ["XLSTM"],
            resources: [],
            swiftSettings: []
        ),
    ]
)
