"""Service processes of a local stack: started in the background from the repository, each with
a pid file in <state>/run and its output appended to <state>/logs; found, stopped and waited for
by the key they were started under (a service's name, or another instance's)."""

import http.client
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from deploy.layout import REPO


@dataclass(frozen=True)
class Processes:
    state_dir: Path

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    def pid_file(self, key: str) -> Path:
        return self.run_dir / f"{key}.pid"

    def pid(self, key: str) -> int:
        return int(self.pid_file(key).read_text())

    def keys(self) -> list[str]:
        """Every key with a pid file, whether or not its process still runs."""
        return [pid_file.stem for pid_file in self.run_dir.glob("*.pid")]

    def start(self, key: str, module: str, env: dict[str, str]) -> int:
        """Run `python -m module` in a session of its own; returns its pid."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"{key}.log", "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", module],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid_file(key).write_text(str(process.pid))
        return process.pid

    def running(self, key: str) -> bool:
        pid_file = self.pid_file(key)
        if not pid_file.exists():
            return False
        try:
            os.kill(int(pid_file.read_text()), 0)
        except (ProcessLookupError, ValueError):
            return False
        return True

    def stop(self, key: str, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        """Send `sig`, and SIGKILL if the process has not gone within `timeout` seconds."""
        pid_file = self.pid_file(key)
        if not self.running(key):
            pid_file.unlink(missing_ok=True)
            return
        pid = int(pid_file.read_text())
        os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        pid_file.unlink(missing_ok=True)

    def wait_ready(self, url: str, timeout: float = 60) -> None:
        """Until `url`/readyz answers 200; a TimeoutError points at the logs. A probe of a port in the
        ephemeral range that nothing listens on yet can connect to itself (TCP simultaneous open) and
        read its own request back: not ready either."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (OSError, http.client.HTTPException):  # HTTPException: e.g. a probe that met itself (below)
                pass
            time.sleep(0.25)
        raise TimeoutError(f"{url} was not ready within {timeout:.0f} s (see {self.log_dir})")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # reap our own child so that it does not linger as a zombie
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True
