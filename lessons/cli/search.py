"""lessons search: ranked records with highlighted snippets (SPEC §5)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand

from lessons.cli.app import app, write_err
from lessons.cli.common import IdsOpt, JsonOpt, build_filters, synced_kb, with_filters
from lessons.cli.render import KIND_STYLE, Doc, is_tty, print_ids, print_json
from lessons.cli.terminal import out, safe_line

if TYPE_CHECKING:
    from lessons.search import Hit, SearchResult


# Marks a query word that starts with "-" so the option parser leaves it alone.
_WORD_MARK = "\x1f"
_SHORT_OPTIONS = ("-h", "-n")


class _SearchCommand(TyperCommand):
    """Reads ``-word`` as an excluded query word (``lessons search outage -dns``), not as
    a cluster of short options."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # The value of an option (--limit -1, --since -x) is the option's, not a word.
        takes_value = {
            name
            for p in self.params
            if getattr(p, "param_type_name", "") == "option" and not getattr(p, "is_flag", False)
            for name in (*p.opts, *p.secondary_opts)
        }
        out: list[str] = []
        after_dashes = False
        previous = ""
        for arg in args:
            after_dashes = after_dashes or arg == "--"
            short = arg in _SHORT_OPTIONS or (arg.startswith("-n") and arg[2:].isdigit())
            value = previous in takes_value and not after_dashes
            if not (after_dashes or short or value) and len(arg) > 1 and arg[0] == "-" != arg[1]:
                arg = _WORD_MARK + arg
            out.append(arg)
            previous = arg
        return list(super().parse_args(ctx, out))


@app.command(cls=_SearchCommand)
@with_filters
def search(
    query: Annotated[
        list[str],
        typer.Argument(
            metavar="QUERY...",
            help='Words (all must match), "a phrase", -word (exclude), word* (prefix), '
            "field:word (title, summary, lesson, recommendations, tags, campaign, team).",
        ),
    ],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most N.")] = 10,
    exact: Annotated[
        bool, typer.Option("--exact", help="Do not correct words that are in no record.")
    ] = False,
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="hybrid: words and meaning, fused (default); lexical: words only; "
            "semantic: meaning only.",
        ),
    ] = "hybrid",
    explain: Annotated[
        bool,
        typer.Option("--explain", help="Show each result's lexical and semantic contributions."),
    ] = False,
    json_out: JsonOpt = False,
    ids: IdsOpt = False,
    *,
    filter_values: dict[str, Any],
) -> None:
    """Search the lessons: best matches first, with the matched words highlighted.

    Records holding every word come first; then records close in meaning or
    holding some of the words, marked ~. A misspelt word that is in no record and
    is not a word of the language is also searched as the closest indexed words
    (--exact: not). Exit 1 when nothing matches.

    Example: lessons search "disk full" -test --kind mistake --since 2023
    """
    from lessons.errors import NoMatchError
    from lessons.search import search as run_search

    _one_blas_thread()
    text = " ".join(w.removeprefix(_WORD_MARK) for w in query)
    kb, _ = synced_kb()
    filters = build_filters(kb, **filter_values)
    try:
        result = run_search(
            kb.store,
            text,
            filters,
            limit=limit,
            exact=exact,
            synonyms=kb.config.synonyms,
            mode=mode,
            language=kb.config.language,
            explain=explain,
        )
    except NoMatchError:
        if json_out:
            print_json({"query": text, "total": 0, "matched_all": 0, "results": []})
        raise
    if json_out:
        print_json(result.as_json())
    elif ids:
        print_ids([hit.id for hit in result.hits])
    elif is_tty():
        render(result).print()
    else:
        _print_plain(result)
    _notes(result, shared=bool(kb.store.shared))


def _one_blas_thread() -> None:
    """One search multiplies one vector by a matrix: OpenBLAS's threads buy nothing there,
    and starting them doubles numpy's import time on a busy machine (about 0.1 s)."""
    import os

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def render(result: SearchResult) -> Doc:
    """Results as blocks: rank, id, kind, date; title; snippet; tags."""
    doc = Doc()
    for rank, hit in enumerate(result.hits, start=1):
        if rank > 1:
            doc.blank()
        mark = "~" if hit.partial else " "
        why = _why(hit)
        doc.line(
            (f"{rank:>2}{mark} ", "dim"),
            (hit.id, "bold"),
            "  ",
            (hit.kind, KIND_STYLE.get(hit.kind, "")),
            ("  " + (hit.date or ""), "dim"),
        )
        doc.line("    ", (hit.title, "bold"), cut=True)
        if hit.snippet:
            doc.line("    ", *[(text, "bold yellow" if hot else "") for text, hot in hit.snippet])
        if hit.tags:
            doc.line(("    tags: ", "dim"), (", ".join(hit.tags), "cyan"), cut=True)
        if why:
            doc.line(("    " + why, "dim"))
    return doc


def _why(hit: Hit) -> str:
    """--explain: where a result's rank came from."""
    e = hit.explain
    if not e:
        return ""
    lex = (
        f"lexical #{e['lexical_rank']} (score {e['lexical_score']})"
        if e["lexical_rank"]
        else "lexical: no word"
    )
    sem = (
        f"semantic #{e['semantic_rank']} (cosine {e['cosine']})"
        if e["semantic_rank"]
        else "semantic: not among the closest"
    )
    group = "every word as typed" if e["tier"] == 0 else "the rest"
    return f"{lex}; {sem}; fused {e['fused']}; group: {group}"


def _print_plain(result: SearchResult) -> None:
    """Piped: one tab-separated line per result; matched words between ** in the snippet."""
    lines = [_plain_row(rank, hit) for rank, hit in enumerate(result.hits, start=1)]
    out().write("".join(line + "\n" for line in lines))


def _plain_row(rank: int, hit: Hit) -> str:
    cells = [
        str(rank),
        hit.id,
        hit.kind,
        hit.date or "",
        hit.title,
        hit.snippet_text("**"),
        ",".join(hit.tags),
        hit.match,
    ]
    if hit.explain:
        cells.append(_why(hit))
    return "\t".join(safe_line(c) for c in cells)


def _notes(result: SearchResult, *, shared: bool = False) -> None:
    """Corrections, truncation and counts, on stderr."""
    if result.showing:
        typed = ", ".join(result.corrected)
        write_err(
            f"showing results for: {result.showing}  ({typed}: in no record, searched as"
            " typed too; --exact: only as typed)"
        )
    if result.unknown:
        write_err("in no record: " + ", ".join(result.unknown))
    if result.truncated:
        write_err("the query was long: only its first words were searched for")
    if result.vectors_missing:
        # On a shared index the records without one may be other teams': each
        # knowledge base's own `lessons index` embeds its records.
        where = " in their knowledge bases" if shared else ""
        write_err(
            f"meaning was matched in {result.with_vectors} of {result.records} records;"
            f" `lessons index`{where} gives the others vectors"
        )
    shown = len(result.hits)
    partial = sum(1 for h in result.hits if h.match != "all")
    if shown < result.total or partial:
        # "500+": a large shared index counted the candidates it scored, not every match.
        plus = "+" if result.at_least else ""
        counts = f"{shown} of {result.total}{plus} shown"
        counts += f"; {result.matched_all}{plus} match every word"
        some = sum(1 for h in result.hits if h.match == "some")
        meaning = sum(1 for h in result.hits if h.match == "meaning")
        if some:
            counts += f"; {some} shown match only some of them"
        if meaning:
            counts += f"; {meaning} shown found by meaning alone"
        write_err(counts)
