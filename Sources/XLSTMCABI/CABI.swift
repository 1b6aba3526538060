// The C ABI of libxlstm.so. This layer holds nothing but exported thunks over the XLSTM engine;
// the full API (models, sessions, logits, state, sampling) arrives with the C ABI issue.

import XLSTM

/// The runtime's API version (`XLSTM_API_VERSION` in the generated header).
@c(xlstm_api_version)
public func xlstm_api_version() -> UInt32 {
    0
}
