// Memory: what one more session costs, and the calling threads' shared scratch.

import XLSTM

/// Describes the memory of `model`'s sessions and feeds in `*info` (see `xlstm_memory_info`).
/// Returns XLSTM_ERROR_INVALID_ARGUMENT for a NULL argument. Thread-safe.
@c public func xlstm_model_get_memory_info(_ model: ConstHandle<xlstm_model>?,
                                           _ info: StructPointer<xlstm_memory_info>?) -> CEnumValue<xlstm_status> {
    guard let box = borrowed(model, as: ModelBox.self) else { return argumentError("xlstm_model_get_memory_info: model is NULL") }
    guard let info else { return argumentError("xlstm_model_get_memory_info: info is NULL") }
    let m = box.model
    info.storeBytes(of: xlstm_memory_info(
        session_bytes: UInt64(Session.bytes(for: m)), step_scratch_bytes: UInt64(m.stepScratchBytes),
        prefill_scratch_bytes: UInt64(m.prefillScratchBytes()),
        batch_scratch_bytes_per_session: UInt64(m.batchScratchBytesPerSession),
        batch_window: UInt32(Model.batchWindow), n_threads: UInt32(m.threads), reserved0: 0, reserved1: 0),
        as: xlstm_memory_info.self)
    return ok
}
