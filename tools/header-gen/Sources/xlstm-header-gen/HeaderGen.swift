// xlstm-header-gen SOURCES_DIR HEADER_OUT MANIFEST_OUT
//
// Reads every *.swift file of SOURCES_DIR (Sources/XLSTMCABI), writes the C header and the ABI
// manifest. Exit status: 0 written (or already up to date), 1 the sources break a convention
// (every problem printed as file:line:column: error: …), 2 bad usage or an I/O error.
// tools/header-gen/run.sh runs it with the repository's paths and has the --check mode.

import Foundation

@main
struct HeaderGen {
    static let usage = "usage: xlstm-header-gen SOURCES_DIR HEADER_OUT MANIFEST_OUT"

    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.contains("-h") || arguments.contains("--help") {
            print(usage)
            return
        }
        guard arguments.count == 3 else { fail(usage, status: 2) }
        let (sourcesDirectory, headerPath, manifestPath) = (arguments[0], arguments[1], arguments[2])

        let fileNames: [String]
        do {
            fileNames = try FileManager.default.contentsOfDirectory(atPath: sourcesDirectory)
                .filter { $0.hasSuffix(".swift") }.sorted()
        } catch {
            fail("xlstm-header-gen: cannot list \(sourcesDirectory): \(error.localizedDescription)", status: 2)
        }
        guard !fileNames.isEmpty else { fail("xlstm-header-gen: no .swift files in \(sourcesDirectory)", status: 2) }

        var files: [SwiftFile] = []
        for name in fileNames {
            let path = (sourcesDirectory.hasSuffix("/") ? sourcesDirectory : sourcesDirectory + "/") + name
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                fail("xlstm-header-gen: cannot read \(path) as UTF-8", status: 2)
            }
            files.append(SwiftFile(fileName: name, path: path, text: text))
        }

        var reader = Reader()
        var api = reader.read(files)
        var problems = reader.problems
        Checks.layOut(&api, problems: &problems)
        Checks.checkDocs(api, prologue: Prologue.text, problems: &problems)
        if api.functions.isEmpty { problems.error("no @c functions found", at: files[0].spot(files[0].tree)) }
        guard problems.isEmpty else {
            let sorted = problems.sorted
            for problem in sorted { FileHandle.standardError.write(Data((problem.rendered + "\n").utf8)) }
            fail("xlstm-header-gen: \(sorted.count) error(s); \(headerPath) and \(manifestPath) were not written", status: 1)
        }

        let header = HeaderWriter.render(api)
        let manifest = ManifestWriter.render(api, headerName: URL(fileURLWithPath: headerPath).lastPathComponent)
        write(header, to: headerPath)
        write(manifest, to: manifestPath)
    }

    /// Writes `text` unless the file already holds exactly it (so an unchanged header keeps its mtime).
    static func write(_ text: String, to path: String) {
        let data = Data(text.utf8)
        if FileManager.default.contents(atPath: path) == data {
            print("\(path): up to date")
            return
        }
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            fail("xlstm-header-gen: cannot write \(path): \(error.localizedDescription)", status: 2)
        }
        print("\(path): written")
    }

    static func fail(_ message: String, status: Int32) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(status)
    }
}
