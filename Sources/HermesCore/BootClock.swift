import Glibc

/// The time since this boot (CLOCK_BOOTTIME: it counts suspend too) with the boot's id, for
/// intervals that must hold across runs whatever the wall clock does: NTP setting it after a boot
/// without a real-time clock, an admin's `date -s`. Two readings of the same boot give the real
/// time between them; readings of different boots give nothing, and callers fall back to the
/// wall clock.
public enum BootClock {
    public struct Reading: Equatable, Sendable {
        public var boot: String
        public var milliseconds: Int64

        public init(boot: String, milliseconds: Int64) {
            self.boot = boot
            self.milliseconds = milliseconds
        }

        /// The milliseconds from `earlier` to this reading, when both are of one boot.
        public func milliseconds(since earlier: Reading) -> Int64? {
            boot == earlier.boot ? milliseconds - earlier.milliseconds : nil
        }
    }

    /// Now, or nil where the kernel does not say which boot this is.
    public static func now() -> Reading? {
        guard let boot = bootID else { return nil }
        var spec = timespec()
        guard clock_gettime(CLOCK_BOOTTIME, &spec) == 0 else { return nil }
        return Reading(boot: boot, milliseconds: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }

    /// `HERMES_BOOT_ID` first: hermes.service sets it from systemd's `%b`, because its
    /// `ProcSubset=pid` hides /proc/sys from the tools.
    static let bootID: String? = {
        if let given = getenv("HERMES_BOOT_ID").map({ String(cString: $0).trimming() }), !given.isEmpty {
            return given
        }
        let descriptor = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = read(descriptor, &buffer, buffer.count)
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[0..<count], as: UTF8.self).trimming()
        return text.isEmpty ? nil : text
    }()
}
