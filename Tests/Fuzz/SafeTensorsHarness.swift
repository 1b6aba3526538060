// Fuzz harness: a safetensors file (header length, JSON header, dtypes, shapes, data offsets).
// Input byte 0 chooses the form:
//   even: the rest is the whole file, as is (header length field included);
//   odd:  bytes 1…4 are a data size D (mod 1 MiB), the rest is the header JSON; the harness writes
//         u64(header length) + header + D bytes of data, so mutations go to the structure.
// Every entry accepted must lie inside the mapping and match its shape; each is then read whole.

func fuzzSafeTensors(_ data: UnsafeRawBufferPointer) {
    guard data.count >= 1 else { return }
    let path = scratchDirectory + "/model.safetensors"
    if data[0] & 1 == 0 {
        writeFile(path, UnsafeRawBufferPointer(rebasing: data[1...]))
    } else {
        let dataSize = Int(u32(data, 1) % (1 << 20))
        let header = data.count > 5 ? UnsafeRawBufferPointer(rebasing: data[5...]) : UnsafeRawBufferPointer(start: nil, count: 0)
        var length = UInt64(header.count).littleEndian
            withUnsafeBytes(of: &length) { lengthBytes in
            writeFile(path, lengthBytes, header, UnsafeRawBufferPointer(rebasing: dataPattern[0..<dataSize]))
        }
    }
    guard let file = try? SafeTensorsFile(path: path) else { return }
    for entry in file.entries {
        fuzzCheck(entry.byteOffset >= 8 && entry.byteOffset + entry.byteCount <= file.file.bytes.count,
                  "'\(entry.name)' bytes [\(entry.byteOffset), +\(entry.byteCount)) outside the file")
        fuzzCheck(entry.byteCount == entry.elementCount * entry.dtype.byteSize, "'\(entry.name)' size vs shape")
        fuzzCheck(entry.shape.count <= Limits.maxTensorRank, "rank")
    }
    guard let store = try? WeightStore(files: [file], kernels: .portable) else { return }
    touchEveryTensor(store)
}
