"""``lessons.yaml``, its defaults, and finding the knowledge base root (SPEC §1)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lessons.errors import LessonsError, UsageError
from lessons.hashing import digest
from lessons.model import (
    CUSTOM_TYPES,
    DEFAULT_STAGES,
    STANDARD_KEYS,
    CustomField,
    Schema,
    did_you_mean,
)

CONFIG_NAME = "lessons.yaml"
ENTRIES_DIR = "entries"
INDEX_DIR = ".lessons"
CONFIG_KEYS = (
    "name",
    "stages",
    "fields",
    "tag_aliases",
    "synonyms",
    "index",
    "add_folder",
    "language",
    "publish",
    "timezone",
    "site",
)
PUBLISH_KEYS = ("public_only",)

# The settings under ``site:`` (the published website, ``lessons site``).
SITE_KEYS = ("templates", "organisation", "logo", "base_url", "internal", "external")


@dataclass(frozen=True)
class SiteConfig:
    """``site:`` in ``lessons.yaml``: how ``lessons site`` looks and what it may publish.

    Paths are relative to the knowledge base root and checked to stay inside it.
    ``internal`` is None (public records only unless ``--internal``), True (internal
    records too, always) or False (``--internal`` is refused). ``external`` lists the
    origins the site may load anything from (none by default).
    """

    templates: str | None = None
    organisation: str | None = None
    logo: str | None = None
    base_url: str | None = None
    internal: bool | None = None
    external: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    """A knowledge base's settings, with every default filled in."""

    root: Path
    name: str = "lessons"
    stages: tuple[str, ...] = DEFAULT_STAGES
    fields: tuple[CustomField, ...] = ()
    tag_aliases: Mapping[str, str] = field(default_factory=dict)
    synonyms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    index: str | None = None
    add_folder: str | None = None
    # The records' language: stemming, stop words and spelling (lessons/search/language.py).
    language: str = "english"
    # `publish: {public_only: true}`: a shared index gets public records only.
    public_only: bool = False
    # True when lessons.yaml gives `name:` (else the folder's name is the key).
    named: bool = False
    # The zone imported timestamps are converted to before their date is taken (IANA
    # name, e.g. Europe/Lisbon); None: the machine's.
    timezone: str | None = None
    site: SiteConfig = field(default_factory=SiteConfig)
    # A hash of the settings that change how records validate: a change re-indexes.
    fingerprint: str = ""

    @property
    def entries(self) -> Path:
        """The folder holding the records."""
        return self.root / ENTRIES_DIR

    @property
    def schema(self) -> Schema:
        """What record validation needs."""
        return Schema(stages=self.stages, fields=self.fields, tag_aliases=self.tag_aliases)

    @property
    def key(self) -> str:
        """The knowledge base's name in a shared index and in ``KB:ID`` references:
        ``name:`` as a slug, or the folder's name where lessons.yaml gives none."""
        return kb_key(self.name if self.named else self.root.name)

    def default_db_url(self) -> str:
        """``sqlite:///<root>/.lessons/index.db``."""
        return f"sqlite:///{self.root / INDEX_DIR / 'index.db'}"


def kb_key(name: str) -> str:
    """A knowledge base's key: its name as a slug ('Digital Engagement lessons' ->
    'digital-engagement-lessons'); a name without a letter or digit is hashed."""
    from lessons.model import slugify

    return slugify(name, max_len=60) or f"kb-{digest(name.encode(), 4)}"


def find_root(kb: str | None = None, cwd: Path | None = None) -> Path:
    """The root: ``--kb``, ``$LESSONS_KB``, the nearest ``lessons.yaml``, or ``./entries``."""
    explicit = kb or os.environ.get("LESSONS_KB")
    if explicit:
        root = Path(explicit).expanduser()
        if not root.is_dir():
            raise UsageError(
                f"knowledge base folder not found: {root}",
                hint="check --kb or $LESSONS_KB, or create one with `lessons init PATH`",
            )
        return root.resolve()
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    if (here / ENTRIES_DIR).is_dir():
        return here
    raise UsageError(
        "no knowledge base here: no lessons.yaml in this folder or above, and no entries/ folder",
        hint="run `lessons init` to create one, or point at one with --kb PATH",
    )


