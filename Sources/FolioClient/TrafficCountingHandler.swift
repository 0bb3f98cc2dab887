import NIOConcurrencyHelpers
import NIOCore

/// Bytes in each direction of one connection.
final class TrafficCounter: Sendable {
    private let counts = NIOLockedValueBox<(sent: UInt64, received: UInt64)>((0, 0))
    var sent: UInt64 { counts.withLockedValue { $0.sent } }
    var received: UInt64 { counts.withLockedValue { $0.received } }
    func add(sent: Int = 0, received: Int = 0) {
        counts.withLockedValue {
            $0.sent += UInt64(sent)
            $0.received += UInt64(received)
        }
    }
}

/// Counts the raw bytes that pass, without touching them.
final class TrafficCountingHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let counter: TrafficCounter
    init(counter: TrafficCounter) { self.counter = counter }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        counter.add(received: unwrapInboundIn(data).readableBytes)
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        counter.add(sent: unwrapOutboundIn(data).readableBytes)
        context.write(data, promise: promise)
    }
}
