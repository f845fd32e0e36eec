"""A deterministic generator of realistic synthetic knowledge bases.

    python benchmarks/generate.py DEST --records 10000 [--seed 1]

The same seed and size always give the same files, so runs on different days
and different tools (buku, jrnl, rg) can be compared on the same data. Records
have the shape of real ones: titles of 5-12 words, summaries of 25-90 words,
lessons, recommendations, tags drawn with a Zipf-like skew (a few tags are
everywhere, most are rare), campaigns, teams, stages, impacts, links to
earlier records (`repeats`, `applies`, `caused-by`, ...) and follow-up actions.
Files go to ``entries/<year>/`` as a large team would keep them.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lessons.entries import dump_record

WORDS = """
account alert alerting announcement api apology approval archive audience audit
backlog backup bandwidth banner batch billing blog board brand budget build cache
campaign capacity certificate change channel checklist cluster comms community
compliance config configuration consultation content contract cooling cost
credential customer dashboard data database deadline deploy deployment design
disk dns document domain downtime draft email embargo encryption engagement
error escalation event failover feedback firewall forecast form gateway
governance handover hardware hashtag headline incident index infrastructure
interview inventory invoice journalist kafka key latency launch lead legal
library load logging login maintenance manager media meeting memory message
metric migration minister mobile monitoring network newsletter notification
office onboarding outage owner pager partner password patch payment permission
pipeline plan platform policy post power press pricing primary privacy process
product proxy publication query queue quota rack recovery region release replica
report reputation request restore retention review risk rollback rollout router
schedule schema script search security server service session signup sla
snapshot social spreadsheet staff stakeholder storage strategy supplier support
survey switch team template test ticket timeline timeout token traffic training
translation tweet update upgrade uptime user vendor video volunteer vote website
webinar workflow workshop
""".split()  # noqa: SIM905 - a word list reads best as prose

VERBS = """
broke slipped failed stalled leaked doubled dropped expired overloaded missed
confused delayed succeeded improved reduced recovered surprised exceeded
""".split()  # noqa: SIM905 - a word list reads best as prose

ADJECTIVES = """
late silent partial global regional manual automated untested stale duplicate
noisy slow unclear public internal urgent weekly quarterly new legacy shared
""".split()  # noqa: SIM905 - a word list reads best as prose

TAGS = [
    f"{a}-{b}" if i % 3 == 0 else a
    for i, (a, b) in enumerate(zip(WORDS * 3, WORDS[7:] + WORDS[:7] + WORDS * 2, strict=False))
][:400]
TAGS = list(dict.fromkeys(TAGS))
TEAMS = [f"{w.title()} Team" for w in WORDS[::9]][:30]
STAGES = ["objectives", "audience", "strategy", "implementation", "scoring"]
IMPACTS = ["low", "medium", "medium", "high", "critical"]
RELS = ["relates-to", "repeats", "applies", "caused-by", "supersedes", "contradicts"]
REL_WEIGHTS = [50, 15, 15, 12, 4, 4]


def sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    words[rng.randrange(n)] = rng.choice(VERBS)
    words[rng.randrange(n)] = rng.choice(ADJECTIVES)
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random, lo: int, hi: int) -> str:
    target = rng.randint(lo, hi)
    out: list[str] = []
    count = 0
    while count < target:
        n = rng.randint(6, 16)
        out.append(sentence(rng, n))
        count += n
    return " ".join(out)


def zipf_tag(rng: random.Random) -> str:
    # Tag k is chosen with weight ~ 1/k: a few tags everywhere, a long tail.
    k = int(len(TAGS) ** rng.random()) - 1
    return TAGS[min(k, len(TAGS) - 1)]


def make_record(rng: random.Random, i: int, ids: list[str], campaigns: list[str]) -> dict:
    year = 2015 + rng.randrange(11)
    date = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    title = sentence(rng, rng.randint(5, 12)).rstrip(".")[:120]
    rid = f"{date[:7]}-{i:06d}-" + "-".join(title.lower().split()[:4])
    kind = rng.choices(["mistake", "success", "observation"], [55, 30, 15])[0]
    rec: dict = {
        "id": rid[:80].rstrip("-"),
        "title": title,
        "kind": kind,
        "date": date,
        "summary": paragraph(rng, 25, 90),
        "lesson": paragraph(rng, 10, 35),
        "recommendations": [sentence(rng, rng.randint(6, 12)) for _ in range(rng.randint(0, 3))],
        "impact": rng.choice(IMPACTS),
        "campaign": rng.choice(campaigns),
        "team": rng.choice(TEAMS),
        "stage": rng.choice(STAGES),
        "tags": sorted({zipf_tag(rng) for _ in range(rng.randint(1, 6))}),
        "links": [],
        "actions": [],
        "sources": [f"https://wiki.example.org/retro/{i}"],
        "visibility": rng.choice(["internal", "internal", "public"]),
        "status": "final" if rng.random() > 0.05 else "draft",
        "recorded": date,
    }
    if ids and rng.random() < 0.3:
        targets = {rng.choice(ids) for _ in range(rng.randint(1, 3))}
        rec["links"] = [
            {"to": t, "rel": rng.choices(RELS, REL_WEIGHTS)[0]} for t in sorted(targets)
        ]
    if rng.random() < 0.2:
        rec["actions"] = [
            {
                "do": sentence(rng, rng.randint(5, 10)),
                "owner": rng.choice(TEAMS),
                "due": f"{year + 1}-{rng.randint(1, 12):02d}-15",
                "status": rng.choice(["open", "done", "done", "dropped"]),
            }
            for _ in range(rng.randint(1, 2))
        ]
    return rec


def generate(dest: Path, records: int, seed: int = 1) -> list[str]:
    """Write ``records`` entry files and a ``lessons.yaml`` under ``dest``; return the ids."""
    rng = random.Random(seed)
    campaigns = [f"{rng.choice(ADJECTIVES).title()} {rng.choice(WORDS)} {n}" for n in range(200)]
    (dest / "entries").mkdir(parents=True, exist_ok=True)
    (dest / "lessons.yaml").write_text("name: synthetic benchmark knowledge base\n")
    ids: list[str] = []
    for i in range(records):
        rec = make_record(rng, i, ids, campaigns)
        # `supersedes` only ever points at an older record, so no cycle can form.
        folder = dest / "entries" / rec["date"][:4]
        folder.mkdir(exist_ok=True)
        (folder / f"{rec['id']}.yaml").write_text(dump_record(rec), encoding="utf-8")
        ids.append(rec["id"])
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    ids = generate(args.dest, args.records, args.seed)
    print(f"wrote {len(ids)} records to {args.dest / 'entries'}", file=sys.stderr)


if __name__ == "__main__":
    main()
