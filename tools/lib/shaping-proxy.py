#!/usr/bin/env python3
"""A TCP proxy that behaves like a slow link (for tools/bench-sync --rtt/--rate): each direction
is a bottleneck of RATE Mbit/s with RTT/2 ms of one-way delay, and a queue of about one
bandwidth-delay product plus 64 KiB (beyond it the proxy stops reading, so the sender's TCP
feels backpressure, as behind a real bottleneck). Counts the bytes each way.

Usage: shaping-proxy.py LISTEN_PORT_FILE TARGET_HOST:PORT RTT_MS RATE_MBIT STATS_FILE
Prints the port it listens on (127.0.0.1) to LISTEN_PORT_FILE; on SIGTERM writes
"up_bytes down_bytes" to STATS_FILE."""
import asyncio, signal, sys, time

port_file, target, rtt_ms, rate_mbit, stats_file = sys.argv[1:6]
host, tport = target.rsplit(":", 1)
one_way = float(rtt_ms) / 2000.0
rate = float(rate_mbit) * 1e6 / 8.0          # bytes per second
queue_limit = int(rate * float(rtt_ms) / 1000.0) + 65536
totals = {"up": 0, "down": 0}


async def pipe(reader, writer, direction):
    """Reads what one side sends and delivers it to the other as the link would."""
    loop = asyncio.get_running_loop()
    q = asyncio.Queue()
    state = {"free_at": loop.time(), "queued": 0}
    cond = asyncio.Condition()

    async def deliver():
        while True:
            at, data = await q.get()
            if data is None:
                break
            delay = at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(data)
            await writer.drain()
            async with cond:
                state["queued"] -= len(data)
                cond.notify_all()
        try:
            writer.write_eof()
        except Exception:
            pass

    task = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(16384)
            if not data:
                break
            totals[direction] += len(data)
            async with cond:
                await cond.wait_for(lambda: state["queued"] < queue_limit)
                state["queued"] += len(data)
            now = loop.time()
            # Serialisation at the bottleneck, then propagation.
            state["free_at"] = max(now, state["free_at"]) + len(data) / rate
            await q.put((state["free_at"] + one_way, data))
    except (ConnectionError, asyncio.CancelledError):
        pass
    await q.put((0, None))
    await task


async def handle(client_reader, client_writer):
    try:
        server_reader, server_writer = await asyncio.open_connection(host, int(tport))
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(
        pipe(client_reader, server_writer, "up"), pipe(server_reader, client_writer, "down"), return_exceptions=True)
    for w in (client_writer, server_writer):
        try:
            w.close()
        except Exception:
            pass


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    with open(port_file, "w") as f:
        f.write("%d\n" % server.sockets[0].getsockname()[1])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    async with server:
        await stop.wait()
    with open(stats_file, "w") as f:
        f.write("%d %d\n" % (totals["up"], totals["down"]))

asyncio.run(main())
