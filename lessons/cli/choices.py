"""One reading of a value chosen from a fixed list, for every option that takes one.

``--kind``, ``--impact``, ``--stage``, ``--status``, ``--sort``, ``--format``,
``--rel``, ``--color``: any letter case, or a unique prefix (``--kind mis``); an
unknown or ambiguous value is a usage error naming the choices, with the closest
one suggested.
"""

from __future__ import annotations

from collections.abc import Iterable


def choose(value: str, choices: Iterable[str], flag: str) -> str:
    """The choice ``value`` names (case-insensitive, or a unique prefix)."""
    from lessons.errors import UsageError

    options = list(choices)
    typed = value.strip().casefold()
    for choice in options:
        if choice.casefold() == typed:
            return choice
    found = [c for c in options if typed and c.casefold().startswith(typed)]
    if len(found) == 1:
        return found[0]
    listed = ", ".join(options) if options else "(none configured)"
    if len(found) > 1:
        raise UsageError(
            f"{flag} '{value}' could be {', '.join(found)}",
            hint=f"type more of it; the choices are {listed}",
        )
    from lessons.model import did_you_mean

    raise UsageError(
        f"{flag} must be one of {listed}, not '{value}'" + did_you_mean(value, options)
    )


def choose_optional(value: str | None, choices: Iterable[str], flag: str) -> str | None:
    """``choose``, passing None through."""
    return None if value is None else choose(value, choices, flag)


def expand(value: str | None, choices: Iterable[str]) -> str | None:
    """The choice ``value`` names when it names exactly one (any case, or a unique
    prefix), else ``value`` as typed: for options whose library function gives its
    own message about an unknown value."""
    if value is None:
        return None
    options = list(choices)
    typed = value.strip().casefold()
    exact = [c for c in options if c.casefold() == typed]
    found = exact or [c for c in options if typed and c.casefold().startswith(typed)]
    return found[0] if len(found) == 1 else value
