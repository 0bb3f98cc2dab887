#!/usr/bin/env python3
"""A node that fails part-way, for the CLI tests: it completes the HELLO handshake on every
connection, answers the first request it ever gets with ERROR notFound, and closes the
connection on every later request. Prints "127.0.0.1:PORT" once listening."""
import socket, struct, threading

def frame(kind, request, payload):
    return struct.pack(">IBI", 5 + len(payload), kind, request) + payload

def read_frame(conn):
    head = b""
    while len(head) < 9:
        chunk = conn.recv(9 - len(head))
        if not chunk: return None
        head += chunk
    length, kind, request = struct.unpack(">IBI", head)
    body = b""
    while len(body) < length - 5:
        chunk = conn.recv(length - 5 - len(body))
        if not chunk: return None
        body += chunk
    return kind, request, body

answered = threading.Lock()
first = [True]

def serve(conn):
    with conn:
        if read_frame(conn) is None: return
        software = b"fake-node"
        hello = struct.pack(">IHHQ", 0x464F4C49, 1, 2, 0x0102030405060708) + struct.pack(">I", len(software)) + software
        hello += struct.pack(">Q", 1 << 1) + bytes(32) + struct.pack(">IQ", 1 << 20, 0)
        conn.sendall(frame(0x01, 0, hello))
        while True:
            f = read_frame(conn)
            if f is None: return
            kind, request, _ = f
            with answered:
                answer = first[0]
                first[0] = False
            if not answer: return  # close: the node went away mid-request
            message = b"article not found"
            conn.sendall(frame(0xFF, request, struct.pack(">HI", 9, len(message)) + message))

listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(16)
print(f"127.0.0.1:{listener.getsockname()[1]}", flush=True)
while True:
    c, _ = listener.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
