"""CPU time of every process of a running stack, read from /proc: what each part of the live
pipeline costs per event (bench.e2e prints it per rate).

The processes are found by the pid files the deploy scripts write in the stack's state
directory: each service (`run/<name>.pid`), each Kafka node (`kafka/node-N/kafka.pid`) and
PostgreSQL (`postgres/data/postmaster.pid`: the postmaster, its live backends, and what its
exited children used). The benchmark's own process (the load generator) is counted too, and
any further process it names (bench.e2e's webhook receiver). Linux only.
"""

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone
        return None
    return text[text.rindex(")") + 2 :].split()  # the fields after "pid (comm)", from field 3 on


def _seconds(fields: list[str], children: bool = False) -> float:
    # fields[11:13] are utime, stime; [13:15] cutime, cstime (waited-for children)
    used = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if children else 0)
    return used / TICKS


def _pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _tree_seconds(root: int) -> float:
    """A process, its live children and what its exited children used."""
    fields = _stat(root)
    if fields is None:
        return 0.0
    total = _seconds(fields, children=True)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (child := _stat(int(entry.name))) is not None and int(child[1]) == root:
            total += _seconds(child)
    return total


class StackCPU:
    """Snapshots of CPU seconds by process name; `since(before)` the difference."""

    def __init__(self, state_dir: Path, others: dict[str, int] | None = None) -> None:
        self.state_dir = state_dir
        self.others = dict(others or {})  # name -> pid of a process of the benchmark's own

    def pids(self) -> dict[str, int]:
        """The stack's client processes by name: services, Kafka nodes, the benchmark and its others."""
        pids: dict[str, int] = {}
        for pid_file in sorted((self.state_dir / "run").glob("*.pid")):
            if pid := _pid(pid_file):
                pids[pid_file.stem] = pid
        for pid_file in sorted((self.state_dir / "kafka").glob("node-*/kafka.pid")):
            if pid := _pid(pid_file):
                pids[f"kafka {pid_file.parent.name}"] = pid
        return pids | {"benchmark (load)": os.getpid()} | self.others

    def snapshot(self) -> dict[str, float]:
        seconds: dict[str, float] = {}
        for name, pid in self.pids().items():
            if fields := _stat(pid):
                seconds[name] = _seconds(fields)
        if pid := _pid(self.state_dir / "postgres" / "data" / "postmaster.pid"):
            seconds["postgresql"] = _tree_seconds(pid)
        return seconds

    @staticmethod
    def since(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {name: after[name] - before.get(name, 0.0) for name in after}


def report(used: dict[str, float], events: int, wall: float) -> str:
    """One line per process: CPU seconds, milliseconds per event, share of a core over `wall` s."""
    lines = [f"        {'process':<28} {'cpu s':>7} {'ms/event':>9} {'cores':>6}"]
    for name, seconds in sorted(used.items(), key=lambda item: -item[1]):
        per_event = seconds * 1000 / events if events else 0.0
        lines.append(f"        {name:<28} {seconds:>7.1f} {per_event:>9.2f} {seconds / wall:>6.2f}")
    total = sum(used.values())
    lines.append(f"        {'all':<28} {total:>7.1f} {total * 1000 / max(events, 1):>9.2f} {total / wall:>6.2f}")
    return "\n".join(lines)
