/// Copies the field lines a head writer keeps exactly as they came, merging lines that were
/// adjacent in the original head into one copy: most heads are a few runs of untouched lines, so
/// this is a few `memcpy`s instead of four small writes per field.
///
/// Whatever a writer writes itself must come after `flush`, so the lines keep their order.
struct FieldLineCopier {
    private var start = 0
    private var end = 0

    init() {}

    /// Starts with a run the caller keeps too (a status line), so the lines after it join its copy.
    init(keeping range: Range<Int>) {
        start = range.lowerBound
        end = range.upperBound
    }

    @inline(__always)
    mutating func keep(_ field: HeaderField, from bytes: UnsafeRawBufferPointer, into writer: inout HeadBytesWriter) {
        let line = field.line
        if line.lowerBound != end {
            flush(from: bytes, into: &writer)
            start = line.lowerBound
        }
        end = line.upperBound
    }

    @inline(__always)
    mutating func flush(from bytes: UnsafeRawBufferPointer, into writer: inout HeadBytesWriter) {
        guard end > start else { return }
        writer.append(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
        start = end
    }
}
