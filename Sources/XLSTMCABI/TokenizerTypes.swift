// The C types of the tokenizer API (TokenizerAPI.swift). Kept apart from it, like Types.swift,
// because the header check compiles the files that declare C types on their own (no imports).

/// A tokenizer loaded from a Hugging Face `tokenizer.json` (byte-level BPE: GPT-NeoX / xLSTM 7B,
/// GPT-2, Llama-3-style pipelines). Immutable and thread-safe: any number of threads may tokenize
/// and detokenize with one tokenizer at once.
public enum xlstm_tokenizer: COpaqueType {}
/// A streaming detokenizer: token ids in, UTF-8 text out, never a split UTF-8 sequence. Not
/// thread-safe: use it from one thread at a time.
public enum xlstm_detokenizer: COpaqueType {}

/// `xlstm_tokenize` flag: apply the tokenizer's post-processor (e.g. add BOS/EOS), as `tokenizers`'
/// `encode(text, add_special_tokens=True)` does.
public let XLSTM_TOKENIZE_ADD_SPECIAL: Int32 = 1
/// `xlstm_tokenize` flag: special tokens written in the text (e.g. "<|endoftext|>") are tokenized as
/// plain text instead of becoming their ids (`tokenizers`' `encode_special_tokens`).
public let XLSTM_TOKENIZE_SPLIT_SPECIAL: Int32 = 2
/// `xlstm_detokenize` / `xlstm_detokenizer_create` flag: special tokens produce no text.
public let XLSTM_DETOKENIZE_SKIP_SPECIAL: Int32 = 1

/// What `xlstm_tokenizer_get_info` reports. Ids are -1 when the tokenizer files name none.
public struct xlstm_tokenizer_info: CStruct {
    /// Token ids are in [0, vocab_size): the model's vocabulary and the added tokens.
    public var vocab_size: Int32
    /// Beginning-of-sequence id (tokenizer_config.json / special_tokens_map.json `bos_token`, else config.json `bos_token_id`).
    public var bos_id: Int32
    /// End-of-sequence id (`eos_token`, else `eos_token_id`).
    public var eos_id: Int32
    /// Padding id (`pad_token`, else `pad_token_id`).
    public var pad_id: Int32
    /// The BPE model's unknown-token id.
    public var unk_id: Int32
}

