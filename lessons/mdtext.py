"""Values written into Markdown: the one escaping function every Markdown writer uses.

A record is untrusted text. Written into a Markdown page raw, ``<script>``,
``<img onerror=…>`` or ``[x](javascript:…)`` become live HTML and links once
the page is rendered (a wiki, a forge, a static site). ``md_escape`` makes any
value literal text: every character CommonMark or GitHub gives a meaning to is
backslash-escaped (CommonMark lets any ASCII punctuation be escaped, so the
rendered text is the value itself), and in block mode so are the markers a line
may start with. Without ``<`` and ``[`` no HTML, autolink or link survives.
"""

from __future__ import annotations

import re
from typing import Any

# Inline markup: code, emphasis, strike-through, links and images, HTML and
# autolinks, entities, table cells, and # (a heading's closing sequence).
_INLINE = re.compile(r"([\\`*_~\[\]<>|&#!])")
# What a line may start with to become a block: a list item, a quote, a
# setext underline, a numbered item, a fence.
_BLOCK_START = re.compile(r"^(\d*)([-+=.)])")


def md_escape(value: Any, *, block: bool = False) -> str:
    """``value`` as literal Markdown text.

    Inline (the default): on one line, runs of white space one space. With
    ``block``: paragraphs and line breaks kept (a line break is written as a
    hard break), leading indentation dropped so no line turns into code.
    """
    text = str(value)
    if not block:
        return _INLINE.sub(r"\\\1", " ".join(text.split()))
    paragraphs = re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n").strip())
    out = []
    for para in paragraphs:
        lines = [" ".join(line.split()) for line in para.split("\n")]
        lines = [_BLOCK_START.sub(r"\1\\\2", _INLINE.sub(r"\\\1", line)) for line in lines if line]
        out.append("\\\n".join(lines))
    return "\n\n".join(p for p in out if p)
