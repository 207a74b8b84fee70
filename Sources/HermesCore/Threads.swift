import Glibc

/// A bounded FIFO between two threads: `push` waits while it is full, `pop` while it is empty.
/// Either side can `close` it; the other then stops instead of waiting forever.
///
/// `@unchecked Sendable`: every access to `items` and `closed` holds `mutex`.
public final class BoundedQueue<Element: Sendable>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var items: [Element] = []
    private var closed = false
    private let capacity: Int

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
    }

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        changed.deallocate()
        mutex.deallocate()
    }

    /// False when the queue was closed: the consumer has gone and the element was dropped.
    @discardableResult
    public func push(_ element: Element) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while items.count >= capacity && !closed { pthread_cond_wait(changed, mutex) }
        guard !closed else { return false }
        items.append(element)
        pthread_cond_broadcast(changed)
        return true
    }

    /// The next element, or nil once the queue is closed and drained.
    public func pop() -> Element? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while items.isEmpty && !closed { pthread_cond_wait(changed, mutex) }
        guard !items.isEmpty else { return nil }
        let element = items.removeFirst()
        pthread_cond_broadcast(changed)
        return element
    }

    /// The next element, or nil once the queue is closed and drained or `timeout` has passed.
    public func pop(timeout: Duration) -> Element? {
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        let (seconds, attoseconds) = max(timeout, .zero).components
        let nanoseconds = Int(deadline.tv_nsec) + Int(attoseconds / 1_000_000_000)
        deadline.tv_sec += Int(seconds) + nanoseconds / 1_000_000_000
        deadline.tv_nsec = nanoseconds % 1_000_000_000
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while items.isEmpty && !closed {
            if pthread_cond_timedwait(changed, mutex, &deadline) == ETIMEDOUT { break }
        }
        guard !items.isEmpty else { return nil }
        let element = items.removeFirst()
        pthread_cond_broadcast(changed)
        return element
    }

    public func close() {
        pthread_mutex_lock(mutex)
        closed = true
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
    }

    public var isClosed: Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return closed
    }
}

/// A plain OS thread, for work that blocks in system calls (reading a pipe) and must not tie up
/// Swift's cooperative thread pool.
public final class BackgroundThread: Sendable {
    private let handle: pthread_t

    /// Starts `body` at once; nil if the system has no thread to give.
    public init?(_ body: @escaping @Sendable () -> Void) {
        final class Box: Sendable {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        var handle = pthread_t()
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        let status = pthread_create(
            &handle, nil,
            { raw in
                guard let raw else { return nil }
                Unmanaged<Box>.fromOpaque(raw).takeRetainedValue().body()
                return nil
            }, context)
        guard status == 0 else {
            Unmanaged<Box>.fromOpaque(context).release()
            return nil
        }
        self.handle = handle
    }

    public func join() {
        pthread_join(handle, nil)
    }

    /// Lets the thread finish on its own (it may be blocked reading a producer that never ends).
    public func detach() {
        pthread_detach(handle)
    }
}
