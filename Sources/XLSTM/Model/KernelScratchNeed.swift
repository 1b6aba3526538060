// What a feed's kernels may ask of a thread's own buffers (ThreadScratch.swift: a GEMM's packed
// inputs and edge tile, the fast GEMMs' token rows and unpacked panel, an int8 or bf16 matvec's
// digits of x, a cell's scratch), so that a feed can take them before it changes a session: if the
// system refuses the memory, the feed fails with `.outOfMemory` and nothing has changed, instead
// of the kernels stopping the process half-way through. Bounds, not exact figures: each slot is the
// largest request of any kernel the feed can reach, computed from the model's distinct (columns,
// storage) pairs (`WeightStore.matrixShapes`); the kernels' own size formulas are the ones below.

import CXLSTMCPU

extension Model {
    /// Floats per ThreadScratch slot that a feed of `rows` rows (a prefill window's, or a batch's
    /// sessions) may need on any thread that runs its kernels: `batch` for products through
    /// `Matrix.applyRows` (batched decode, a batched prefill's logits) rather than prefill's token
    /// blocks (`Matrix.gemm`). One row (a step) reaches only the matvecs and the cells.
    static func kernelScratchNeed(rows R: Int, batch: Bool, chunkSize: Int, blocks: [any RecurrentBlock],
                                  shapes: [MatrixShape], kernels: KernelSet) -> ThreadScratch.Need {
        var need = ThreadScratch.Need()
        for block in blocks { need.cell = max(need.cell, block.cellScratchCount(chunkSize: chunkSize)) }
        let mr = kernels.mr, nr = kernels.nr
        for shape in shapes {
            let K = shape.cols
            // The matvecs (a step, a one-token GEMM, the last token's logits).
            switch shape.storage {
            case .q8, .q4:
                if kernels.int8MatVec != nil {
                    need.int8Digits = max(need.int8Digits, (int8_matvec_exact_scratch_bytes(K) + 3) / 4)
                }
            case .bf16:
                if kernels.bf16GEMM != nil { need.int8Digits = max(need.int8Digits, K / 2) }
            case .f32:
                break
            }
            guard R >= 2 || batch else { continue }
            // `fast`'s GEMMs (Matrix.fastGEMM): all the rows at once.
            switch shape.storage {
            case .q8, .q4:
                if kernels.int8GEMM != nil {
                    need.int8Tokens = max(need.int8Tokens, (int8_gemm_activation_bytes(R, K) + 3) / 4)
                    need.int8Panel = max(need.int8Panel, (int8_gemm_panel_scratch_bytes(K) + 3) / 4)
                }
            case .bf16:
                if kernels.bf16GEMM != nil {
                    need.int8Tokens = max(need.int8Tokens, (bf16_gemm_activation_bytes(R, K) + 3) / 4)
                    need.int8Panel = max(need.int8Panel, (bf16_gemm_panel_scratch_bytes() + 3) / 4)
                }
            case .f32:
                break
            }
            // The float GEMM (Matrix.batchGEMM): B̃ of K × (its rows padded to slivers, < rows + nr),
            // prefill's rows in token blocks; the edge tile and a dequantized / widened K block.
            let quantized = shape.storage == .q8 || shape.storage == .q4
            let tokens = batch ? R : min(R, Matrix.gemmTokenBlock(cols: K, nr: nr, minimumSlivers: quantized ? 8 : 4))
            need.packedB = max(need.packedB, K * (tokens + nr))
            need.edgeTile = max(need.edgeTile, mr * nr + Matrix.gemmKC * mr)
        }
        return need
    }

    /// `kernelScratchNeed` for this model.
    func kernelScratchNeed(rows: Int, batch: Bool, chunkSize: Int) -> ThreadScratch.Need {
        Model.kernelScratchNeed(rows: rows, batch: batch, chunkSize: chunkSize, blocks: blocks,
                                shapes: weights.matrixShapes, kernels: kernels)
    }
}

extension ThreadScratch.Need {
    /// The larger of each slot.
    func union(_ other: ThreadScratch.Need) -> ThreadScratch.Need {
        ThreadScratch.Need(packedB: max(packedB, other.packedB), edgeTile: max(edgeTile, other.edgeTile),
                           cell: max(cell, other.cell), int8Tokens: max(int8Tokens, other.int8Tokens),
                           int8Panel: max(int8Panel, other.int8Panel), int8Digits: max(int8Digits, other.int8Digits))
    }
}
