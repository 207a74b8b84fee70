import Glibc

/// A connection's round trip as the kernel's TCP keeps it (`TCP_INFO`), which Cloudflare's
/// service reports in its `cfL4` Server-Timing entry; zero where the kernel does not say.
struct TCPRoundTrip: Sendable, Equatable {
    var microseconds: UInt32 = 0
    var variationMicroseconds: UInt32 = 0
    var retransmissions: UInt32 = 0
    var congestionWindow: UInt32 = 0

    init() {}

    init(socket: Int32) {
        var info = tcp_info()
        var length = socklen_t(MemoryLayout<tcp_info>.size)
        guard getsockopt(socket, Int32(IPPROTO_TCP), TCP_INFO, &info, &length) == 0 else { return }
        microseconds = info.tcpi_rtt
        variationMicroseconds = info.tcpi_rttvar
        retransmissions = info.tcpi_total_retrans
        congestionWindow = info.tcpi_snd_cwnd
    }
}
