// Upper bounds on every count a model directory or state blob declares (issue #13: hostile files
// never crash the host). Each is checked BEFORE anything is allocated, looped over or multiplied by
// it, so an absurd value gives a clear error instead of an allocation failure (which aborts a Swift
// process) or a trap on integer overflow. All limits live here; they are far above any real xLSTM
// (xLSTM 7B: embedding 4096, 32 blocks, 8 heads, vocabulary 50 304, 128 MiB of state per session).
//
// What the files can hold is checked too: the block count against the block indices present in the
// safetensors files (Model.checkBlocksPresent), every tensor's shape against its byte range
// (SafeTensorsFile), a blob's sizes against the model (StateBlob.load).

public enum Limits {
    /// Any width: embedding, inner (up-projected), q/k, v and feed-forward dimensions.
    public static let maxDimension = 1 << 17
    /// Vocabulary entries.
    public static let maxVocabSize = 1 << 22
    /// Residual blocks.
    public static let maxBlocks = 1 << 12
    /// Heads of one cell.
    public static let maxHeads = 1 << 12
    /// Causal convolution kernel size.
    public static let maxConvKernel = 1 << 10
    /// `round_proj_up_to_multiple_of`, `ffn_round_up_to_multiple_of`, `qkv_proj_blocksize`.
    public static let maxMultiple = 1 << 16
    /// Projection factors (`proj_factor`, `qk_dim_factor`, `v_dim_factor`, `ffn_proj_factor`) lie in (0, max].
    public static let maxProjectionFactor = 64.0
    /// Floats of recurrent state, or of step / prefill scratch, per session (4 GiB each).
    public static let maxSessionFloats = 1 << 30
    /// Tensors in one safetensors header.
    public static let maxTensorsPerFile = 1 << 20
    /// Dimensions of one tensor.
    public static let maxTensorRank = 8
    /// Shard files named by model.safetensors.index.json.
    public static let maxShards = 1 << 14
    /// Bytes of config.json (real ones are a few KB) and of the shard index (~30 KB for xLSTM 7B): the
    /// whole file becomes a JSON tree in memory, about ten times its size for the worst inputs.
    public static let maxConfigBytes = 4 << 20
    public static let maxIndexBytes = 16 << 20
}
