// Damaged inputs never crash: deterministic random mutations of a real model directory's safetensors
// header and config, and of state blobs. Each attempt must either load (and then run a token) or
// throw an XLSTMError; a crash fails the whole test run.

import Testing
import XLSTM

#if canImport(Glibc)
import Glibc
#endif

@Suite struct MutationTests {
    struct Random {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(state % UInt64(max(bound, 1)))
        }
    }

    /// Mutates one of: a byte of the safetensors header, the header length, the file length, a byte of
    /// config.json. Returns a description for failure messages.
    func mutate(_ directory: String, _ random: inout Random) -> String {
        let weights = directory + "/model.safetensors", config = directory + "/config.json"
        switch random.next(4) {
        case 0:
            var bytes = readBytes(weights)
            let headerEnd = 8 + Int(bytes[0]) | Int(bytes[1]) << 8
            let offset = 8 + random.next(max(1, min(headerEnd, bytes.count) - 8))
            bytes[offset] = UInt8(random.next(256))
            writeBytes(weights, bytes)
            return "header byte \(offset)"
        case 1:
            var bytes = readBytes(weights)
            bytes[random.next(8)] = UInt8(random.next(256))
            writeBytes(weights, bytes)
            return "header length"
        case 2:
            let bytes = readBytes(weights)
            let length = random.next(bytes.count)
            writeBytes(weights, Array(bytes.prefix(length)))
            return "truncated to \(length)"
        default:
            var bytes = readBytes(config)
            let offset = random.next(bytes.count)
            bytes[offset] = UInt8(random.next(256))
            writeBytes(config, bytes)
            return "config byte \(offset)"
        }
    }

    @Test(arguments: ["paper_mixed", "large_basic"])
    func damagedModelDirectoriesNeverCrash(_ name: String) throws {
        var random = Random(state: 0x5EED_1234 &+ UInt64(name.utf8.count))
        let source = Fixtures.modelDirectory(name)
        var loaded = 0, refused = 0
        for _ in 0..<150 {
            let directory = makeTemporaryDirectory()
            defer { removeTree(directory) }
            for file in ["config.json", "model.safetensors"] { copyFile(source + "/" + file, directory + "/" + file) }
            let what = mutate(directory, &random)
            do {
                let model = try Model(directory: directory)
                let session = try Session(model: model)
                try session.feed(Int32(random.next(model.vocabSize)))
                loaded += 1
            } catch {
                refused += 1
                #expect(!error.message.isEmpty, "\(what): empty message")
            }
        }
        #expect(refused > 50, "most mutations should be refused (loaded \(loaded), refused \(refused))")
    }

    @Test func damagedStateBlobsNeverCrashOrChangeTheSession() throws {
        let model = try Model(directory: Fixtures.modelDirectory("paper_mixed"))
        let session = try Session(model: model)
        for token in Fixtures.tokens("paper_mixed").prefix(4) { try session.feed(token) }
        var blob = [UInt8](repeating: 0, count: StateBlob.size(for: model))
        _ = try blob.withUnsafeMutableBytes { raw throws(XLSTMError) in try StateBlob.save(session, into: raw) }
        let before = Array(session.state)
        var random = Random(state: 77)
        for _ in 0..<300 {
            var damaged = blob
            let flips = 1 + random.next(4)
            for _ in 0..<flips { damaged[random.next(damaged.count)] ^= UInt8(1 + random.next(255)) }
            if random.next(4) == 0 { damaged = Array(damaged.prefix(random.next(damaged.count))) }
            let result = damaged.withUnsafeBytes { raw in
                Result { () throws(XLSTMError) in try StateBlob.load(raw, into: session) }
            }
            #expect(throws: XLSTMError.self) { try result.get() }
            #expect(Array(session.state) == before)
        }
    }
}
