"""Issue 12, item 5: a template may format data, nothing else.

Known ways out of a plain Jinja2 environment, each run through ``lessons retro
--template`` in a real process: none may run a command, read a file, or reach
Python's internals; each is an error naming the template, exit 2.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import KB

ESCAPES = [
    "{{ cycler.__init__.__globals__.os.popen('touch MARK').read() }}",
    "{{ joiner.__init__.__globals__.os.popen('touch MARK').read() }}",
    "{{ namespace.__init__.__globals__.os.popen('touch MARK').read() }}",
    "{{ lipsum.__globals__['os'].popen('touch MARK').read() }}",
    "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.popen('touch MARK') }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''|attr('__class__')|attr('__mro__') }}",
    "{{ (headline|attr('__class__')).__init__.__globals__ }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ range.__self__.__import__('os').popen('touch MARK') }}",
    "{{ 'x'.format.__self__.__class__ }}",
    "{{ '{0.__class__.__mro__}'.format('') }}",
    "{% set l = [1] %}{{ l.append(2) }}",
    "{{ 'a' * 100000000 }}",
    "{{ 9 ** 99999999 }}",
]


def run(root: Path, *args: str, cwd: Path | None = None):  # type: ignore[no-untyped-def]
    return subprocess.run(
        [sys.executable, "-m", "lessons", "--kb", str(root), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1", "LESSONS_KB": "", "LESSONS_DB": ""},
        timeout=120,
    )


@pytest.fixture
def base(kb: KB) -> KB:
    kb.add("one", title="Certificate expired on the gateway")
    kb.add("two", title="DNS change broke resolution", kind="success")
    return kb


@pytest.mark.parametrize("body", ESCAPES)
def test_known_template_escapes_fail(base: KB, tmp_path: Path, body: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    template = work / "evil.md.j2"
    template.write_text("# Report\n" + body + "\n")
    done = run(base.root, "retro", "--template", str(template), cwd=work)
    assert done.returncode == 2, (body, done.returncode, done.stdout, done.stderr)
    assert done.stderr.startswith("Error: "), done.stderr
    assert str(template) in done.stderr
    assert "internal error" not in done.stderr
    assert not (work / "MARK").exists()
    assert "subclasses" not in done.stdout and "<class" not in done.stdout


def test_template_includes_stay_in_its_folder(base: KB, tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("the secret\n")
    (folder / "link.j2").symlink_to(secret)
    for include in ("../secret.txt", "link.j2", str(secret)):
        template = folder / "t.md.j2"
        template.write_text(f"# R\n{{% include '{include}' %}}\n")
        done = run(base.root, "retro", "--template", str(template))
        assert done.returncode == 2, (include, done.stdout, done.stderr)
        assert "the secret" not in done.stdout + done.stderr
        assert f"includes '{include}'" in done.stderr
    # An include of a file that is simply missing names that file.
    template.write_text("# R\n{% include 'parts/missing.md.j2' %}\n")
    done = run(base.root, "retro", "--template", str(template))
    assert done.returncode == 2
    assert "includes 'parts/missing.md.j2'" in done.stderr and str(template) in done.stderr
    # And one that is there, beside it, works.
    (folder / "part.md.j2").write_text("{{ headline.records }} records\n")
    template.write_text("# R\n{% include 'part.md.j2' %}\n")
    done = run(base.root, "retro", "--template", str(template))
    assert done.returncode == 0, done.stderr
    assert "2 records" in done.stdout


def test_html_template_escapes_record_text(kb: KB, tmp_path: Path) -> None:
    kb.add("one", title="<script>alert(1)</script> broke the build")
    template = tmp_path / "t.html"
    loop = "{% for r in went_wrong['items'] %}<li>{{ r.title }}</li>{% endfor %}"
    template.write_text(f"<ul>{loop}</ul>\n")
    done = run(kb.root, "retro", "--template", str(template))
    assert done.returncode == 0, done.stderr
    assert "<script>" not in done.stdout
    assert "&lt;script&gt;" in done.stdout
