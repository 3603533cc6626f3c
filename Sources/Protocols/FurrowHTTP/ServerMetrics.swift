import Foundation
import Prometheus

/// Requests by route and status, and their durations, in Prometheus' text format.
/// Labels use the route's pattern (never the raw path), so their number stays bounded.
public final class ServerMetrics: @unchecked Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    public init() {}

    public func record(method: String, route: String, status: Int, seconds: Double) {
        let labels = [("method", method), ("route", route), ("status", String(status))]
        registry.makeCounter(
            descriptor: MetricNameDescriptor(metricName: "furrow_http_requests", unitName: "total", helpText: "HTTP requests answered"),
            labels: labels
        ).increment()
        registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(metricName: "furrow_http_request_duration", unitName: "seconds", helpText: "Time from a request's end to its response"),
            labels: [("method", method), ("route", route)], buckets: buckets
        ).record(.nanoseconds(Int64(seconds * 1e9)))
    }

    public func text() -> String { registry.emitToString() }
}
