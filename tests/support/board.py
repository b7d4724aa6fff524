"""The board of a running test stack rebuilt from its topics, as an operator does it."""

import asyncio
import subprocess
import sys

from deploy.stack import REPO, Stack


async def rebuild_the_board(stack: Stack, *options: str) -> subprocess.CompletedProcess:
    """The board stopped, `python -m services.board.rebuild [options]` run with its settings, the
    board started again and ready; the rebuild's own run (its output), which must have succeeded."""
    stack.stop_service("board")
    env = stack.service_env(stack.service("board"))
    command = [sys.executable, "-m", "services.board.rebuild", *options]
    rebuild = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    stack.start_service("board")
    await asyncio.to_thread(stack.wait_ready, stack.url("board"))
    assert rebuild.returncode == 0, rebuild.stderr
    return rebuild
