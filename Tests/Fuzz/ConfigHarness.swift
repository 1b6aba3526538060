// Fuzz harness: config.json of both families (JSON.parse → ModelConfig.parse). Seeds: every
// fixture's config.json and the bundled model's (Tests/Fuzz/corpus/config).

func fuzzConfig(_ data: UnsafeRawBufferPointer) {
    guard let json = try? JSON.parse(data, context: "config.json"),
          let config = try? ModelConfig.parse(json, file: "config.json") else { return }
    // A parsed config is within Limits: nothing sized by it can be absurd.
    fuzzCheck(config.numBlocks >= 1 && config.numBlocks <= Limits.maxBlocks, "num_blocks \(config.numBlocks)")
    fuzzCheck(config.vocabSize >= 1 && config.vocabSize <= Limits.maxVocabSize, "vocab \(config.vocabSize)")
    fuzzCheck(config.embeddingDim >= 1 && config.embeddingDim <= Limits.maxDimension, "embedding \(config.embeddingDim)")
    switch config {
    case let .paper(c):
        fuzzCheck(c.isSLSTM.count == c.numBlocks, "block map length")
        if let m = c.mlstm { fuzzCheck(m.innerDim >= 1 && m.innerDim <= Limits.maxDimension && m.innerDim % m.numHeads == 0, "inner \(m.innerDim)") }
        if let f = c.feedForward { fuzzCheck(f.upDim >= 1 && f.upDim <= Limits.maxDimension, "ffn \(f.upDim)") }
    case let .large(c):
        for d in [c.qkDim, c.vDim, c.ffnDim] { fuzzCheck(d >= 1 && d <= Limits.maxDimension, "dimension \(d)") }
        fuzzCheck(c.qkDim % c.numHeads == 0 && c.vDim % c.numHeads == 0, "heads divide")
    }
    _ = config.canonicalDescription
}
