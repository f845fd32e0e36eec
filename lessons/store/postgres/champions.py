"""Champion lists (Manning, Raghavan & Schütze, *Introduction to Information Retrieval*,
§7.1.3): for each term of each knowledge base, its ``CHAMPIONS`` best records by the
term's own BM25 weight, kept up to date by every publication (schema version 5).

A word held by more records of the scope than ``search.EXACT_UP_TO`` is not scored in
every one of them: the best of its champion lists (of every knowledge base searched)
are the candidates, and they are then scored exactly as any match. Without the lists
that pool came from the RUM index's ordered scan, which ranks every posting of the
word to hand back the first (about 0.3 s for a word in 400,000 records).

A record's weight for a term is FTS5's BM25 term factor without the IDF (the same for
every record of a term): ``f (k1 + 1) / (f + k1 (1 - b + b len / avgdl))``, where ``f``
counts the term's occurrences each at its column's default weight (``Tuning.weights``:
the document's position labels A-D, store/fts5.py) and ``avgdl`` is a fixed
``REFERENCE_LENGTH``: a record's weight is then its own, whatever else the index holds
and whenever it was written, so lists kept up by publications are exactly the lists
made afresh, and the weights of different knowledge bases compare. (The exact score
that follows uses the scope's true average.)

A publication rewrites the lists of the terms its added and removed records hold, of
its own knowledge base only (rows keyed by term and knowledge base: no other team's
row is touched or locked): the entries of records that are still there are kept, the
new records' are added, and a list that was full and lost a record is made again from
the knowledge base's records, so that it holds the best ``CHAMPIONS`` again.
"""

from __future__ import annotations

import heapq
import struct
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

from lessons.store import fts5

if TYPE_CHECKING:
    from lessons.store.postgres.plumbing import Plumbing

# Records kept per term and knowledge base: a search's pool (search.POOL) of one
# knowledge base can be filled from one list.
CHAMPIONS = 500
# BM25's average length for the weights above: about a generated record's (the judged
# sets' records average 60 to 250 tokens).
REFERENCE_LENGTH = 150.0


def _label_weights() -> dict[str, float]:
    """The weight of each position label, from the default column weights."""
    from lessons.search.plan import DEFAULT_TUNING

    out: dict[str, float] = {}
    for column, label in enumerate(fts5.LABELS):
        out.setdefault(label, float(DEFAULT_TUNING.weights[column]))
    return out


class Fresh:
    """The list entries of the records a publication inserts, made in Python from their
    documents while the server stores them (store/postgres/publish.py), each term's best
    ``CHAMPIONS`` only: the server then merges them with the lists as they were instead
    of reading every new record's document again (3-4 s of a new 10,000-record
    knowledge base's publication, after the rows).

    A weight is ``entries_sql``'s, computed alike: the same float8 operations in the
    same order, rounded to float4 (``real``) as the server's cast does, so that the
    lists equal those made from the documents in the index (tests compare them)."""

    def __init__(self) -> None:
        weight = _label_weights()
        self._label = {label: weight.get(label, 1.0) for label in "ABCD"}
        # term -> heap of (weight, -order, id): the smallest is the one to drop, and
        # among equal weights the later record (the larger key: ties go by pk).
        self._best: dict[str, list[tuple[float, int, str]]] = {}
        self._order = 0
        self._real = struct.Struct("f")

    def add(self, record_id: str, doc: fts5.Document) -> None:
        """A record inserted now (records are added in the order of their keys)."""
        self._order += 1
        key = -self._order
        k1, b, ref = fts5.K1, fts5.B, REFERENCE_LENGTH
        # As entries_sql: f (k1 + 1) / (f + k1 (1 - b + b ntok / reference)).
        k1_1, one_b = k1 + 1, 1 - b
        norm = k1 * (one_b + b * doc.length / ref)
        label, real, best = self._label, self._real, self._best
        for term, labels in zip(doc.terms, doc.labels, strict=True):
            f = 0.0
            for c in labels:
                f += label[c]
            s = real.unpack(real.pack(f * k1_1 / (f + norm)))[0]
            heap = best.get(term)
            if heap is None:
                best[term] = [(s, key, record_id)]
            elif len(heap) < CHAMPIONS:
                heapq.heappush(heap, (s, key, record_id))
            elif (s, key) > heap[0][:2]:
                heapq.heapreplace(heap, (s, key, record_id))

    def arrays(
        self, pk_of: Mapping[str, int], leave_out: Collection[str]
    ) -> tuple[list[str], list[int], list[float]]:
        """(terms, pks, weights) of the entries, but those of the terms ``leave_out``
        names and of records without a key (gone again before the commit)."""
        terms: list[str] = []
        pks: list[int] = []
        weights: list[float] = []
        skip = set(leave_out)
        for term, heap in self._best.items():
            if term in skip:
                continue
            for s, _key, rid in heap:
                pk = pk_of.get(rid)
                if pk is not None:
                    terms.append(term)
                    pks.append(pk)
                    weights.append(s)
        return terms, pks, weights


def entries_sql(where: str) -> str:
    """SELECT (term, pk, weight) of the records ``where`` selects (alias ``r``, over
    ``record``), for the terms ``u.lexeme`` the condition may also restrict."""
    # Floating point throughout (numeric arithmetic for a million postings takes
    # seconds); a term's field weights as one subquery over its labels, which the
    # server computes once per distinct list of labels (a hundred or so).
    cases = " ".join(f"WHEN '{label}' THEN {w!r}::float8" for label, w in _label_weights().items())
    k1, b = fts5.K1, fts5.B
    return (
        f'SELECT u.lexeme COLLATE "C" AS term, r.pk, (x.f * {k1 + 1!r}::float8 / (x.f'
        f" + {k1!r}::float8 * ({1 - b!r}::float8 + {b!r}::float8 * r.ntok"
        f" / {REFERENCE_LENGTH!r}::float8)))::real AS s"
        " FROM record r CROSS JOIN LATERAL unnest(r.tsv) u"
        f" CROSS JOIN LATERAL (SELECT sum(CASE w {cases} ELSE 1::float8 END) AS f"
        f" FROM unnest(u.weights) w) x WHERE {where}"
    )


