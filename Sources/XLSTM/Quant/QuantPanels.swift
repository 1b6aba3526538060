// The in-memory layout of block-quantized weight matrices: the q8_0 / q4_0 rows of the file
// (BlockQuant.swift) repacked at load into panels of MR rows, like the f32 and bf16 panels
// (MatrixPacking.swift), so the matvec reads every byte once, sequentially, with no shuffles.
//
// Panel p holds rows [MR·p, MR·p + MR) of W [rows, cols] as cols / 32 blocks; block b holds columns
// [32b, 32b + 32) of the panel's MR rows (padding rows: codes 0, scale 0):
//
//   codes   MR · 32 bytes (q8) / MR · 16 bytes (q4), in chunks of one vector load (4·L bytes, L =
//           the path's float lanes, NV = MR / L vectors per panel row). Word j (32 bits) of a chunk
//           holds 4 codes (q8, byte t) or 8 codes (q4, nibble t, low nibble first); code t of word j
//           is row j + L·(t mod NV), column (chunk · C) + t div NV, with C = 4/NV (q8) or 8/NV (q4)
//           columns per chunk. So `word >> (width·t)` brings MR/NV rows of one column into the lanes.
//           q8 codes are stored offset by 128 (q + 128 ∈ [0, 255]; value = d · q); q4 codes as in the
//           file (n ∈ [0, 15]; value = d · (n − 8)).
//           Except q8 on 16 lanes (the AVX-512 path, `rowWords`): a chunk is NV vectors, vector v
//           holding rows L·v .. L·v + L − 1, and word j of it 4 consecutive columns of row L·v + j
//           (byte t: column chunk · 4 + t). That is the u8 operand of one `vpdpbusd` against the 4
//           activations of those columns, so each instruction does 4 useful products; the layout
//           above (two rows per word) is what AVX2's `vpmaddubsw` needs — its int16 pair sums
//           saturate at 2 · 255 · 127, so each q8 code there is paired with a zero activation —
//           and cost VNNI two `vpdpbusd` per 4 products (measured: see int8_matvec.c).
//   scales  MR binary16 scales as MR/2 words: word j holds the scale of row j in its low half and
//           of row j + MR/2 in its high half (the bf16 panels' pairing).
//
// Block bytes: 34·MR (q8), 18·MR (q4): 1088 / 576 at MR = 32; exactly the file's bytes per weight.
// The scales stay binary16 in memory (an f32 copy would cost q8 6% and q4 11% more traffic); the
// kernels widen them exactly (generate.py `widenHalves`).

extension QuantFormat {
    /// Codes per 32-bit word of a chunk.
    var codesPerWord: Int { self == .q8 ? 4 : 8 }

    /// Bytes of one block of one panel: codes, then MR scales.
    func panelBlockBytes(mr: Int) -> Int { dataBytes(cols: QuantFormat.blockSize) * mr + 2 * mr }

    /// Bytes of the panels of a [rows, cols] matrix.
    public func panelBytes(rows: Int, cols: Int, mr: Int) -> Int {
        (rows + mr - 1) / mr * (cols / QuantFormat.blockSize) * panelBlockBytes(mr: mr)
    }
}

/// Where code (lane, column) of a block sits: byte offset within the block and bit shift.
struct QuantPanelLayout {
    let format: QuantFormat
    let mr: Int
    let lanes: Int
    /// [32 · mr]: for column c and lane i, (byte offset << 3) | shift at index c · mr + i.
    let codeSlots: [Int32]

    /// Whether a word holds 4 columns of one row (q8 on the 16-lane AVX-512 path; see the top).
    static func rowWords(format: QuantFormat, lanes: Int) -> Bool { format == .q8 && lanes == 16 }

    init(format: QuantFormat, mr: Int, lanes: Int) {
        self.format = format
        self.mr = mr
        self.lanes = lanes
        let nv = mr / lanes
        let perWord = format.codesPerWord
        let width = 32 / perWord
        let rowWords = QuantPanelLayout.rowWords(format: format, lanes: lanes)
        let columnsPerChunk = rowWords ? perWord : perWord / nv
        var slots = [Int32](repeating: 0, count: QuantFormat.blockSize * mr)
        for c in 0..<QuantFormat.blockSize {
            for i in 0..<mr {
                let v = i / lanes, j = i % lanes
                let chunk = c / columnsPerChunk
                let byte: Int, bit: Int
                if rowWords {
                    bit = (c % columnsPerChunk) * width
                    byte = (chunk * nv + v) * 4 * lanes + j * 4 + bit / 8
                } else {
                    bit = ((c % columnsPerChunk) * nv + v) * width
                    byte = chunk * 4 * lanes + j * 4 + bit / 8
                }
                slots[c * mr + i] = Int32(byte << 3 | bit % 8)
            }
        }
        codeSlots = slots
    }

    var codeBytes: Int { format.dataBytes(cols: QuantFormat.blockSize) * mr }
    var blockBytes: Int { format.panelBlockBytes(mr: mr) }

    /// Byte offset of lane i's scale within a block.
    func scaleOffset(_ i: Int) -> Int {
        let half = mr / 2
        return codeBytes + (i % half) * 4 + (i / half) * 2
    }

