"""No words for people hard-coded outside the catalogues (web/i18n/*.json).

web/js: ESLint's p2pshare/no-hardcoded-text (scripts/lint-js/no-hardcoded-text.mjs), run here on
the modules and on planted strings it must catch. web/index.html: every element with visible
text carries data-i18n (its English the catalogue's, word for word), every attribute people
read (aria-label, title, placeholder, alt, the description) data-i18n-attr; checked by the
parser below, which is itself tried on planted markup.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT = REPO / "scripts" / "lint-js"
ENGLISH = json.loads((REPO / "web" / "i18n" / "en.json").read_text(encoding="utf-8"))
LETTERS = re.compile(r"[^\W\d_]{2,}")
READ_ATTRIBUTES = ("aria-label", "title", "placeholder", "alt")
VOID = {"meta", "link", "img", "input", "br", "hr", "source", "area", "base", "col", "wbr"}


def eslint(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    npx = shutil.which("npx")
    if not npx or not (LINT / "node_modules" / "eslint").is_dir():
        pytest.skip("ESLint is not installed: npm ci --prefix scripts/lint-js")
    return subprocess.run(
        [npx, "--prefix", str(LINT), "eslint", "-c", str(LINT / "eslint.config.mjs"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )


def test_web_js_has_no_hardcoded_text() -> None:
    result = eslint("--rule", '{"no-unused-vars": "off"}', "web/js")
    assert "p2pshare/no-hardcoded-text" not in result.stdout, result.stdout
    assert result.returncode == 0, result.stdout + result.stderr


PLANTED = {
    "el.textContent = 'Hello there';": True,
    "el.title = ok ? 'Pick me' : '';": True,
    "ui.notice('error', `Could not ${x}`);": True,
    "ui.showMessage('Broken link', t('a'));": True,
    "ui.setState('done', 'All done');": True,
    "el.setAttribute('aria-label', 'Close it');": True,
    "el.innerHTML = t('safe.key');": True,
    "el.append('Code ', x);": True,
    "f({ actions: [{ label: 'Open it', onClick }] });": True,
    "rc.fail(`Disk is full: ${x}`);": True,
    "document.title = 'Sharing — p2pshare';": True,
    "el.textContent = t('home.title');": False,
    "ui.notice('error', msg('notice.cancelled'));": False,
    "el.textContent = '…';": False,
    "document.title = 'p2pshare';": False,
    "ui.setState('waiting', text);": False,
    "el.setAttribute('data-kind', 'text file');": False,
    "console.warn('a message for developers');": False,
}


def test_the_lint_catches_planted_strings_and_passes_catalogue_text() -> None:
    lines = list(PLANTED)
    source = "\n".join(lines) + "\n"
    result = eslint(
        "--rule",
        '{"no-undef": "off", "no-unused-vars": "off"}',
        "--stdin",
        "--stdin-filename",
        "web/js/planted.js",
        stdin=source,
    )
    reported = re.compile(r"^\s*(\d+):\d+\s+error .*p2pshare/no-hardcoded-text$", re.M)
    flagged = {int(m.group(1)) for m in reported.finditer(result.stdout)}
    for number, line in enumerate(lines, start=1):
        assert (number in flagged) is PLANTED[line], f"{line!r}: {result.stdout}"


class MarkupTexts(HTMLParser):
    """Problems of a page's markup: visible text or read attributes not from the catalogue."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.texts: dict[int, list[str]] = {}
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        covered = dict(
            pair.split(":", 1) for pair in a.get("data-i18n-attr", "").split(";") if ":" in pair
        )
        names = [*READ_ATTRIBUTES, *(["content"] if a.get("name") == "description" else [])]
        for name in names:
            if LETTERS.search(a.get(name, "")) and not covered.get(name):
                self.problems.append(f"<{tag} {name}={a[name]!r}> has no data-i18n-attr")
        for name, key in covered.items():
            if key not in ENGLISH:
                self.problems.append(f"<{tag}> data-i18n-attr key {key} is not in en.json")
            elif a.get(name, "") != ENGLISH[key]:
                self.problems.append(f"<{tag} {name}> is not en.json's {key}: {a.get(name)!r}")
        if tag in VOID:
            return
        self.stack.append((tag, a))
        self.texts[len(self.stack)] = []

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or tag in VOID:
            return
        depth = len(self.stack)
        name, a = self.stack.pop()
        text = " ".join("".join(self.texts.pop(depth, [])).split())
        if not LETTERS.search(text) or name in {"script", "style"}:
            return
        key = a.get("data-i18n")
        if name == "title":  # the document's title: main.js sets it from the catalogue
            key = "home.documentTitle"
        if key is None:
            if "lang" in a:
                return  # not translated on purpose, and says in which language it is
            self.problems.append(f"<{name}> shows {text!r} without data-i18n")
        elif key not in ENGLISH:
            self.problems.append(f"<{name}> data-i18n key {key} is not in en.json")
        elif text != " ".join(str(ENGLISH[key]).split()):
            self.problems.append(f"<{name} data-i18n={key}> says {text!r}, not en.json's")

    def handle_data(self, data: str) -> None:
        if self.stack:
            self.texts[len(self.stack)].append(data)


def markup_problems(page: str) -> list[str]:
    parser = MarkupTexts()
    parser.feed(page)
    parser.close()
    return parser.problems


def test_index_html_texts_all_come_from_the_catalogue() -> None:
    page = (REPO / "web" / "index.html").read_text(encoding="utf-8")
    assert markup_problems(page) == []
    assert len(re.findall(r"data-i18n=", page)) > 40


@pytest.mark.parametrize(
    "planted",
    [
        "<p>Hard-coded words</p>",
        '<button data-i18n="home.chooseFiles">Choose some files</button>',
        '<button data-i18n="no.such.key">Choose files</button>',
        '<div aria-label="Close the dialog"></div>',
        '<input placeholder="Type here" data-i18n-attr="title:home.title">',
        '<p data-i18n="home.title"><b>Send</b> files</p>',
    ],
)
def test_the_markup_check_catches_planted_text(planted: str) -> None:
    assert markup_problems(f"<main>{planted}</main>"), planted


def test_the_markup_check_passes_catalogue_text() -> None:
    good = (
        '<h1 data-i18n="home.title">Send files</h1>'
        f'<span data-i18n="common.tagline">{html.escape(ENGLISH["common.tagline"])}</span>'
        '<option value="de" lang="de">Deutsch</option>'
    )
    assert markup_problems(f"<main>{good}</main>") == []
