// Files changed on disk while a model is loaded (issue #13). With the default mmap an in-place
// overwrite of model.safetensors reaches the loaded model (and a truncation would raise SIGBUS on
// the next read of a lost page, which is why it is not tried here); LoadMode.copy is immune to
// both; LoadMode.lock loads the same weights, locked in memory.

import Testing
import XLSTM

#if canImport(Glibc)
import Glibc
#endif

@Suite struct LoadModeTests {
    /// A private copy of paper_mixed's model directory.
    func copyOfFixture() -> String {
        let directory = makeTemporaryDirectory()
        let source = Fixtures.modelDirectory("paper_mixed")
        for name in ["config.json", "model.safetensors"] { copyFile(source + "/" + name, directory + "/" + name) }
        return directory
    }

    func logits(_ model: Model, _ tokens: [Int32] = [3, 14, 15, 92]) throws -> [Float] {
        let session = try Session(model: model)
        for token in tokens { try session.feed(token) }
        return Array(session.logits)
    }

    /// Overwrites the data section of `path` in place (same size, same inode) with zeros.
    func overwriteInPlace(_ path: String) {
        var bytes = readBytes(path)
        var headerLength = 0
        for i in 0..<8 { headerLength |= Int(bytes[i]) << (8 * i) }
        for i in (8 + headerLength)..<bytes.count { bytes[i] = 0 }
        let fd = open(path, O_WRONLY)   // no O_TRUNC: the pages of the mapping are rewritten
        _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress!, $0.count, 0) }
        close(fd)
    }

    @Test func copyIsImmuneToOverwriteAndTruncation() throws {
        let directory = copyOfFixture()
        defer { removeTree(directory) }
        let reference = try logits(try Model(directory: Fixtures.modelDirectory("paper_mixed")))
        let copied = try Model(directory: directory, loadMode: .copy)
        #expect(try logits(copied) == reference)
        overwriteInPlace(directory + "/model.safetensors")
        #expect(try logits(copied) == reference, "an in-place overwrite reached a copied model")
        truncate(directory + "/model.safetensors", 0)
        #expect(try logits(copied) == reference, "a truncation reached a copied model")
    }

    /// The hazard the copy mode exists for: a mapped model sees an in-place overwrite of its file.
    @Test func mappedModelSeesInPlaceOverwrite() throws {
        let directory = copyOfFixture()
        defer { removeTree(directory) }
        let mapped = try Model(directory: directory, loadMode: .map)
        let before = try logits(mapped)
        overwriteInPlace(directory + "/model.safetensors")
        #expect(try logits(mapped) != before, "expected the mapping to reflect the overwritten file")
    }

    /// Replacing the file by rename (the safe way to update a model) leaves a mapped model intact.
    @Test func mappedModelSurvivesReplacementByRename() throws {
        let directory = copyOfFixture()
        defer { removeTree(directory) }
        let mapped = try Model(directory: directory)
        let before = try logits(mapped)
        writeBytes(directory + "/replacement", [UInt8](repeating: 0, count: 64))
        rename(directory + "/replacement", directory + "/model.safetensors")
        #expect(try logits(mapped) == before)
    }

    @Test func lockLoadsTheSameWeights() throws {
        let reference = try logits(try Model(directory: Fixtures.modelDirectory("paper_mixed")))
        do throws(XLSTMError) {
            let locked = try Model(directory: Fixtures.modelDirectory("paper_mixed"), loadMode: .lock)
            let session = try Session(model: locked)
            for token: Int32 in [3, 14, 15, 92] { try session.feed(token) }
            #expect(Array(session.logits) == reference)
        } catch {
            // Only RLIMIT_MEMLOCK may refuse it, with a clear I/O error.
            #expect(error.kind == .io && error.message.contains("RLIMIT_MEMLOCK"), "\(error)")
        }
    }
}
