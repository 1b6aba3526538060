// Fuzz harness: the whole loader over a tiny model directory — config.json and model.safetensors
// from one input, then (when it loads) create, feed, prefill, save, load and clone a session.
// Input layout: u32 C (config length, mod the input size), u32 D (data size, mod 1 MiB), C bytes of
// config.json, then the safetensors header JSON; the harness writes model.safetensors as
// u64(header length) + header + D bytes of data (0x3C: small finite f32/bf16/f16 values), so the
// inputs stay small and mutations go to the structure. Seeds: every fixture (tools/fuzz/make_seeds.py).

func fuzzLoader(_ data: UnsafeRawBufferPointer) {
    guard data.count >= 8 else { return }
    let rest = data.count - 8
    let configLength = rest == 0 ? 0 : Int(u32(data, 0)) % (rest + 1)
    let dataSize = Int(u32(data, 4) % (1 << 20))
    let config = UnsafeRawBufferPointer(rebasing: data[8..<(8 + configLength)])
    let header = UnsafeRawBufferPointer(rebasing: data[(8 + configLength)...])
    let directory = scratchDirectory
    writeFile(directory + "/config.json", config)
    var length = UInt64(header.count).littleEndian
    withUnsafeBytes(of: &length) { lengthBytes in
        writeFile(directory + "/model.safetensors", lengthBytes, header, UnsafeRawBufferPointer(rebasing: dataPattern[0..<dataSize]))
    }
    exerciseModel(directory: directory)
}
