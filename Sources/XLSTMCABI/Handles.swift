// The Swift objects behind the C handles. A handle is an `Unmanaged` reference: `*_create` /
// `*_load` hand out one retain, `*_free` releases it.

import XLSTM

/// What an `xlstm_model *` points to: the model (which owns the thread pool of `n_threads`).
final class ModelBox {
    let model: Model
    init(model: Model) {
        self.model = model
    }
}

/// What an `xlstm_session *` points to. Holds its model's box, so a model outlives its sessions.
final class SessionBox {
    let session: Session
    let modelBox: ModelBox
    init(session: Session, modelBox: ModelBox) {
        self.session = session
        self.modelBox = modelBox
    }
}

@inline(__always)
func retained<T: AnyObject>(_ object: T) -> OpaquePointer {
    OpaquePointer(Unmanaged.passRetained(object).toOpaque())
}

@inline(__always)
func borrowed<T: AnyObject>(_ handle: OpaquePointer?, as type: T.Type) -> T? {
    guard let handle else { return nil }
    return Unmanaged<T>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}

@inline(__always)
func release<T: AnyObject>(_ handle: OpaquePointer?, as type: T.Type) {
    guard let handle else { return }
    Unmanaged<T>.fromOpaque(UnsafeRawPointer(handle)).release()
}
