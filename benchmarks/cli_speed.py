"""Terminal speed: start-up, and `list` on a real terminal, on generated knowledge bases.

    python benchmarks/cli_speed.py [--records 1000 10000] [--runs 7] [--columns 80]
    python benchmarks/cli_speed.py --tree /tmp/before --tree .   # two source trees, one run

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

With ``--tree DIR`` (repeatable) each figure is taken for each source tree in
turn (``python -m lessons`` with ``PYTHONPATH=DIR``), so that a version from
before a change (``git archive main | tar -x -C /tmp/before``) and after it are
compared under the same load. Without it, the installed console script is timed.

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
    """Median wall time of ``runs`` calls (a call may return the time it measured itself)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        measured = run()
        times.append(measured if isinstance(measured, float) else time.perf_counter() - started)
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

    def run() -> float:
        started = time.perf_counter()
        child = pexpect.spawn(
            cmd[0], list(cmd[1:]), env=env, dimensions=(40, columns), encoding="utf-8"
        )
        child.delaybeforesend = 0
        child.delayafterclose = 0
        child.delayafterterminate = 0
        if pager:
            # less -X draws the screen and waits at its ':' prompt; -F quits at once
            # when everything fits (then EOF comes first).
            child.expect([r"\n:", r"\(END\)", pexpect.EOF], timeout=120)
            shown = time.perf_counter() - started
            child.send("q")
        child.expect(pexpect.EOF, timeout=120)
        done = time.perf_counter() - started
        child.close()
        return shown if pager else done

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
    parser.add_argument("--tree", action="append", default=[], help="a source tree to time")
    args = parser.parse_args(argv)
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        # Run from an empty folder: `python -m lessons` in a source tree would import
        # that tree's package whatever PYTHONPATH says.
        os.chdir(tmp)
        base_env = user_env(Path(tmp) / "pycache")
        for var in ("PAGER", "LESSONS_PAGER", "NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES"):
            base_env.pop(var, None)
        base_env["TERM"] = "xterm-256color"
        trees: list[tuple[str, list[str], dict[str, str]]] = []
        for tree in args.tree:
            env = dict(base_env, PYTHONPATH=str(Path(here, tree).resolve()))
            trees.append((tree, [sys.executable, "-m", "lessons"], env))
        if not trees:
            trees.append(("installed", list(LESSONS), base_env))
        print(f"median of {args.runs} runs, wall clock; terminal {args.columns} columns")

        def row(name: str, make: Callable[[str, list[str], dict[str, str]], object]) -> None:
            # The trees take turns, run by run, so that both see the same load; the
            # median and the least of the runs are printed (the least is the figure
            # least disturbed by other work on the machine).
            runs = [make(label, cmd, env) for label, cmd, env in trees]
            times: list[list[float]] = [[] for _ in trees]
            for _ in range(args.runs):
                for n, run in enumerate(runs):
                    if callable(run):
                        times[n].append(median_time(run, 1))
            labels = []
            for (label, _, _), figures in zip(trees, times, strict=True):
                shown = (
                    f"{statistics.median(figures):6.3f} s (least {min(figures):.3f})"
                    if figures
                    else "   n/a" + " " * 16
                )
                labels.append(f"{shown} [{label}]" if len(trees) > 1 else shown)
            print(f"  {name:<42} {'   '.join(labels)}")

        row("lessons --version", lambda _, cmd, env: piped([*cmd, "--version"], env))
        row("lessons --help", lambda _, cmd, env: piped([*cmd, "--help"], env))
        for n in args.records:
            first = Path(tmp) / f"kb{n}"
            ids = generate(first, n)
            # Each tree gets its own copy of the knowledge base and builds its own index:
            # trees with different index schemas would otherwise rebuild it on every turn.
            roots: dict[str, Path] = {}
            for i, (label, cmd, env) in enumerate(trees):
                roots[label] = first if i == 0 else Path(tmp) / f"kb{n}-{i}"
                if i:
                    shutil.copytree(first / "entries", roots[label] / "entries")
                    shutil.copy2(first / "lessons.yaml", roots[label] / "lessons.yaml")
                subprocess.run(
                    [*cmd, "--kb", str(roots[label]), "index"],
                    capture_output=True,
                    check=True,
                    env=env,
                )
            print(f"{n:,} records")

            def features(cmd: list[str], env: dict[str, str]) -> str:
                return subprocess.run(
                    [*cmd, "--help"], capture_output=True, text=True, check=False, env=env
                ).stdout

            def kb_cmd(label: str, cmd: list[str], roots: dict[str, Path] = roots) -> list[str]:
                return [*cmd, "--kb", str(roots[label])]

            row(
                "search outage (piped)",
                lambda label, cmd, env: piped([*kb_cmd(label, cmd), "search", "outage"], env),
            )
            row("list (piped)", lambda label, cmd, env: piped([*kb_cmd(label, cmd), "list"], env))

            def drawn(label: str, cmd: list[str], env: dict[str, str]) -> object:
                pager_off = ["--no-pager"] if "--no-pager" in features(cmd, env) else []
                return on_terminal(
                    [*kb_cmd(label, cmd), *pager_off, "list"], env, args.columns, pager=False
                )

            row("list on a terminal, drawn to the end", drawn)

            def first_screen(label: str, cmd: list[str], env: dict[str, str]) -> object:
                if "--no-pager" not in features(cmd, env) or not shutil.which("less"):
                    return None
                return on_terminal([*kb_cmd(label, cmd), "list"], env, args.columns, pager=True)

            row("list on a terminal, first screen (less)", first_screen)
            prefix = ids[len(ids) // 2][:6]

            def tab(
                label: str,
                cmd: list[str],
                env: dict[str, str],
                prefix: str = prefix,
                roots: dict[str, Path] = roots,
            ) -> object:
                if "--show-completion" not in features(cmd, env):
                    return None
                return completion(["show", prefix], dict(env, LESSONS_KB=str(roots[label])), cmd)

            row(f"complete `show {prefix}<Tab>` (bash)", tab)
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"load average: {load} on {os.cpu_count()} CPUs (figures grow with the load)")
        os.chdir(here)
    return 0


if __name__ == "__main__":
    sys.exit(main())
