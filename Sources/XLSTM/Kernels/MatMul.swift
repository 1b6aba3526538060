// Matrix–matrix kernels for prefill: a span of tokens through one weight matrix in a single pass.
// Contract: W [rows, cols] · X[t] [cols] -> Y[t] [rows] for t in 0..<count, X and Y row-major with
// the given row strides. A 4-row slice of W (16 KiB of f32 at 1024 columns) stays in L1 while every
// token of the span goes through it, so W is read from memory once per span instead of once per token.

extension Matrix {
    /// Y[t] = W · X[t] for `count` tokens; rows split across `pool`.
    public func applyBatch(_ x: UnsafePointer<Float>, xStride: Int, count: Int,
                           into y: UnsafeMutablePointer<Float>, yStride: Int, pool: ThreadPool? = nil) {
        if count == 1 {
            apply(x, into: y, pool: pool)
            return
        }
        let parts = pool?.parts ?? 1
        if let pool, parts > 1, rows * cols * count >= Matrix.parallelThreshold, rows >= 8 * parts {
            let rowsPerPart = ((rows + parts - 1) / parts + 3) & ~3
            pool.run { part in
                let start = part * rowsPerPart
                let n = min(rowsPerPart, rows - start)
                if n > 0 { self.rows(start, count: n).applyBatchSerial(x, xStride: xStride, count: count, into: y + start, yStride: yStride) }
            }
        } else {
            applyBatchSerial(x, xStride: xStride, count: count, into: y, yStride: yStride)
        }
    }

    func applyBatchSerial(_ x: UnsafePointer<Float>, xStride: Int, count: Int,
                          into y: UnsafeMutablePointer<Float>, yStride: Int) {
        switch storage {
        case let .f32(w):
            matMulRows(w, rows: rows, cols: cols, x, xStride: xStride, count: count, y, yStride: yStride)
        case let .bf16(w):
            matMulRowsBF16(w, rows: rows, cols: cols, x, xStride: xStride, count: count, y, yStride: yStride)
        }
    }
}

/// Tokens per tile: a tile of X (~128 KiB) stays in L2 while every 4-row slice of W passes over it.
@inline(__always)
func tokenTile(cols: Int) -> Int { max(4, (128 << 10) / (cols * 4)) }

/// W [rows, cols] (f32) · X[t] → Y[t][0..<rows], for t in 0..<count, through the same micro-kernel
/// as `matVec` (so results are bit-identical to it).
@inline(never)
func matMulRows(_ w: UnsafePointer<Float>, rows: Int, cols: Int,
                _ x: UnsafePointer<Float>, xStride: Int, count: Int,
                _ y: UnsafeMutablePointer<Float>, yStride: Int) {
    forEachTile(rows: rows, cols: cols, count: count, fourRows: { row, t in
        dot4(w + row * cols, cols: cols, x + t * xStride, y + t * yStride + row)
    }, remainingRows: { row, t in
        matVec(w + row * cols, rows: rows - row, cols: cols, x + t * xStride, y + t * yStride + row)
    })
}

/// `matMulRows` for bf16 weights, through the bf16 micro-kernel (bit-identical to `matVecBF16`).
@inline(never)
func matMulRowsBF16(_ w: UnsafePointer<UInt16>, rows: Int, cols: Int,
                    _ x: UnsafePointer<Float>, xStride: Int, count: Int,
                    _ y: UnsafeMutablePointer<Float>, yStride: Int) {
    forEachTile(rows: rows, cols: cols, count: count, fourRows: { row, t in
        dot4BF16(w + row * cols, cols: cols, x + t * xStride, y + t * yStride + row)
    }, remainingRows: { row, t in
        matVecBF16(w + row * cols, rows: rows - row, cols: cols, x + t * xStride, y + t * yStride + row)
    })
}

/// The GEMM loop order: tokens in tiles that fit L2; within a tile, each 4-row slice of W (hot in L1)
/// goes over every token: `fourRows(row, t)`; the last rows % 4 rows: `remainingRows(firstRow, t)`.
@inline(__always)
func forEachTile(rows: Int, cols: Int, count: Int, fourRows: (Int, Int) -> Void, remainingRows: (Int, Int) -> Void) {
    let tile = tokenTile(cols: cols)
    var first = 0
    while first < count {
        let last = min(first + tile, count)
        var row = 0
        while row + 4 <= rows {
            for t in first..<last { fourRows(row, t) }
            row += 4
        }
        if row < rows {
            for t in first..<last { remainingRows(row, t) }
        }
        first = last
    }
}