    /// Repacks `rows` file rows into `out` (`format.panelBytes` bytes): `row(r)` gives row r's codes
    /// (dataBytes(cols) bytes) and its cols / 32 binary16 scales, little endian, any alignment.
    /// A scale that is not finite is an error (the kernels' widening assumes finite halves).
    /// With a `pool` the panels are split across its threads (`Matrix.forEachPanelRun`); the error
    /// is then the one of the first failing panel, as without.
    func pack(rows: Int, cols: Int, into out: UnsafeMutableRawPointer, pool: ThreadPool? = nil,
              row: (Int) -> (data: UnsafeRawPointer, scales: UnsafeRawPointer)) throws(XLSTMError) {
        let panels = (rows + mr - 1) / mr
        let parts = pool?.parts ?? 1
        let failures = UnsafeMutablePointer<XLSTMError?>.allocate(capacity: parts)
        failures.initialize(repeating: nil, count: parts)
        defer { failures.deinitialize(count: parts); failures.deallocate() }
        Matrix.forEachPanelRun(panels, pool: pool) { part, run in
            do throws(XLSTMError) {
                try pack(panels: run, rows: rows, cols: cols, into: out, row: row)
            } catch {
                failures[part] = error
            }
        }
        for part in 0..<parts { if let error = failures[part] { throw error } }
    }

    /// `pack` for the panels `run` (their bytes zeroed first).
    private func pack(panels run: Range<Int>, rows: Int, cols: Int, into out: UnsafeMutableRawPointer,
                      row: (Int) -> (data: UnsafeRawPointer, scales: UnsafeRawPointer)) throws(XLSTMError) {
        let blocks = cols / QuantFormat.blockSize
        (out + run.lowerBound * blocks * blockBytes).initializeMemory(as: UInt8.self, repeating: 0,
                                                                     count: run.count * blocks * blockBytes)
        let bytes = out.assumingMemoryBound(to: UInt8.self)
        let half = QuantFormat.blockSize / 2
        for panel in run {
            let valid = min(mr, rows - panel * mr)
            for i in 0..<valid {
                let r = panel * mr + i
                let (data, scales) = row(r)
                for b in 0..<blocks {
                    let block = bytes + (panel * blocks + b) * blockBytes
                    let scale = UInt16(littleEndian: scales.loadUnaligned(fromByteOffset: 2 * b, as: UInt16.self))
                    guard scale & 0x7C00 != 0x7C00 else {
                        throw XLSTMError(.invalidModel, "row \(r), block \(b): the scale is not finite (binary16 0x\(String(scale, radix: 16)))")
                    }
                    let offset = scaleOffset(i)
                    block[offset] = UInt8(truncatingIfNeeded: scale)
                    block[offset + 1] = UInt8(truncatingIfNeeded: scale >> 8)
                    switch format {
                    case .q8:
                        let source = data + b * QuantFormat.blockSize
                        for c in 0..<QuantFormat.blockSize {
                            let slot = Int(codeSlots[c * mr + i])
                            block[slot >> 3] = source.load(fromByteOffset: c, as: UInt8.self) ^ 0x80
                        }
                    case .q4:
                        let source = data + b * half
                        for k in 0..<half {
                            let byte = source.load(fromByteOffset: k, as: UInt8.self)
                            let low = Int(codeSlots[k * mr + i]), high = Int(codeSlots[(k + half) * mr + i])
                            block[low >> 3] |= (byte & 0x0F) << UInt8(low & 7)
                            block[high >> 3] |= (byte >> 4) << UInt8(high & 7)
                        }
                    }
                }
            }
        }
    }

    /// Row `index` of panels packed by `pack` → out [cols] (scale · code, as `dequantizeRow`).
    func unpackRow(_ panels: UnsafeRawPointer, index: Int, cols: Int, into out: UnsafeMutablePointer<Float>) {
        let blocks = cols / QuantFormat.blockSize
        let panel = index / mr, i = index % mr
        for b in 0..<blocks {
            let block = panels + (panel * blocks + b) * blockBytes
            let d = halfToFloat(block.loadUnaligned(fromByteOffset: scaleOffset(i), as: UInt16.self))
            for c in 0..<QuantFormat.blockSize {
                let slot = Int(codeSlots[c * mr + i])
                let byte = block.load(fromByteOffset: slot >> 3, as: UInt8.self)
                let value: Int
                switch format {
                case .q8: value = Int(byte) - 128
                case .q4: value = Int((byte >> UInt8(slot & 7)) & 0x0F) - 8
                }
                out[b * QuantFormat.blockSize + c] = d * Float(value)
            }
        }
    }
}

extension QuantFormat {
    /// `dequantizeRow` for file bytes of any alignment: codes `data` and binary16 `scales` of one
    /// row of `cols` values → out [cols].
    func dequantizeRow(unaligned data: UnsafeRawPointer, scales: UnsafeRawPointer, cols: Int,
                       into out: UnsafeMutablePointer<Float>) {
        let B = QuantFormat.blockSize
        for b in 0..<(cols / B) {
            let d = halfToFloat(UInt16(littleEndian: scales.loadUnaligned(fromByteOffset: 2 * b, as: UInt16.self)))
            switch self {
            case .q8:
                for i in 0..<B { out[b * B + i] = d * Float(data.load(fromByteOffset: b * B + i, as: Int8.self)) }
            case .q4:
                for i in 0..<(B / 2) {
                    let byte = data.load(fromByteOffset: b * B / 2 + i, as: UInt8.self)
                    out[b * B + i] = d * Float(Int(byte & 0x0F) - 8)
                    out[b * B + i + B / 2] = d * Float(Int(byte >> 4) - 8)
                }
            }
        }
    }

    /// Whether every binary16 scale of `count` is finite (the kernels assume so).
    static func scalesAreFinite(_ scales: UnsafeRawPointer, count: Int) -> Bool {
        for i in 0..<count where scales.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self) & 0x7C00 == 0x7C00 {
            return false
        }
        return true
    }
}
