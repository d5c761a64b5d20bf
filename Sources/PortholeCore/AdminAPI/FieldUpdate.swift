/// A field of a partial update: left alone, set to a value, or (for nullable fields) cleared.
public enum FieldUpdate<Value: Sendable & Hashable>: Sendable, Hashable {
    case set(Value)
    case clear
}
