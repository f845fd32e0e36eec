"""Terminal speed: start-up, and `list` on a real terminal, on generated knowledge bases.

    python benchmarks/cli_speed.py [--records 1000 10000] [--runs 7] [--columns 80]

Times, end to end as separate processes (median of --runs, wall clock):

- `lessons --version` and `lessons search WORD` piped: the start-up every command
  pays (completion and the pager must not add to it);
- `lessons list` on a real terminal (a pseudo-terminal of --columns x 40), all
  records, drawn to the end with the pager off (`--no-pager`, or no pager at all
  before there was one): what scrolling past thousands of records costs;
- `lessons list` on the terminal with the default pager (`less -FRX`): the time
  until the first screenful is drawn and `less` waits for a key;
- bash completion of an id (`lessons show <prefix><Tab>`), the way bash asks for
  it (`_LESSONS_COMPLETE=complete_bash`), when the completion is there.

Nothing is asserted: timings depend on the machine's load; compare figures of
one run. Needs pexpect (a dev dependency) and `less`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402
from run import LESSONS  # noqa: E402
from search_speed import user_env  # noqa: E402


def median_time(run: Callable[[], object], runs: int) -> float:
    """Median wall time of ``runs`` calls."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def piped(cmd: Sequence[str], env: dict[str, str]) -> Callable[[], object]:
    """A command run with its output piped."""
    return lambda: subprocess.run(list(cmd), capture_output=True, check=False, env=env)


def on_terminal(
    cmd: Sequence[str], env: dict[str, str], columns: int, *, pager: bool
) -> Callable[[], object]:
    """A command run on a pseudo-terminal: to its end (no pager), or until the pager
    shows its first screen (then ``q``)."""
    import pexpect

    def run() -> None:
        child = pexpect.spawn(
            cmd[0], list(cmd[1:]), env=env, dimensions=(40, columns), encoding="utf-8"
        )
        child.delayafterclose = 0
        child.delayafterterminate = 0
        if pager:
            # less -X draws the screen and waits at its ':' prompt; -F quits at once
            # when everything fits (then EOF comes first).
            child.expect([r"\n:", r"\(END\)", pexpect.EOF], timeout=120)
            child.send("q")
        child.expect(pexpect.EOF, timeout=120)
        child.close()

    return run


def completion(
    words: Sequence[str], env: dict[str, str], script: Sequence[str]
) -> Callable[[], object]:
    """What bash runs when Tab is pressed after ``words``."""
    full = dict(env)
    full.update(
        {
            "_LESSONS_COMPLETE": "complete_bash",
            "COMP_WORDS": " ".join(["lessons", *words]),
            "COMP_CWORD": str(len(words)),
        }
    )
    return lambda: subprocess.run(list(script), capture_output=True, check=False, env=full)


def main(argv: Sequence[str] | None = None) -> int:
    """Generate, index, time, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--columns", type=int, default=80)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        env = user_env(Path(tmp) / "pycache")
        env.pop("PAGER", None)
        env.pop("LESSONS_PAGER", None)
        env.pop("NO_COLOR", None)
        env["TERM"] = "xterm-256color"
        print(f"median of {args.runs} runs, wall clock; terminal {args.columns} columns")
        version = median_time(piped([*LESSONS, "--version"], env), args.runs)
        print(f"  {'lessons --version':<40} {version:6.3f} s")
        help_all = median_time(piped([*LESSONS, "--help"], env), args.runs)
        print(f"  {'lessons --help':<40} {help_all:6.3f} s")
        for n in args.records:
            root = Path(tmp) / f"kb{n}"
            ids = generate(root, n)
            base = [*LESSONS, "--kb", str(root)]
            subprocess.run([*base, "index"], capture_output=True, check=True, env=env)
            print(f"{n:,} records")
            rows: list[tuple[str, float]] = []
            rows.append(
                ("search outage (piped)", median_time(piped([*base, "search", "outage"], env), args.runs))
            )
            rows.append(("list (piped)", median_time(piped([*base, "list"], env), args.runs)))
            help_out = subprocess.run(
                [*base, "--help"], capture_output=True, text=True, check=False, env=env
            ).stdout
            has_pager = "--no-pager" in help_out
            plain = [*base, "--no-pager", "list"] if has_pager else [*base, "list"]
            rows.append(
                (
                    "list on a terminal, drawn to the end",
                    median_time(on_terminal(plain, env, args.columns, pager=False), args.runs),
                )
            )
            if has_pager and shutil.which("less"):
                rows.append(
                    (
                        "list on a terminal, first screen (less)",
                        median_time(
                            on_terminal([*base, "list"], env, args.columns, pager=True), args.runs
                        ),
                    )
                )
            if "--show-completion" in help_out:
                prefix = ids[len(ids) // 2][:6]
                menv = dict(env, LESSONS_KB=str(root))
                rows.append(
                    (
                        f"complete `show {prefix}<Tab>` (bash)",
                        median_time(completion(["show", prefix], menv, LESSONS), args.runs),
                    )
                )
            for name, figure in rows:
                print(f"  {name:<40} {figure:6.3f} s")
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"load average: {load} on {os.cpu_count()} CPUs (figures grow with the load)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
