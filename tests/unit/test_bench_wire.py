"""bench/wire.py reads `ss` to count what each process of a stack sent to Kafka and PostgreSQL."""

from bench import wire


def ss(*sockets: tuple[str, str, int, int]) -> str:
    """`ss -H -t -i -n -p state established` output: (local, peer, pid, data segments out) each."""
    return "".join(
        f'0      0      {local} {peer} users:(("python",pid={pid},fd=9))\n'
        f"\t cubic wscale:7,7 rto:201 mss:32768 data_segs_out:{segments} data_segs_in:1\n"
        for local, peer, pid, segments in sockets
    )


GATE_TO_KAFKA, BROKER_SIDE = ("127.0.0.1:40000", "127.0.0.1:24792"), ("127.0.0.1:24792", "127.0.0.1:40000")
GATE_TO_PG, GATEWAY_TO_PG = ("127.0.0.1:40002", "127.0.0.1:25132"), ("127.0.0.1:40004", "127.0.0.1:25132")
BEFORE = ss((*GATE_TO_KAFKA, 11, 100), (*BROKER_SIDE, 30, 95), (*GATE_TO_PG, 11, 7))
AFTER = ss(
    (*GATE_TO_KAFKA, 11, 130),
    (*BROKER_SIDE, 30, 125),
    (*GATE_TO_PG, 11, 27),
    (*GATEWAY_TO_PG, 12, 5),  # a connection opened in between
    ("127.0.0.1:40006", "127.0.0.1:8080", 12, 50),  # neither server
)


def test_segments_sent_to_each_server_by_process():
    ports = wire.server_ports("127.0.0.1:24792", "postgresql://postgres@127.0.0.1:25132/samordna")
    counts = wire.sent(wire.parse(BEFORE), wire.parse(AFTER), {"gate": 11, "gateway": 12, "kafka node-1": 30}, ports)
    # the broker's answers go from its port, not to it; a new connection counts from nothing; port 8080 is neither
    assert counts == {"gate": {"kafka": 30, "postgresql": 20}, "gateway": {"postgresql": 5}}
    assert "gate" in wire.report(counts, 10) and "3.0" in wire.report(counts, 10)
