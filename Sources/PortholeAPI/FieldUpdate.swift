/// A field of a partial update: left alone, set to a value, or (for nullable fields) cleared.
public enum FieldUpdate<Value: Sendable & Hashable>: Sendable, Hashable {
    case set(Value)
    case clear
}

extension KeyedEncodingContainer {
    /// Absent (`nil`): the key is left out; `.clear`: `null`; `.set`: the value.
    mutating func encodeUpdate<Value: Encodable>(_ update: FieldUpdate<Value>?, forKey key: Key) throws {
        switch update {
        case .set(let value)?: try encode(value, forKey: key)
        case .clear?: try encodeNil(forKey: key)
        case nil: break
        }
    }
}
