// Times DNS sync planning for a 10,000-record zone whose desired set differs in 5% of names.
// Run a release build: swift run -c release furrow-dns-bench
// Reports wall time and this thread's CPU time (the latter is steadier on a busy machine).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FurrowDNS
import FurrowDNSTestSupport

func threadCPUMilliseconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) * 1000 + Double(time.tv_nsec) / 1e6
}

func wallMilliseconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) * 1000 + Double(time.tv_nsec) / 1e6
}

func format(_ ms: Double) -> String { String(Int(ms * 10) / 10) + "." + String(Int(ms * 10) % 10) + " ms" }

let scenario = try SyncScenario(records: 10_000)
var wall: [Double] = []
var cpu: [Double] = []
var plan: SyncPlan?
for _ in 0..<20 {
    let wallStart = wallMilliseconds(), cpuStart = threadCPUMilliseconds()
    plan = try planSync(current: scenario.current, desired: scenario.desired, zone: scenario.zone, owner: scenario.owner)
    cpu.append(threadCPUMilliseconds() - cpuStart)
    wall.append(wallMilliseconds() - wallStart)
}
wall.sort()
cpu.sort()
print("planSync, \(scenario.current.count) current rrsets (incl. registry), \(scenario.desired.count) desired: \(plan!.summary)")
print("wall: min \(format(wall[0])), median \(format(wall[wall.count / 2]))")
print("cpu:  min \(format(cpu[0])), median \(format(cpu[cpu.count / 2]))")