def load_config(root: Path) -> Config:
    """Read ``<root>/lessons.yaml`` (optional) into a ``Config``."""
    path = root / CONFIG_NAME
    if not path.is_file():
        return Config(root=root, fingerprint=_fingerprint({}))
    shown = str(path)
    cached = _cached(root, path)
    if cached is not None:
        return _parse(root, cached, shown, "")
    from lessons.entries import parse_yaml
    from lessons.entries.parse import EMPTY
    from lessons.fsafe import read_regular

    try:
        raw = read_regular(path, inside=root)
    except OSError as exc:
        raise LessonsError(
            f"cannot read the configuration: {exc.strerror or exc}", path=shown
        ) from None
    # The limits and checks of record files: a stranger's lessons.yaml may be a bomb too.
    data, problems = parse_yaml(raw, shown)
    if problems and problems[0].message == EMPTY:
        problems = []  # only comments: every default applies
    if problems:
        first = problems[0]
        raise LessonsError(first.message, path=shown, line=first.line, field=first.field)
    text = raw.decode("utf-8-sig")
    data = data or {}
    if not isinstance(data, dict):
        raise LessonsError("the configuration must be a mapping of keys to values", path=shown)
    config = _parse(root, data, shown, text)
    _cache(root, path, data)
    return config


# The parsed lessons.yaml, kept beside the index: a read command then needs no
# YAML parser at all when no file changed (importing PyYAML costs ~13 ms).
_CACHE = f"{INDEX_DIR}/config.json"


def _stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_mtime_ns, st.st_size, st.st_ino]


