// Fuzz harness: model.safetensors.index.json. The input is the index; the scratch directory holds
// the sharded fixture's config.json and five shards, so a valid index loads the whole model.

nonisolated(unsafe) var indexDirectoryReady = false

func fuzzShardIndex(_ data: UnsafeRawBufferPointer) {
    let directory = scratchDirectory
    if !indexDirectoryReady {
        let source = fixturesRoot + "/large_bf16_sharded/model"
        for name in ["config.json"] + (1...5).map({ "model-0000\($0)-of-00005.safetensors" }) {
            let bytes = readFile(source + "/" + name)
            bytes.withUnsafeBytes { writeFile(directory + "/" + name, $0) }
        }
        indexDirectoryReady = true
    }
    writeFile(directory + "/model.safetensors.index.json", data)
    exerciseModel(directory: directory)
}
