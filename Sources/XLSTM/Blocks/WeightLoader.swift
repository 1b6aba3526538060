// Typed access to the weights of one block: checkpoint keys under a prefix, with the
// checkpoint-layout fixes (residual LayerNorm weights, optional biases) in one place.

struct WeightLoader {
    let store: WeightStore
    let prefix: String

    func scoped(_ sub: String) -> WeightLoader { WeightLoader(store: store, prefix: prefix + sub) }

    func tensor(_ name: String, _ shape: [Int]) throws(XLSTMError) -> Tensor {
        try store.tensor(prefix + name, shape: shape)
    }

    func optional(_ name: String, _ shape: [Int]) throws(XLSTMError) -> Tensor? {
        try store.optionalTensor(prefix + name, shape: shape)
    }

    /// A bias that the config says exists (`present`), or nil.
    func bias(_ name: String, _ count: Int, present: Bool) throws(XLSTMError) -> UnsafePointer<Float>? {
        present ? try tensor(name, [count]).data : nil
    }

    /// torch.nn.Linear: weight [out, in] and, when `bias`, bias [out].
    func linear(_ name: String, out: Int, in inFeatures: Int, bias: Bool) throws(XLSTMError) -> Linear {
        Linear(weight: try store.matrix(prefix + name + ".weight", rows: out, cols: inFeatures),
               bias: bias ? try tensor(name + ".bias", [out]).data : nil)
    }

    /// Rows [start, start+count) of a fused linear layer's weight (and bias) as a Linear of their own.
    func linearRows(_ name: String, rows start: Int, count: Int, totalRows: Int, in inFeatures: Int,
                    bias: Bool) throws(XLSTMError) -> Linear {
        let weight = try store.matrix(prefix + name + ".weight", rows: totalRows, cols: inFeatures, first: start, count: count)
        let b = bias ? try tensor(name + ".bias", [totalRows]).data : nil
        return Linear(weight: weight, bias: b.map { $0 + start })
    }

    /// One part of a fused linear layer: rows [first, first + count) of `name`.weight [rows, in]
    /// (and of `name`.bias when `bias`).
    struct LinearPart {
        let name: String
        let rows: Int
        var first = 0
        var count: Int? = nil
        let bias: Bool
    }

    /// Linear layers that read the same input, stacked into one: their outputs come out
    /// concatenated in `parts` order, from one pass over the input (one GEMM in prefill, one pool
    /// hand-off per token in step). Parts without a bias get zeros when another part has one.
    func fusedLinear(_ parts: [LinearPart], in inFeatures: Int) throws(XLSTMError) -> Linear {
        let ranges = parts.map { WeightStore.RowRange(prefix + $0.name + ".weight", rows: $0.rows, first: $0.first, count: $0.count) }
        let weight = try store.matrix(stacking: ranges, cols: inFeatures)
        guard parts.contains(where: \.bias) else { return Linear(weight: weight, bias: nil) }
        let bias = try store.derivedBuffer(count: weight.rows)
        var offset = 0
        for (part, range) in zip(parts, ranges) {
            if part.bias {
                let source = try tensor(part.name + ".bias", [part.rows]).data + range.first
                (bias + offset).update(from: source, count: range.count)
            }
            offset += range.count
        }
        return Linear(weight: weight, bias: UnsafePointer(bias))
    }

    /// `xlstm.components.ln.LayerNorm` with residual_weight=True stores w and applies (1 + w):
    /// folded once here into a buffer that holds 1 + w.
    func residualNormWeight(_ name: String, _ count: Int) throws(XLSTMError) -> UnsafePointer<Float> {
        let raw = try tensor(name, [count])
        let folded = try store.derivedBuffer(count: count)
        for i in 0..<count { folded[i] = 1 + raw.data[i] }
        return UnsafePointer(folded)
    }
}
