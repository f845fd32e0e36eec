"""The console script. Kept free of imports so that `lessons --version` starts fast."""

from __future__ import annotations

import sys


def main() -> None:
    """Run the command line."""
    if sys.argv[1:] == ["--version"]:
        # Answers before Typer and the commands are even imported.
        from lessons import __version__

        sys.stdout.write(f"lessons {__version__}\n")
        return
    from lessons.cli.root import app

    app(prog_name="lessons")
