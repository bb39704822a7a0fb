"""Loopback ports for servers that tests start, reserved so that nothing else takes them first.

A port found free by binding port 0 and closing is free only for that instant: until the server
binds it, any other process on the machine (another pytest worker, another test run, any outgoing
connection) can be handed the same port, and the test then talks to someone else's server or its
own fails to start. Here the port is left in TIME_WAIT by a connection the test itself accepts and
closes first. For about a minute the kernel then hands it out to no ``bind(("...", 0))`` and to no
outgoing connection, while a server that binds it by number with SO_REUSEADDR (Hypercorn, the
app's own listener, http.server, the MongoDB-wire test server all set it) gets it at once.
"""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as listener:
        # The accepted socket inherits SO_REUSEADDR, and Linux lets a later bind with the option
        # reuse a TIME_WAIT port only when the socket in TIME_WAIT had it too.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, 0))
        listener.listen(1)
        address = listener.getsockname()
        with socket.create_connection(address[:2]):
            accepted, _ = listener.accept()
            # The side that closes first keeps TIME_WAIT: the accepted one, on the server's port.
            accepted.close()
        return int(address[1])
