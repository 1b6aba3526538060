// Loading a tokenizer: tokenizer.json (the `tokenizers` serialization, format "1.0") from a model
// directory or from a directory holding only the tokenizer files (as
// `AutoTokenizer.from_pretrained` accepts), plus the special-token names of
// tokenizer_config.json / special_tokens_map.json and the ids of config.json.
// Every component the runtime does not implement is refused with its JSON path named; sizes and
// ids are validated before anything is allocated from them.

extension Tokenizer {
    /// Largest tokenizer.json read (the real GPT-NeoX-20B file is 2.1 MB).
    static let maxFileBytes = 256 << 20
    static let maxAddedTokens = 1 << 20

    /// Whether `directory` has a tokenizer.json.
    public static func exists(in directory: String) -> Bool {
        fileExists(joinPath(directory, "tokenizer.json"))
    }

    /// Loads `path`: a directory with tokenizer.json, or the tokenizer.json file itself.
    public convenience init(path: String) throws(XLSTMError) {
        let directory: String, file: String
        if isDirectory(path) {
            directory = path
            file = joinPath(path, "tokenizer.json")
            guard fileExists(file) else {
                throw XLSTMError(.io, "\(path): no tokenizer.json in this directory")
            }
        } else if fileExists(path) {
            file = path
            // (By byte: "/" followed by a combining mark is one Character.)
            let bytes = Array(path.utf8)
            if let slash = bytes.lastIndex(of: 0x2F) {
                directory = slash == 0 ? "/" : String(decoding: bytes[..<slash], as: UTF8.self)
            } else {
                directory = "."
            }
        } else {
            throw XLSTMError(.io, "\(path): no such tokenizer directory or file")
        }
        let bytes = try readSmallFile(file, limit: Self.maxFileBytes)
        let root = try JSON.parse(bytes, context: file)
        guard root.members != nil else { throw XLSTMError(.invalidModel, "\(file): not a JSON object") }

        for key in ["truncation", "padding"] {
            if let value = root[key], !value.isNull {
                throw XLSTMError(.unsupported, "\(file): \(key) is set; this runtime does not truncate or pad (set it to null)")
            }
        }
        guard let modelJSON = root["model"], modelJSON.members != nil else {
            throw XLSTMError(.invalidModel, "\(file): no \"model\" object")
        }
        let modelType = modelJSON["type"]?.stringValue ?? (modelJSON["merges"] != nil ? "BPE" : "")
        guard modelType == "BPE" else {
            throw XLSTMError(.unsupported, "\(file): model \"\(modelType)\" is not supported (supported: BPE)")
        }
        let model = try BPEModel(json: modelJSON, path: "\(file): model")

        var normalizer: Normalizer?
        if let json = root["normalizer"], !json.isNull { normalizer = try Normalizer.parse(json, path: "\(file): normalizer") }
        var preTokenizer: PreTokenizer?
        if let json = root["pre_tokenizer"], !json.isNull { preTokenizer = try PreTokenizer.parse(json, path: "\(file): pre_tokenizer") }
        var postProcessor = PostProcessor.identity
        if let json = root["post_processor"], !json.isNull { postProcessor = try PostProcessor.parse(json, path: "\(file): post_processor") }
        let decoder = try TokenDecoder.parse(root["decoder"], path: "\(file): decoder")

        let addedJSON = root["added_tokens"]?.arrayValue ?? []
        guard addedJSON.count <= Self.maxAddedTokens else {
            throw XLSTMError(.invalidModel, "\(file): added_tokens has \(addedJSON.count) entries (at most \(Self.maxAddedTokens))")
        }
        // Ids as `AddedVocabulary::add_tokens` assigns them (the file's "id" is only checked): a
        // token of the model's vocabulary keeps its id; any other gets the next id after the
        // vocabulary (or after the largest added id beyond it), in file order.
        var added: [AddedToken] = []
        var idOfContent: [[UInt32]: Int32] = [:]
        var largestAdded = -1
        let vocabCount = model.vocab.count
        for (i, item) in addedJSON.enumerated() {
            guard let fileId = item["id"]?.intValue, fileId >= 0, let content = item["content"]?.stringValue else {
                throw XLSTMError(.invalidModel, "\(file): added_tokens[\(i)] needs a non-negative \"id\" and a \"content\" string")
            }
            _ = fileId
            if content.isEmpty { continue }     // skipped, as there
            let special = item["special"]?.boolValue ?? false
            let scalars = content.unicodeScalars.map(\.value)
            let id: Int
            if let existing = idOfContent[scalars] {
                id = Int(existing)
            } else if let inVocab = model.vocab[ScalarKey(scalars)] {
                id = Int(inVocab)
            } else {
                id = largestAdded >= vocabCount || vocabCount == 0 ? largestAdded + 1 : vocabCount
            }
            guard id < Int(Int32.max) else { throw XLSTMError(.invalidModel, "\(file): added_tokens[\(i)]: too many tokens") }
            idOfContent[scalars] = Int32(id)
            largestAdded = max(largestAdded, id)
            added.append(AddedToken(id: Int32(id), content: content,
                                    singleWord: item["single_word"]?.boolValue ?? false,
                                    lstrip: item["lstrip"]?.boolValue ?? false,
                                    rstrip: item["rstrip"]?.boolValue ?? false,
                                    normalized: item["normalized"]?.boolValue ?? !special,
                                    special: special))
        }
        let vocabLimit = max(model.tokens.count, (added.map { Int($0.id) }.max() ?? -1) + 1)
        for id in postProcessor.specialIds where Int(id) >= vocabLimit {
            throw XLSTMError(.invalidModel, "\(file): post_processor uses id \(id), outside the vocabulary [0, \(vocabLimit))")
        }

        let specials = try Self.specialIds(directory: directory, model: model, added: added)
        self.init(directory: directory, model: model, normalizer: normalizer, preTokenizer: preTokenizer,
                  postProcessor: postProcessor, decoder: decoder, addedTokens: added, specials: specials)
    }

    /// bos / eos / pad ids: names from tokenizer_config.json, else special_tokens_map.json, resolved
    /// through the vocabulary; else the ids of config.json; -1 when none says.
    static func specialIds(directory: String, model: BPEModel, added: [AddedToken]) throws(XLSTMError) -> (bos: Int32, eos: Int32, pad: Int32) {
        func load(_ name: String) throws(XLSTMError) -> JSON? {
            let path = joinPath(directory, name)
            guard fileExists(path) else { return nil }
            return try JSON.parse(try readSmallFile(path, limit: 64 << 20), context: path)
        }
        func tokenName(_ value: JSON?) -> String? {
            guard let value else { return nil }
            return value.stringValue ?? value["content"]?.stringValue
        }
        func resolve(_ name: String) -> Int32? {
            if let token = added.first(where: { $0.content.unicodeScalars.elementsEqual(name.unicodeScalars) }) { return token.id }
            return model.vocab[ScalarKey(name.unicodeScalars.map(\.value))]
        }
        let tokenizerConfig = try load("tokenizer_config.json")
        let specialMap = try load("special_tokens_map.json")
        let config = try load("config.json")
        let vocabLimit = max(model.tokens.count, (added.map { Int($0.id) }.max() ?? -1) + 1)
        func id(_ key: String) -> Int32 {
            for source in [tokenizerConfig, specialMap] {
                if let name = tokenName(source?["\(key)_token"]), let id = resolve(name) { return id }
            }
            if let value = config?["\(key)_token_id"]?.intValue, value >= 0, value < vocabLimit { return Int32(value) }
            return -1
        }
        return (id("bos"), id("eos"), id("pad"))
    }
}
