#!/usr/bin/env python3
"""A listing to a terminal: `tix list` in a pseudo-terminal, read as fast
as the reader can, straight (`--no-pager`) and through the pager (`less`
with LESS=FRX), beside `cat` of the same bytes.

    python3 benches/terminal.py DESK [TIX] [--runs N] [--rows R] [--cols C]

DESK is a desk made by `cargo bench --bench fossil` or `--bench desk`
(for example target/bench-desks/side-10000/tix); TIX defaults to
target/release/tix. Prints median milliseconds of N runs:

- straight: from the start of `tix list --no-pager` to its exit;
- first screen: from the start of `tix list` (paged) until R-1 lines have
  reached the terminal, and paged exit: until the pager quits on a `q`
  sent at that moment;
- cat: `cat` of `tix list` piped to a file (no colours, subjects not cut
  to the window), for what the terminal itself costs.
"""

import argparse
import fcntl
import os
import pty
import select
import statistics
import struct
import subprocess
import tempfile
import termios
import time


def run(cmd, rows, cols, env, quit_after_screen):
    """Runs cmd on a new pty; returns (first screen s or None, exit s, bytes)."""
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.execvpe(cmd[0], cmd, env)
    start = time.perf_counter()
    first = None
    lines = 0
    total = 0
    while True:
        ready, _, _ = select.select([fd], [], [], 10)
        if not ready:
            os.kill(pid, 9)
            raise SystemExit(f"{cmd}: no output for 10 s")
        try:
            data = os.read(fd, 1 << 20)
        except OSError:
            break
        if not data:
            break
        total += len(data)
        lines += data.count(b"\n")
        if first is None and lines >= rows - 1:
            first = time.perf_counter() - start
            if quit_after_screen:
                os.write(fd, b"q")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    if status != 0:
        raise SystemExit(f"{cmd}: exit status {status}")
    if quit_after_screen and first is None:
        raise SystemExit(f"{cmd}: fewer than {rows - 1} lines; use a larger desk")
    return first, time.perf_counter() - start, total


def median_ms(values):
    return statistics.median(values) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("desk")
    parser.add_argument("tix", nargs="?", default="target/release/tix")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--cols", type=int, default=120)
    args = parser.parse_args()
    tix = os.path.abspath(args.tix)
    os.chdir(args.desk)
    env = dict(os.environ)
    env.setdefault("TERM", "xterm")
    env.pop("LESS", None)
    env.pop("TIX_PAGER", None)
    env.pop("PAGER", None)

    straight = [run([tix, "list", "--no-pager"], args.rows, args.cols, env, False)
                for _ in range(args.runs)]
    paged = [run([tix, "list"], args.rows, args.cols, env, True)
             for _ in range(args.runs)]
    with tempfile.NamedTemporaryFile() as plain:
        subprocess.run([tix, "list"], stdout=plain, check=True, env=env)
        plain.flush()
        cat = [run(["cat", plain.name], args.rows, args.cols, env, False)
               for _ in range(args.runs)]

    print(f"tix list, {args.rows}x{args.cols} terminal, median of {args.runs}:")
    print(f"  straight (--no-pager)  {median_ms([r[1] for r in straight]):6.1f} ms"
          f"  ({straight[0][2]} bytes)")
    print(f"  paged, first screen    {median_ms([r[0] for r in paged]):6.1f} ms")
    print(f"  paged, exit after q    {median_ms([r[1] for r in paged]):6.1f} ms")
    print(f"  cat, piped listing     {median_ms([r[1] for r in cat]):6.1f} ms"
          f"  ({cat[0][2]} bytes)")


if __name__ == "__main__":
    main()
