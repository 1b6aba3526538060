// Fuzz harnesses for the tokenizer (issue #13 over issue #12's parser):
//   tokenizer  the input is a tokenizer.json; when it loads, a varied text is encoded and decoded.
//   text       the input is text for the NeoX-style fixture tokenizer (loaded once): encode with and
//              without special-token splitting, decode, and the streaming decoder token by token.
// Invariants: every id is in [0, vocabSize); decoded and streamed bytes are valid UTF-8; only
// invalid UTF-8 input is refused, and never with a crash.

nonisolated(unsafe) var textTokenizer: Tokenizer?

let tokenizerProbeText = Array("Hello, world! 123 4567 — naïve café 日本語 🏳️‍🌈 \t\t  <|endoftext|> x".utf8)

/// Whether `bytes` is well-formed UTF-8 (Swift's own validation).
func isValidUTF8(_ bytes: [UInt8]) -> Bool {
    var iterator = bytes.makeIterator()
    var decoder = UTF8()
    while true {
        switch decoder.decode(&iterator) {
        case .scalarValue: continue
        case .emptyInput: return true
        case .error: return false
        }
    }
}

func exerciseTokenizer(_ tokenizer: Tokenizer, _ text: [UInt8]) {
    for split in [false, true] {
        let ids: [Int32]
        do {
            ids = try text.withUnsafeBufferPointer { buffer throws(XLSTMError) in
                try tokenizer.encode(buffer, addSpecialTokens: true, splitSpecialTokens: split)
            }
        } catch {
            fuzzCheck(!isValidUTF8(text), "valid UTF-8 refused: \(error.message)")
            return
        }
        for id in ids { fuzzCheck(id >= 0 && Int(id) < tokenizer.vocabSize, "id \(id) outside [0, \(tokenizer.vocabSize))") }
        guard let whole = try? tokenizer.decode(ids) else { continue }
        fuzzCheck(isValidUTF8(whole), "decode gave invalid UTF-8")
        let stream = StreamingDecoder(tokenizer: tokenizer)
        var streamed: [UInt8] = []
        for id in ids {
            guard let bytes = try? stream.push(id) else { return }
            streamed += bytes
        }
        streamed += stream.finish()
        fuzzCheck(isValidUTF8(streamed), "streamed bytes are invalid UTF-8")
    }
}

func fuzzTokenizerJSON(_ data: UnsafeRawBufferPointer) {
    let path = scratchDirectory + "/tokenizer.json"
    writeFile(path, data)
    guard let tokenizer = try? Tokenizer(path: path) else { return }
    exerciseTokenizer(tokenizer, tokenizerProbeText)
}

func fuzzTokenizerText(_ data: UnsafeRawBufferPointer) {
    if textTokenizer == nil {
        do { textTokenizer = try Tokenizer(path: fixturesRoot + "/tokenizers/neox_style") } catch {
            fuzzCheck(false, "cannot load the neox_style fixture tokenizer: \(error)")
        }
    }
    exerciseTokenizer(textTokenizer!, Array(data))
}
