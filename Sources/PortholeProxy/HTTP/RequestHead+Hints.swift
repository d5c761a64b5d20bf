import PortholeCore

extension RequestHead {
    /// The head's fields as Core's ``RequestHints`` reads them: the one rule for navigations and
    /// HTML error pages. `bytes` are the head's bytes.
    func hints(_ bytes: UnsafeRawBufferPointer) -> RequestHints {
        var hints = startHints()
        for field in fields { hints.read(field, in: bytes) }
        return hints
    }

    /// Hints from the request line alone, for a caller that walks the fields itself and hands
    /// each to ``RequestHints/read(_:in:)`` (authorisation, which reads them once for both).
    func startHints(isPreflight: Bool = false) -> RequestHints {
        let method: RequestHints.Method = isGET ? .get : isHEAD ? .head : isOPTIONS ? .options : .other
        return RequestHints(method: method, isUpgrade: isUpgrade, isPreflight: isPreflight)
    }
}

extension RequestHints {
    /// Reads one of the head's fields, if it is one the hints depend on.
    @inline(__always)
    mutating func read(_ field: HeaderField, in bytes: UnsafeRawBufferPointer) {
        switch field.kind {
        case .secFetchMode: readSecFetchMode(UnsafeRawBufferPointer(rebasing: bytes[field.value]))
        case .accept: readAccept(UnsafeRawBufferPointer(rebasing: bytes[field.value]))
        case .secFetchSite: readSecFetchSite(UnsafeRawBufferPointer(rebasing: bytes[field.value]))
        case .secFetchDest: readSecFetchDest(UnsafeRawBufferPointer(rebasing: bytes[field.value]))
        default: break
        }
    }
}
