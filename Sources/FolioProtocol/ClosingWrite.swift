import NIOCore

extension ChannelHandlerContext {
    /// Writes a connection's last frame (a refusal or a fatal ERROR), then closes — once the
    /// frame is written, or after `grace` when the peer is not reading (a stalled TLS
    /// handshake, a full receive window): a peer that stops reading cannot keep the
    /// connection, its slot and its buffered answers alive.
    public func writeLastAndClose(_ data: NIOAny, grace: TimeAmount = .seconds(1)) {
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let forced = eventLoop.scheduleTask(in: grace) { bound.value.close(mode: .all, promise: nil) }
        writeAndFlush(data).whenComplete { _ in
            forced.cancel()
            bound.value.close(promise: nil)
        }
    }
}
