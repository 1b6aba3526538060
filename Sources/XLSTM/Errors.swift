// Errors raised by the engine. Each carries a kind (mapped 1:1 onto the C ABI's status enum by the
// C layer) and a one-line message that names the file and tensor involved where there is one.

public struct XLSTMError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// A file could not be opened, read or mapped.
        case io
        /// A file was read but its contents are not what the format requires.
        case invalidModel
        /// A caller-supplied argument is out of range (token id, buffer size, option value).
        case invalidArgument
        /// The model uses a feature this runtime does not implement.
        case unsupported
        /// A state blob does not belong to this model, format version or is damaged.
        case stateMismatch
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
