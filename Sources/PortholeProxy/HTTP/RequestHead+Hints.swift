import PortholeCore

extension RequestHead {
    /// The head's fields as Core's ``RequestHints`` reads them: the one rule for navigations and
    /// HTML error pages. `bytes` are the head's bytes.
    func hints(_ bytes: UnsafeRawBufferPointer, isPreflight: Bool = false) -> RequestHints {
        let method: RequestHints.Method = isGET ? .get : isHEAD ? .head : isOPTIONS ? .options : .other
        var hints = RequestHints(method: method, isUpgrade: isUpgrade, isPreflight: isPreflight)
        for field in fields {
            switch field.kind {
            case .secFetchMode: hints.readSecFetchMode(UnsafeRawBufferPointer(rebasing: bytes[field.value]))
            case .accept: hints.readAccept(UnsafeRawBufferPointer(rebasing: bytes[field.value]))
            default: break
            }
        }
        return hints
    }
}
