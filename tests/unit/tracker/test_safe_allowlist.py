"""G11: what could let a user's text out unescaped appears only where this allowlist says, for the reason it gives.

Autoescaping (tracker/templating.py) escapes everything a template prints, unless the value is marked safe: the
`|safe` filter, `Markup(...)`, an object with `__html__`, `{% autoescape false %}`. A template compiled from a string
(`from_string`, `Template(...)`) or a second Jinja environment could also escape nothing, or run what a user typed.
Every occurrence in the code and the templates must be listed below with its reason: a new one fails until it is
reviewed and listed, and an entry nothing matches any more fails too (the list stays exact).
"""

from __future__ import annotations

import re
from collections import Counter

from tracker import templating
from tracker.settings import PROJECT_ROOT

ROOTS = ("tracker", "templates", "indicators", "reminders", "imports")
SUFFIXES = {".py", ".html", ".txt", ".xml", ".j2", ".jinja", ".htm", ".svg"}

PATTERNS = {
    "|safe": re.compile(r"\|\s*safe\b"),
    "Markup(": re.compile(r"\bMarkup\s*\("),
    "markupsafe": re.compile(r"\bmarkupsafe\b"),
    "autoescape off": re.compile(r"autoescape\s*(?:=\s*False\b|false\b)", re.IGNORECASE),
    "__html__": re.compile(r"__html__"),
    "template from a string": re.compile(r"\bfrom_string\s*\(|(?<![\w.])Template\s*\("),
    "Jinja environment": re.compile(r"(?<![\w.])Environment\s*\("),
}

# (file, pattern) → (how many times, why it is safe).
ALLOWED: dict[tuple[str, str], tuple[int, str]] = {
    ("tracker/templating.py", "Jinja environment"): (
        1, "the one environment of the app: autoescape on for .html and for strings "
           "(test_the_environment_escapes_every_page below)"),
    ("tracker/web/controllers/projects.py", "markupsafe"): (1, "imports Markup for the line below"),
    ("tracker/web/controllers/projects.py", "Markup("): (
        1, "the project page's body: the output of projects/_detail_body.html, rendered by the autoescaped "
           "environment (tracker.templating.render) in _detail_body, put into projects/detail.html"),
    ("tracker/web/fragments.py", "markupsafe"): (1, "imports Markup for the two lines below"),
    ("tracker/web/fragments.py", "Markup("): (
        2, "kept page parts (the officer's worklist, the project list, the report queue): each the output of an "
           "autoescaped template (KeptParts.html), and with_csrf puts the session's CSRF token (64 hex "
           "characters) in place of a placeholder no user text can contain"),
}


def occurrences() -> Counter[tuple[str, str]]:
    found: Counter[tuple[str, str]] = Counter()
    for root in ROOTS:
        for path in sorted((PROJECT_ROOT / root).rglob("*")):
            if not path.is_file() or path.suffix not in SUFFIXES or "__pycache__" in path.parts:
                continue
            text = path.read_text("utf-8", errors="replace")
            name = path.relative_to(PROJECT_ROOT).as_posix()
            for label, pattern in PATTERNS.items():
                if n := len(pattern.findall(text)):
                    found[(name, label)] += n
    return found


def test_unescaping_appears_only_where_the_allowlist_says():
    found = occurrences()
    allowed = {key: count for key, (count, _why) in ALLOWED.items()}
    new = {f"{f}: {label} ×{n}": allowed.get((f, label), 0) for (f, label), n in found.items()
           if n != allowed.get((f, label), 0)}
    assert new == {}, "occurrences not on the allowlist (review them and list them with the reason, or remove " \
                      "them): file: what ×found → allowed"
    gone = [key for key in allowed if key not in found]
    assert gone == [], "allowlist entries nothing matches any more: remove them"


def test_the_patterns_find_what_they_look_for():
    samples = {
        "|safe": "{{ x|safe }} {{ y | safe }}",
        "Markup(": "Markup(text)",
        "markupsafe": "from markupsafe import Markup",
        "autoescape off": "{% autoescape false %} Environment(autoescape=False)",
        "__html__": "def __html__(self):",
        "template from a string": "env.from_string(text) jinja2.Template(text) Template(text)",
        "Jinja environment": "jinja2.Environment() Environment(loader=x)",
    }
    for label, sample in samples.items():
        assert PATTERNS[label].search(sample), label
    assert not PATTERNS["template from a string"].search("_Template(1)")
    assert not PATTERNS["|safe"].search("unsafe | safety")


def test_the_environment_escapes_every_page():
    """Pages, HTML mails and print templates are .html (escaped); plain-text mails are .txt (not escaped: no HTML
    reads them) and live under emails/ only; no other kind of file is a template."""
    env = templating.environment()
    assert env.autoescape("page.html") is True and env.autoescape("mail.xml") is True
    assert env.autoescape(None) is True  # a template compiled from a string
    assert env.autoescape("emails/x/body.txt") is False
    kinds = Counter()
    for path in templating.TEMPLATE_DIR.rglob("*"):
        if path.is_file():
            name = path.relative_to(templating.TEMPLATE_DIR).as_posix()
            kinds[path.suffix] += 1
            assert path.suffix == ".html" or (path.suffix == ".txt" and name.startswith("emails/")), name
    assert kinds[".html"] > 50
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
