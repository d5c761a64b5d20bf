import NIOCore

/// The queries waiting for an upstream answer, by DNS ID. Each entry also carries a token unique to
/// its query: a timer that fires late, or a failed write, can then only end the query it was made
/// for, never a later one that drew the same (random, 16-bit) ID.
struct PendingQueries {
    struct Entry {
        let server: SocketAddress
        let token: UInt64
        var continuation: CheckedContinuation<[UInt8], any Error>?
        var timer: Scheduled<Void>?
    }

    private var entries: [UInt16: Entry] = [:]
    private var nextToken: UInt64 = 0

    var count: Int { entries.count }

    /// A random ID no waiting query holds, reserved for a query to `server`.
    mutating func reserve(server: SocketAddress, random: () -> UInt16 = { UInt16.random(in: .min ... .max) }) -> (id: UInt16, token: UInt64)? {
        guard entries.count <= Int(UInt16.max) else { return nil }
        var id = random()
        while entries[id] != nil { id = random() }
        nextToken &+= 1
        entries[id] = Entry(server: server, token: nextToken, continuation: nil, timer: nil)
        return (id, nextToken)
    }

    /// Hands the query its continuation; `false` if the query is no longer waiting.
    mutating func attach(_ continuation: CheckedContinuation<[UInt8], any Error>, id: UInt16, token: UInt64) -> Bool {
        guard entries[id]?.token == token else { return false }
        entries[id]?.continuation = continuation
        return true
    }

    /// Hands the query its timer; `false` if it was answered meanwhile (the timer is then moot).
    mutating func attach(timer: Scheduled<Void>, id: UInt16, token: UInt64) -> Bool {
        guard entries[id]?.token == token else { return false }
        entries[id]?.timer = timer
        return true
    }

    /// Ends the query `token` names (its timer fired, or its write failed), if it still waits.
    mutating func take(id: UInt16, token: UInt64) -> Entry? {
        guard entries[id]?.token == token else { return nil }
        return entries.removeValue(forKey: id)
    }

    /// Ends the query an answer with `id` from `server` is for: only the server asked may answer.
    mutating func takeAnswer(id: UInt16, from server: SocketAddress) -> Entry? {
        guard let entry = entries[id], entry.server == server, entry.continuation != nil else { return nil }
        return entries.removeValue(forKey: id)
    }
}
