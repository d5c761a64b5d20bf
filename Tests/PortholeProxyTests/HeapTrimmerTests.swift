import PortholeProxy
import Testing

@Suite("HeapTrimmer")
struct HeapTrimmerTests {
    /// Counts the trims a trimmer asks for.
    final class Trims: @unchecked Sendable {
        var count = 0
    }

    /// Feeds (open, peak since the last look) pairs to a trimmer; returns which looks trimmed.
    private func looks(_ pairs: [(open: Int, peak: Int)], burst: Int = 100, trims: Trims = Trims()) -> [Bool] {
        var trimmer = HeapTrimmer(burst: burst, trim: { trims.count += 1 })
        return pairs.map { trimmer.observe(open: $0.open, peakSinceLast: $0.peak) }
    }

    @Test func growingOrSmallDropsNeverTrim() {
        let trims = Trims()
        let open = [0, 50, 500, 5_000, 4_950, 4_901, 4_901, 4_901]
        #expect(looks(open.map { ($0, $0) }, trims: trims) == Array(repeating: false, count: open.count))
        #expect(trims.count == 0)
    }

    @Test func aBurstTrimsOnceAtTheFollowingLook() {
        let trims = Trims()
        // The drop itself does not trim (the closed connections' memory may not be freed yet), the
        // next look does, and staying low afterwards does not trim again.
        let result = looks([(1_000, 1_000), (10, 1_000), (10, 10), (10, 10), (0, 10)], trims: trims)
        #expect(result == [false, false, true, false, false])
        #expect(trims.count == 1)
    }

    @Test func aBurstBetweenTwoLooksIsSeenThroughThePeak() {
        // 10,000 opened and closed between two looks: only the peak shows it.
        #expect(looks([(0, 0), (0, 10_000), (0, 0)]) == [false, false, true])
    }

    @Test func connectionsComingBackCancelAPendingTrim() {
        #expect(looks([(0, 1_000), (950, 950), (950, 950)]) == [false, false, false])
    }

    @Test func everyLaterBurstTrimsAgain() {
        let trims = Trims()
        _ = looks([(0, 500), (0, 0), (0, 500), (0, 0), (0, 500), (0, 0)], trims: trims)
        #expect(trims.count == 3)
    }
}
