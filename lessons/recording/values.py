"""Small helpers on record values that the parts of recording share."""

from __future__ import annotations

from typing import Any


def is_empty(value: Any) -> bool:
    """True for a value left out: None, or an empty text, list or mapping."""
    return value is None or (isinstance(value, str | list | dict) and not value)


def mapping_or_none(text: str) -> Any:
    """``text`` read as YAML, or None when it cannot be read."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None
