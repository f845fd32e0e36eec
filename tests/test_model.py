"""Record validation (SPEC §2, §6): every defect is named with its field."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from lessons.model import (
    ID_RE,
    CustomField,
    Schema,
    id_from_foreign,
    make_id,
    normalise_tag,
    slugify,
    to_document,
    unique_id,
    validate,
)

SCHEMA = Schema()


def base(**extra: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "id": "a-record",
        "title": "A title",
        "kind": "mistake",
        "date": dt.date(2024, 5, 1),
        "summary": "What happened.",
        "lesson": "What we learned.",
    }
    rec.update(extra)
    return {k: v for k, v in rec.items() if v is not None}


def errors(
    raw: Any, schema: Schema = SCHEMA, stem: str | None = "a-record"
) -> list[tuple[str | None, str]]:
    _, problems = validate(raw, schema, stem=stem)
    return [(p.field, p.message) for p in problems if p.severity == "error"]


def warnings(raw: Any, schema: Schema = SCHEMA) -> list[str]:
    _, problems = validate(raw, schema, stem="a-record")
    return [p.message for p in problems if p.severity == "warning"]


def test_valid_record_is_normalised_with_defaults() -> None:
    rec, problems = validate(base(tags=["twitter"]), SCHEMA, stem="a-record")
    assert problems == []
    assert rec is not None
    assert rec["date"] == "2024-05-01"
    assert rec["visibility"] == "internal"
    assert rec["status"] == "final"
    assert rec["tags"] == ["twitter"]
    assert rec["links"] == [] and rec["actions"] == []


def test_not_a_mapping_is_an_error() -> None:
    assert errors(["a", "list"]) == [
        (None, "a record must be a mapping of keys to values, not a list")
    ]


@pytest.mark.parametrize("key", ["id", "title", "kind", "summary"])
def test_missing_required_key_is_named(key: str) -> None:
    assert (key, f"missing required key '{key}'") in errors(base(**{key: None}))


def test_unknown_key_suggests_the_closest_known_key() -> None:
    raw = base()
    raw["sumary"] = "typo"
    assert errors(raw) == [("sumary", "unknown key 'sumary' (did you mean 'summary'?)")]


def test_unknown_kind_is_an_error_with_suggestion() -> None:
    ((field, message),) = errors(base(kind="mistak"))
    assert field == "kind"
    assert "must be one of mistake, success, observation, not 'mistak'" in message
    assert "did you mean 'mistake'" in message


@pytest.mark.parametrize("value", ["2024-13-01", "yesterday", "2024/05/01", 20240501])
def test_bad_date_is_an_error(value: Any) -> None:
    assert errors(base(date=value)) == [
        ("date", f"'date' must be a date YYYY-MM-DD, not '{value}'")
    ]


def test_datetime_is_not_a_date() -> None:
    assert errors(base(date=dt.datetime(2024, 5, 1, 10, 0)))[0][0] == "date"


def test_wrong_types_are_named() -> None:
    found = dict(errors(base(title=["a", "list"], recommendations="one string", impact="huge")))
    assert found["title"] == "'title' must be text, not a list"
    assert found["recommendations"] == "'recommendations' must be a list of text, not text"
    assert found["impact"].startswith("'impact' must be one of low, medium, high, critical")


def test_title_must_be_one_short_line() -> None:
    assert errors(base(title="x" * 121)) == [
        ("title", "'title' is 121 characters long; the limit is 120")
    ]
    assert errors(base(title="two\nlines")) == [("title", "'title' must be one line")]


def test_id_must_be_a_slug_and_match_the_file_name() -> None:
    assert errors(base(id="Bad Id"))[0][0] == "id"
    assert errors(base(id="other-id")) == [
        ("id", "id 'other-id' does not match the file name 'a-record.yaml'")
    ]


def test_stage_must_be_a_configured_stage() -> None:
    schema = Schema(stages=("plan", "do"))
    assert errors(base(stage="plan"), schema) == []
    assert errors(base(stage="implementation"), schema)[0][0] == "stage"


def test_link_problems() -> None:
    assert errors(base(links=[{"to": "a-record", "rel": "relates-to"}])) == [
        ("links", "link 1 points at the record itself")
    ]
    ((field, message),) = errors(base(links=[{"to": "other", "rel": "repeat"}]))
    assert field == "links" and "unknown relation 'repeat'" in message and "'repeats'" in message
    assert errors(base(links=[{"to": "other", "rel": "repeats", "nte": "x"}]))[0][1].startswith(
        "unknown key 'nte' in item 1 of 'links' (did you mean 'note'?)"
    )
    dup = [{"to": "other", "rel": "repeats"}, {"to": "other", "rel": "repeats"}]
    assert errors(base(links=dup)) == [("links", "link 2 repeats an earlier link (repeats other)")]


def test_link_rel_defaults_to_relates_to() -> None:
    rec, _ = validate(base(links=[{"to": "other"}]), SCHEMA, stem="a-record")
    assert rec is not None and rec["links"] == [{"to": "other", "rel": "relates-to"}]


def test_actions_are_validated_and_status_defaults_to_open() -> None:
    rec, _ = validate(
        base(actions=[{"do": "Fix it", "due": "2030-01-01"}]), SCHEMA, stem="a-record"
    )
    assert rec is not None and rec["actions"] == [
        {"do": "Fix it", "due": "2030-01-01", "status": "open"}
    ]
    assert errors(base(actions=[{"owner": "me"}])) == [
        ("actions", "action 1 needs 'do': what is to be done")
    ]
    assert errors(base(actions=[{"do": "x", "status": "finished"}]))[0][1].startswith(
        "the status of action 1 must be one of open, done, dropped"
    )


def test_custom_fields_of_every_type() -> None:
    schema = Schema(
        fields=(
            CustomField("channel_note", "text"),
            CustomField("channels", "list"),
            CustomField("reviewed", "date"),
            CustomField("reach", "number"),
            CustomField("evaluation", "choice", ("output", "outcome")),
        )
    )
    good = base(
        channel_note="n",
        channels=["twitter"],
        reviewed="2024-06-01",
        reach=1700,
        evaluation="outcome",
    )
    rec, problems = validate(good, schema, stem="a-record")
    assert problems == [] and rec is not None
    assert rec["reach"] == 1700 and rec["reviewed"] == "2024-06-01"
    bad = dict(
        errors(base(channels="x", reviewed="soon", reach="many", evaluation="outtake"), schema)
    )
    assert set(bad) == {"channels", "reviewed", "reach", "evaluation"}
    # Without the declaration the same key is unknown.
    ((field, message),) = errors(base(channels=["x"]))
    assert field == "channels" and message.startswith("unknown key 'channels'")


def test_tags_are_normalised_with_a_warning() -> None:
    schema = Schema(tag_aliases={"hashtag": "hashtags"})
    rec, problems = validate(base(tags=["Hash Tag", "hashtag", "twitter"]), schema, stem="a-record")
    assert rec is not None and rec["tags"] == ["hash-tag", "hashtags", "twitter"]
    assert [p.message for p in problems] == [
        "tag 'Hash Tag' is not normalised: write it as 'hash-tag'",
        "tag 'hashtag' is not normalised: write it as 'hashtags'",
    ]


def test_warnings_for_missing_lesson_and_date() -> None:
    assert warnings(base(lesson=None, date=None)) == [
        "no 'date': the record is left out of --since/--until filters",
        "a final record without a 'lesson': what did we learn?",
    ]
    assert warnings(base(lesson=None, status="draft")) == []


def test_id_rules() -> None:
    assert slugify("Pre-allocated Hashtags: humour!") == "pre-allocated-hashtags-humour"
    assert (
        make_id("2012-09-10", "Hashtags that attempted humour")
        == "2012-09-hashtags-that-attempted-humour"
    )
    assert id_from_foreign("google-GAE-#15023") == "google-gae-15023"
    assert id_from_foreign("azure--20180101") == "azure-20180101"
    taken = {"x", "x-2"}
    assert unique_id("x", taken.__contains__) == "x-3"
    assert len(unique_id("a" * 90, lambda s: False)) == 80
    assert normalise_tag("Hash_Tags") == "hash-tags"
    assert normalise_tag("#Tweet", {"tweet": "twitter"}) == "twitter"


def test_ids_from_titles_in_other_scripts_are_ascii_slugs() -> None:
    # Transliterated (anyascii), never empty: a Cyrillic or Portuguese title gives a usable id.
    assert make_id("2023-02-01", "Підрядник не виконав роботу вчасно") == (
        "2023-02-pidryadnik-ne-vikonav-robotu-vchasno"
    )
    assert make_id("2023-05-04", "Lição Aprendida: ação corretiva") == (
        "2023-05-licao-aprendida-acao-corretiva"
    )
    assert make_id(None, "日本語") == "ribenyu"
    assert make_id("2024-01-09", "🚀🔥") == "2024-01-rocket-fire"
    assert id_from_foreign("УРОК-15") == "urok-15"
    # Nothing to spell: the date and a short hash of the title, the same every time.
    made = make_id("2024-05-01", "⸻ ⸻")
    assert re.fullmatch(r"2024-05-[0-9a-f]{8}", made)
    assert made == make_id("2024-05-01", "⸻  ⸻") != make_id("2024-05-01", "⸻")
    for title in ("Підрядник", "ação", "日本語", "🚀", "⸻", "ß"):
        assert ID_RE.fullmatch(make_id("2024-05-01", title)), title


def test_tags_keep_letters_of_any_script_case_folded_and_nfc() -> None:
    assert normalise_tag("Підрядник") == "підрядник"
    assert normalise_tag("日本語") == "日本語"
    # A decomposed "ç" + "ã" (NFD) and upper case give the one NFC, folded spelling.
    assert normalise_tag("AC\u0327A\u0303O") == normalise_tag("Ação") == "ação"
    assert normalise_tag("Straße") == "strasse"
    assert normalise_tag("Ризики Підрядників") == "ризики-підрядників"
    assert normalise_tag("हिन्दी") == "हिन्दी"
    rec, problems = validate(base(tags=["підрядник", "ação", "Ação"]), SCHEMA, stem="a-record")
    assert rec is not None and rec["tags"] == ["підрядник", "ação"]
    assert [p.message for p in problems] == ["tag 'Ação' is not normalised: write it as 'ação'"]


def test_to_document_orders_keys_and_drops_defaults() -> None:
    rec, _ = validate(
        base(tags=["b"], visibility="internal", impact="low"), SCHEMA, stem="a-record"
    )
    assert rec is not None
    doc = to_document(rec)
    assert list(doc) == ["id", "title", "kind", "date", "summary", "lesson", "impact", "tags"]
