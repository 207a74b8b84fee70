import Glibc

/// Counters of a running server, readable from any thread (tests check upload counting here).
///
/// `@unchecked Sendable`: every access to the counters holds `mutex`.
public final class TargetStatistics: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var requestCount = 0
    private var received: Int64 = 0
    private var sent: Int64 = 0
    private var connectionCount = 0
    private var openCount = 0
    private var refusedCount = 0

    init() { pthread_mutex_init(mutex, nil) }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    /// Requests whose head was read completely.
    public var requests: Int { locked { requestCount } }
    /// Request body bytes read (after de-chunking) and discarded.
    public var bodyBytesReceived: Int64 { locked { received } }
    /// Response body bytes written.
    public var bodyBytesSent: Int64 { locked { sent } }
    /// Connections accepted.
    public var connections: Int { locked { connectionCount } }
    /// Connections being served now.
    public var openConnections: Int { locked { openCount } }
    /// Connections answered 503 and closed because `maxConnections` were open.
    public var refusedConnections: Int { locked { refusedCount } }

    func countRequest() { locked { requestCount += 1 } }
    func countConnection() { locked { connectionCount += 1 } }

    /// Counts a connection as open unless `limit` are; false when it must be refused.
    func open(limit: Int) -> Bool {
        locked {
            guard openCount < limit else {
                refusedCount += 1
                return false
            }
            openCount += 1
            return true
        }
    }

    func close() { locked { openCount -= 1 } }
    func countReceived(_ bytes: Int) { locked { received += Int64(bytes) } }
    func countSent(_ bytes: Int) { locked { sent += Int64(bytes) } }
}
