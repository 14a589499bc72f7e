"""A free TCP port on 127.0.0.1 for a server a test starts (Dovecot, the SMTP sink, the portal, the
sandbox gateway).

Not ``bind(0)``: that hands out a port of the kernel's ephemeral range, the range outgoing
connections take their local ports from, so between the test freeing the port and its server
binding it, a client connection (the other half of the suite runs beside this one, with hundreds
of database connections) may take it: 「Address already in use」. These ports come from below that
range, at random, checked free, and never twice in one process."""

from __future__ import annotations

import random
import socket
from pathlib import Path

_given: set[int] = set()


def _below_ephemeral() -> range:
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return range(20000, max(low, 21000))


def free_port() -> int:
    ports = _below_ephemeral()
    for _attempt in range(200):
        port = random.choice(ports)
        if port in _given:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port
    raise RuntimeError("no free port below the ephemeral range")
