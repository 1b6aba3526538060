// Errors with file:line:column. The generator never guesses: anything it cannot express in C exactly
// is an error, and all errors of a run are reported together.

struct Problem: Error, Comparable {
    var path: String
    var line: Int
    var column: Int
    var message: String

    var rendered: String { "\(path):\(line):\(column): error: \(message)" }

    static func < (a: Problem, b: Problem) -> Bool {
        (a.path, a.line, a.column, a.message) < (b.path, b.line, b.column, b.message)
    }
}

/// Collects the diagnostics of a run.
struct Problems {
    private(set) var all: [Problem] = []

    var isEmpty: Bool { all.isEmpty }

    mutating func error(_ message: String, at spot: SourceSpot) {
        all.append(Problem(path: spot.path, line: spot.line, column: spot.column, message: message))
    }

    mutating func append(_ diagnostic: Problem) {
        all.append(diagnostic)
    }

    /// Sorted by place; the same message at the same place once.
    var sorted: [Problem] {
        var seen = Set<String>()
        return all.sorted().filter { seen.insert($0.rendered).inserted }
    }
}
