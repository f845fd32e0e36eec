"""Allow ``python -m lessons``."""

from lessons.cli.main import main

main()
