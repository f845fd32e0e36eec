"""The console script. Kept free of imports so that `lessons --version` starts fast."""

from __future__ import annotations

import sys

COMPLETE_VAR = "_LESSONS_COMPLETE"


def main() -> None:
    """Run the command line."""
    if sys.argv[1:] == ["--version"]:
        # Answers before Typer and the commands are even imported.
        from lessons import __version__

        sys.stdout.write(f"lessons {__version__}\n")
        return
    bad = _not_utf8(sys.argv[1:])
    if bad is not None:
        # Bytes that are not UTF-8 reach argv as lone surrogates, which no index,
        # record file or JSON document can hold: refuse them here, once.
        shown = bad.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        sys.stderr.write(f"Error: the argument '{shown}' is not UTF-8 text\n")
        sys.stderr.write("hint: lessons reads and writes UTF-8; check the terminal's locale\n")
        sys.exit(2)
    import os

    if sys.argv[-1] in ("--show-completion", "--install-completion"):
        # Without a shell named, the one this runs under (as Typer does).
        from lessons.cli.completion import detect_shell

        sys.argv.append(detect_shell())
    if COMPLETE_VAR in os.environ:
        # The shell asks for completions (Tab): only then is the machinery loaded.
        from lessons.cli.completion import prepare

        name = prepare()
    else:
        from lessons.cli.root import command_named

        name = command_named(sys.argv[1:])
    from lessons.cli.root import load

    try:
        load(name)(prog_name="lessons", complete_var=COMPLETE_VAR)
    finally:
        import gc

        # On its way out the interpreter collects garbage: a walk over every object
        # the command made (the modules it imported are most of them), to free memory
        # the exit frees anyway. Frozen objects are skipped: about 0.065 s of a search
        # of the shared index (docs/benchmarks.md). Nothing here relies on a
        # collection at exit: files and indexes are closed by the commands, and a
        # frozen object is still freed when its last reference goes.
        gc.freeze()


def _not_utf8(args: list[str]) -> str | None:
    """The first argument that is not UTF-8 text and names no existing file, if any."""
    import os

    for arg in args:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            if not os.path.exists(arg):
                return arg
    return None