def _cached(root: Path, path: Path) -> dict[str, Any] | None:
    import json

    try:
        from lessons.fsafe import read_regular

        cache = json.loads(read_regular(root / _CACHE, inside=root / INDEX_DIR))
        if cache["stamp"] == _stamp(path) and isinstance(cache["data"], dict):
            return dict(cache["data"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def _cache(root: Path, path: Path, data: dict[str, Any]) -> None:
    import json

    try:
        text = json.dumps({"stamp": _stamp(path), "data": data})
        # Only what JSON gives back unchanged (no dates, no number keys).
        if json.loads(text)["data"] != data:
            return
        from lessons.entries import atomic_write

        atomic_write(root / _CACHE, text, durable=False)
    except (OSError, TypeError, ValueError, LessonsError):
        # A cache that cannot be written (read-only knowledge base) is only slower.
        pass


def _line_of(text: str, key: str) -> int | None:
    for n, line in enumerate(text.splitlines(), start=1):
        if line.startswith(f"{key}:"):
            return n
    return None


def _parse(root: Path, data: dict[str, Any], shown: str, text: str) -> Config:
    def fail(message: str, key: str) -> LessonsError:
        return LessonsError(message, path=shown, line=_line_of(text, key), field=key)

    for key in data:
        if key not in CONFIG_KEYS:
            raise fail(f"unknown setting '{key}'{did_you_mean(str(key), CONFIG_KEYS)}", str(key))

    stages = data.get("stages", list(DEFAULT_STAGES))
    if not isinstance(stages, list) or not stages or not all(isinstance(s, str) for s in stages):
        raise fail("'stages' must be a non-empty list of names", "stages")

    fields: list[CustomField] = []
    raw_fields = data.get("fields") or {}
    if not isinstance(raw_fields, dict):
        raise fail("'fields' must map field names to {type: ...}", "fields")
    for name, spec in raw_fields.items():
        if name in STANDARD_KEYS:
            raise fail(f"custom field '{name}' has the name of a standard key", "fields")
        if not isinstance(spec, dict) or spec.get("type") not in CUSTOM_TYPES:
            raise fail(
                f"custom field '{name}' needs a type: one of {', '.join(CUSTOM_TYPES)}", "fields"
            )
        values = spec.get("values") or []
        if spec["type"] == "choice" and (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, str) for v in values)
        ):
            raise fail(f"custom field '{name}' is a choice and needs 'values: [...]'", "fields")
        fields.append(CustomField(str(name), spec["type"], tuple(values)))

    aliases = data.get("tag_aliases") or {}
    if not isinstance(aliases, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in aliases.items()
    ):
        raise fail("'tag_aliases' must map a tag to the tag to use instead", "tag_aliases")

    synonyms_raw = data.get("synonyms") or {}
    if not isinstance(synonyms_raw, dict):
        raise fail("'synonyms' must map a term to a list of equivalent terms", "synonyms")
    synonyms: dict[str, tuple[str, ...]] = {}
    for term, alts in synonyms_raw.items():
        if not isinstance(alts, list) or not all(isinstance(a, str) for a in alts):
            raise fail(f"synonyms of '{term}' must be a list of terms", "synonyms")
        synonyms[str(term).lower()] = tuple(a.lower() for a in alts)

    for key in ("name", "index", "add_folder", "timezone"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise fail(f"'{key}' must be text", key)
    add_folder = data.get("add_folder")
    if add_folder and (Path(add_folder).is_absolute() or ".." in Path(add_folder).parts):
        raise fail("'add_folder' must be a folder inside entries/", "add_folder")

    publish = data.get("publish") or {}
    if not isinstance(publish, dict):
        raise fail("'publish' must be a mapping, e.g. {public_only: true}", "publish")
    for key, value in publish.items():
        if key not in PUBLISH_KEYS:
            raise fail(
                f"unknown publish setting '{key}'{did_you_mean(str(key), PUBLISH_KEYS)}",
                "publish",
            )
        if not isinstance(value, bool):
            raise fail(f"publish setting '{key}' must be true or false", "publish")
    site = _parse_site(data.get("site"), fail)
    language = "english"
    if data.get("language") is not None:
        from lessons.search.language import LANGUAGES, language_name

        if not isinstance(data["language"], str):
            raise fail("'language' must be text", "language")
        try:
            language = language_name(data["language"])
        except UsageError:
            raise fail(
                f"unknown language '{data['language']}': one of {', '.join(LANGUAGES)}",
                "language",
            ) from None

    from lessons.model import normalise_tag

    norm_aliases = {normalise_tag(k): normalise_tag(v) for k, v in aliases.items()}
    return Config(
        root=root,
        name=data.get("name") or "lessons",
        named=bool(data.get("name")),
        stages=tuple(stages),
        fields=tuple(fields),
        tag_aliases=norm_aliases,
        synonyms=synonyms,
        index=data.get("index"),
        add_folder=add_folder,
        language=language,
        public_only=bool(publish.get("public_only", False)),
        timezone=data.get("timezone"),
        site=site,
        fingerprint=_fingerprint(
            {"stages": stages, "fields": raw_fields, "tag_aliases": norm_aliases}
            # The language picks the full-text tokenizer: a change rebuilds the index.
            | ({"language": language} if language != "english" else {})
        ),
    )


def _inside(value: str) -> bool:
    """A relative path that names no parent folder (checked again, resolved, at use)."""
    parts = Path(value).parts
    return bool(parts) and not Path(value).is_absolute() and ".." not in parts


_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def _parse_site(raw: Any, fail: Any) -> SiteConfig:
    """The ``site:`` mapping, each setting checked (an error names the key)."""
    if raw is None:
        return SiteConfig()
    if not isinstance(raw, dict):
        raise fail("'site' must be a mapping of settings (templates, organisation, …)", "site")
    for key in raw:
        if key not in SITE_KEYS:
            raise fail(f"unknown site setting '{key}'{did_you_mean(str(key), SITE_KEYS)}", "site")
    for key in ("templates", "organisation", "logo", "base_url"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise fail(f"'site.{key}' must be text", "site")
    for key in ("templates", "logo"):
        if raw.get(key) and not _inside(raw[key]):
            raise fail(f"'site.{key}' must be a path inside the knowledge base", "site")
    internal = raw.get("internal")
    if internal is not None and not isinstance(internal, bool):
        raise fail("'site.internal' must be true or false", "site")
    external = raw.get("external") or []
    if not isinstance(external, list) or not all(
        isinstance(o, str) and _ORIGIN.fullmatch(o) for o in external
    ):
        raise fail(
            "'site.external' must be a list of origins such as https://fonts.example.org",
            "site",
        )
    return SiteConfig(
        templates=raw.get("templates") or None,
        organisation=raw.get("organisation") or None,
        logo=raw.get("logo") or None,
        base_url=raw.get("base_url") or None,
        internal=internal,
        external=tuple(external),
    )


def _fingerprint(settings: dict[str, Any]) -> str:
    return digest(repr(sorted(settings.items())).encode(), 8)


DEFAULT_CONFIG = """\
# Configuration of this lessons knowledge base. Every key is optional.
name: {name}
# Where in the work a lesson arose (the OASIS campaign model by default).
stages: [objectives, audience, strategy, implementation, scoring]
# Keys of your own, beyond the standard ones: text, list, date, number, choice.
fields: {{}}
#   channels: {{type: list}}
#   evaluation: {{type: choice, values: [output, outtake, outcome, impact]}}
# Tags written one way, stored another.
tag_aliases: {{}}
#   hashtag: hashtags
# Words a search also looks for.
synonyms: {{}}
#   disk-full: [out of storage, no space left]
# The language of the records: stemming, stop words, spelling (default english).
# language: portuguese
# Publishing to a shared index (lessons --db postgresql://... index): public records only?
# publish: {{public_only: true}}
"""
