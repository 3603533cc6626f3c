// Times DNS sync planning for a 10,000-record zone whose desired set differs in 5% of names.
// Run a release build: swift run -c release furrow-dns-bench
import FurrowDNS
import FurrowDNSTestSupport

let scenario = try SyncScenario(records: 10_000)
let clock = ContinuousClock()
var timings: [Duration] = []
var plan: SyncPlan?
for _ in 0..<15 {
    timings.append(try clock.measure {
        plan = try planSync(current: scenario.current, desired: scenario.desired, zone: scenario.zone, owner: scenario.owner)
    })
}
timings.sort()
func milliseconds(_ duration: Duration) -> String {
    let ms = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    return String(Int(ms * 10) / 10) + "." + String(Int(ms * 10) % 10) + " ms"
}
print("planSync, \(scenario.current.count) current rrsets (incl. registry), \(scenario.desired.count) desired: \(plan!.summary)")
print("min \(milliseconds(timings[0])), median \(milliseconds(timings[timings.count / 2])), max \(milliseconds(timings[timings.count - 1]))")
