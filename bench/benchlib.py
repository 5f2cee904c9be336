"""What the benchmarks share: measuring a child process, describing the machine, writing results."""

from __future__ import annotations

import os
import platform
import re
import signal
import socket
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "bench" / "README.md"

# Starts and reaps the child from a tiny launcher (`python -I -S`): a child spawned straight from
# a large benchmark process would report *its* peak RSS, as Linux carries the parent's peak into
# a vfork'd exec. The child's own stdout passes through; the launcher's line ("wall ms,
# ru_maxrss KiB, exit code") comes last.
LAUNCHER = """import os, sys, time
start = time.perf_counter()
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ)
_, status, usage = os.wait4(pid, 0)
print((time.perf_counter() - start) * 1000, usage.ru_maxrss, os.waitstatus_to_exitcode(status), flush=True)
"""

# Children use cached bytecode as an installed tool would, kept under bench/out/ (git-ignored):
# the warm-up run writes it even where PYTHONDONTWRITEBYTECODE is set for the rest of the tree.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
CHILD_ENV["PYTHONPYCACHEPREFIX"] = str(ROOT / "bench" / "out" / "pycache")


def run_launched(argv: list[str]) -> tuple[float, int, list[str]]:
    """Run `argv` in the repo root; return (wall ms, peak RSS KiB, the child's stdout lines).

    Aborts the benchmark unless the child exits 0: a number from a failed run means nothing.
    """
    launch = [sys.executable, "-I", "-S", "-c", LAUNCHER, *argv]
    done = subprocess.run(launch, cwd=ROOT, env=CHILD_ENV, capture_output=True, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or lines[-1].split()[-1] != "0":
        sys.exit(f"bench: {' '.join(argv)} failed:\n{done.stdout[-500:]}{done.stderr[-2000:]}")
    wall, rss, _ = lines[-1].split()
    return float(wall), int(rss), lines[:-1]  # ru_maxrss is in KiB on Linux


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_group(proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM to a child started in its own session, SIGKILL to the group if it lingers."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def machine(*libraries: str) -> str:
    """CPUs, memory, kernel, Python and the versions of the libraries that matter to the numbers."""
    mem = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
    gib = f"{int(mem.group(1)) / 2**20:.0f} GiB RAM" if mem else "RAM unknown"
    libs = ", ".join(f"{name} {version(name)}" for name in libraries)
    return (
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), {gib}, "
        f"Linux {platform.release()}, Python {platform.python_version()}; {libs}"
    )


def write_results(table: str, start: str, end: str) -> None:
    """Replace the text between the `start` and `end` markers of bench/README.md with `table`."""
    body = README.read_text(encoding="utf-8")
    if start not in body or end not in body:
        sys.exit(f"bench: {README} lacks the {start} / {end} markers")
    head, rest = body.split(start, 1)
    README.write_text(f"{head}{start}\n{table}\n{end}{rest.split(end, 1)[1]}", encoding="utf-8")
    print(f"bench: wrote the results to {README.relative_to(ROOT)}", file=sys.stderr)
