import Glibc
import Testing

@testable import HermesCore

@Suite struct ThreadsTests {
    @Test func queueHandsOverEverythingInOrderUnderBackpressure() throws {
        let queue = BoundedQueue<Int>(capacity: 2)
        let producer = try #require(
            BackgroundThread {
                for value in 0..<10_000 { queue.push(value) }
                queue.close()
            })
        var received: [Int] = []
        while let value = queue.pop() { received.append(value) }
        producer.join()
        #expect(received == Array(0..<10_000))
    }

    @Test func closingReleasesABlockedProducer() throws {
        let queue = BoundedQueue<Int>(capacity: 1)
        let results = BoundedQueue<Bool>(capacity: 4)
        let producer = try #require(
            BackgroundThread {
                results.push(queue.push(1))
                results.push(queue.push(2))  // blocks: the queue is full until it is closed
            })
        usleep(50_000)
        queue.close()
        producer.join()
        #expect(results.pop() == true)
        #expect(results.pop() == false)
        #expect(queue.pop() == 1)
        #expect(queue.pop() == nil)
    }
}
