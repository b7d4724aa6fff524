"""Requests each process of a running stack sends to Kafka and to PostgreSQL, per event (bench.e2e
prints them per rate, beside the CPU).

Counted as the TCP segments carrying data that a process wrote on its connections to the servers'
ports, read with `ss` (iproute2) before and after. On loopback a request is one segment (the MSS is
64 KB, and both clients write a request at once: aiokafka a request, asyncpg a statement's Bind,
Execute and Sync), so the figure is the Kafka requests and the PostgreSQL round trips a process
made. Unlike CPU time it does not move with what else the machine is doing; it shows what a batch
costs in messages, and how a bigger batch shares them. A connection opened and closed between the
two readings is not seen. Linux only.
"""

import re
import shutil
import subprocess
from collections import Counter
from urllib.parse import urlsplit

_PROCESS = re.compile(r"pid=(\d+)")
_SEGMENTS = re.compile(r"\bdata_segs_out:(\d+)")

Reading = dict[tuple[str, str], tuple[int, int]]  # (local, peer) -> (pid, data segments out)


def server_ports(kafka_bootstrap: str, dsn: str) -> dict[str, set[str]]:
    """The servers' ports by name: every Kafka node of the bootstrap list, and PostgreSQL's."""
    kafka = {address.rsplit(":", 1)[1] for address in kafka_bootstrap.split(",") if address}
    return {"kafka": kafka, "postgresql": {str(urlsplit(dsn).port or 5432)}}


def read() -> Reading:
    """Every established TCP connection of this machine with its owning process and segments out."""
    ss = shutil.which("ss") or "/usr/bin/ss"
    out = subprocess.run(
        [ss, "-H", "-t", "-i", "-n", "-p", "state", "established"], capture_output=True, text=True, check=True
    ).stdout
    return parse(out)


def parse(out: str) -> Reading:
    """`ss -H -t -i -n -p state established`: a line per socket, its counters on the next."""
    reading: Reading = {}
    socket = None
    for line in out.splitlines():
        if line and not line[0].isspace():  # a socket: Recv-Q Send-Q Local Peer Process
            fields = line.split()
            process = _PROCESS.search(line)
            socket = (fields[2], fields[3], int(process.group(1))) if len(fields) >= 4 and process else None
        elif socket and (segments := _SEGMENTS.search(line)):
            reading[(socket[0], socket[1])] = (socket[2], int(segments.group(1)))
            socket = None
    return reading


def sent(before: Reading, after: Reading, pids: dict[str, int], ports: dict[str, set[str]]) -> dict[str, Counter]:
    """Segments each named process sent to each server between two readings."""
    names = {pid: name for name, pid in pids.items()}
    counts: dict[str, Counter] = {}
    for (local, peer), (pid, segments) in after.items():
        if pid not in names:
            continue
        port = peer.rsplit(":", 1)[1]
        for server, server_ports_ in ports.items():
            if port in server_ports_:
                earlier = before.get((local, peer))
                counts.setdefault(names[pid], Counter())[server] += segments - (earlier[1] if earlier else 0)
    return counts


def report(counts: dict[str, Counter], events: int) -> str:
    """One line per process: requests to Kafka and round trips to PostgreSQL, per event."""
    events = max(events, 1)
    lines = [f"        {'process':<28} {'kafka':>7} {'postgresql':>11}   (requests sent, per event)"]
    total: Counter = Counter()
    for name, servers in sorted(counts.items(), key=lambda item: -sum(item[1].values())):
        total.update(servers)
        lines.append(f"        {name:<28} {servers['kafka'] / events:>7.1f} {servers['postgresql'] / events:>11.1f}")
    lines.append(f"        {'all':<28} {total['kafka'] / events:>7.1f} {total['postgresql'] / events:>11.1f}")
    return "\n".join(lines)
