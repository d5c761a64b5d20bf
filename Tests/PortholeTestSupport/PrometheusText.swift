/// Reads `/metrics` output as the tests need it: the value of one series.
public enum PrometheusText {
    /// The value of `series` (a name with its labels exactly as exposed, e.g.
    /// `porthole_requests_total{decision="public",status="2xx"}`), or `nil` when it is absent.
    public static func value(of series: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.split(separator: " ").last ?? "")
        }
        return nil
    }
}