def insert_sql(kb: str, entries: str) -> str:
    """INSERT the lists of ``entries`` (term, pk, s), best first, ties by pk."""
    # One sort of the entries by term and weight: the best of each term are numbered
    # in it, and the arrays gathered in its order (an aggregate's own ORDER BY sorts
    # each term's entries again, and took seven times as long).
    n = int(CHAMPIONS)
    return (
        f"INSERT INTO champion (term, kb, pks, scores) SELECT term, {kb}, array_agg(pk),"
        " array_agg(s) FROM (SELECT term, pk, s FROM (SELECT e.term, e.pk, e.s,"
        " row_number() OVER (PARTITION BY e.term ORDER BY e.s DESC, e.pk) AS n"
        f" FROM ({entries}) e) w WHERE n <= {n} ORDER BY term, s DESC, pk) z GROUP BY term"
    )


# Sorting a knowledge base's postings (about 940,000 for 10,000 generated records,
# 77 MB) in memory rather than on disk.
WORK_MEM = "128MB"


def _sort_in_memory(store: Plumbing) -> None:
    """For the rest of the transaction (a publication's, or the upgrade's)."""
    store.one("SELECT set_config('work_mem', ?, true)", (WORK_MEM,))


def build_kb(store: Plumbing, kb: str) -> None:
    """Every list of one knowledge base (``kb``: an SQL literal), afresh."""
    _sort_in_memory(store)
    store.execute(f"DELETE FROM champion WHERE kb = {kb}")
    store.execute(insert_sql(kb, entries_sql(f"r.kb = {kb}")))


def update(
    store: Plumbing,
    kb: str,
    terms: Collection[str],
    new_ids: Sequence[str],
    fresh: Fresh | None = None,
) -> None:
    """The lists of ``terms`` of one knowledge base brought up to date after a
    publication added the records ``new_ids`` and removed others (see above);
    ``fresh``: the new records' entries, when the publication made them."""
    if not terms:
        return
    wanted = sorted(terms)
    pk_of = {
        str(r[0]): int(r[1])
        for r in store.all(
            f"SELECT id, pk FROM record WHERE kb = {kb} AND id = ANY(?::text[])",
            (list(new_ids),),
        )
    }
    new_pks = list(pk_of.values())
    # A full list that lost a record: its next best is among the records not listed.
    remake = [
        r[0]
        for r in store.all(
            f"SELECT c.term FROM champion c WHERE c.kb = {kb} AND c.term = ANY(?::text[])"
            f" AND cardinality(c.pks) >= {int(CHAMPIONS)} AND EXISTS (SELECT 1"
            " FROM unnest(c.pks) p WHERE NOT EXISTS (SELECT 1 FROM record r WHERE r.pk = p))",
            (wanted,),
        )
    ]
    # Only the lists of ``terms`` are read and written; the new records hold no other
    # terms (they are among them), so their entries need no test of the term (a test
    # against hundreds of terms for each of a million postings took seconds).
    others = " AND NOT c.term = ANY(?::text[])" if remake else ""
    kept = (
        "SELECT c.term, e.pk, e.s FROM champion c CROSS JOIN LATERAL unnest(c.pks, c.scores)"
        f" e(pk, s) WHERE c.kb = {kb} AND c.term = ANY(?::text[]){others}"
        " AND EXISTS (SELECT 1 FROM record r WHERE r.pk = e.pk)"
    )
    params: list[object] = [wanted, *([remake] if remake else [])]
    if fresh is not None:
        # Made in Python as the rows went in (Fresh), sent as three arrays.
        added = 'SELECT f.t COLLATE "C" AS term, f.p AS pk, f.s FROM unnest(?::text[],'
        added += " ?::int[], ?::real[]) AS f(t, p, s)"
        params += fresh.arrays(pk_of, remake)
    else:
        added = entries_sql(
            "r.pk = ANY(?::int[])" + (" AND NOT u.lexeme = ANY(?::text[])" if remake else "")
        )
        params.append(new_pks)
        if remake:
            params.append(remake)
    parts = [kept, added]
    if remake:
        parts.append(entries_sql(f"r.kb = {kb} AND u.lexeme = ANY(?::text[])"))
        params.append(remake)
    # One statement reads the lists as they were and writes them anew.
    _sort_in_memory(store)
    written = store.all(
        insert_sql(kb, " UNION ALL ".join(f"({p})" for p in parts))
        + " ON CONFLICT (term, kb) DO UPDATE SET pks = excluded.pks, scores = excluded.scores"
        " RETURNING term",
        params,
    )
    # The terms no record of the knowledge base holds any more.
    gone = sorted(set(wanted) - {r[0] for r in written})
    if gone:
        store.execute(f"DELETE FROM champion WHERE kb = {kb} AND term = ANY(?::text[])", (gone,))


def table(store: Plumbing) -> None:
    """The table of the lists (one row per term and knowledge base)."""
    store.execute(
        'CREATE TABLE champion (term text COLLATE "C" NOT NULL, kb text NOT NULL,'
        " pks integer[] NOT NULL, scores real[] NOT NULL, PRIMARY KEY (term, kb))"
    )
