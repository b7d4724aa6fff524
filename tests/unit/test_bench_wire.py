"""bench/wire.py reads `ss` to count what each process of a stack sent to Kafka and PostgreSQL."""

from bench import wire

BEFORE = """\
0      0      127.0.0.1:40000 127.0.0.1:24792 users:(("python",pid=11,fd=9))
\t cubic wscale:7,7 rto:201 mss:32768 data_segs_out:100 data_segs_in:90 send 1Gbps
0      0      127.0.0.1:24792 127.0.0.1:40000 users:(("java",pid=30,fd=200))
\t cubic wscale:7,7 rto:201 data_segs_out:95 data_segs_in:100
0      0      127.0.0.1:40002 127.0.0.1:25132 users:(("python",pid=11,fd=10))
\t cubic rto:201 data_segs_out:7 data_segs_in:7
"""
AFTER = """\
0      0      127.0.0.1:40000 127.0.0.1:24792 users:(("python",pid=11,fd=9))
\t cubic wscale:7,7 rto:201 mss:32768 data_segs_out:130 data_segs_in:120 send 1Gbps
0      0      127.0.0.1:24792 127.0.0.1:40000 users:(("java",pid=30,fd=200))
\t cubic wscale:7,7 rto:201 data_segs_out:125 data_segs_in:130
0      0      127.0.0.1:40002 127.0.0.1:25132 users:(("python",pid=11,fd=10))
\t cubic rto:201 data_segs_out:27 data_segs_in:27
0      0      127.0.0.1:40004 127.0.0.1:25132 users:(("python",pid=12,fd=10))
\t cubic rto:201 data_segs_out:5 data_segs_in:5
0      0      127.0.0.1:40006 127.0.0.1:8080 users:(("python",pid=12,fd=11))
\t cubic rto:201 data_segs_out:50
"""


def test_segments_sent_to_each_server_by_process():
    ports = wire.server_ports("127.0.0.1:24792", "postgresql://postgres@127.0.0.1:25132/samordna")
    counts = wire.sent(wire.parse(BEFORE), wire.parse(AFTER), {"gate": 11, "gateway": 12, "kafka node-1": 30}, ports)
    # the broker's answers go from its port, not to it; a new connection counts from nothing; port 8080 is neither
    assert counts == {"gate": {"kafka": 30, "postgresql": 20}, "gateway": {"postgresql": 5}}
    assert "gate" in wire.report(counts, 10) and "3.0" in wire.report(counts, 10)
