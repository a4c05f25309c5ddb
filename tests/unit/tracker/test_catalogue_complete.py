"""The English catalogue is complete: every message a page can show has its English (issue 26).

A missing id would silently fall back to Chinese (tracker.i18n), so this fails instead, naming the ids. The ids
are those written in the templates (`_("…")`, `gettext`, `ngettext`, extracted as Babel does), in Python
(`_(`/`gettext(` calls) and the label maps whose values the pages pass through `_()`.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from indicators.evidence_ids import EVIDENCE_KINDS
from indicators.reading.categories import CATEGORIES
from indicators.reading.target_edit import KIND_LABELS
from tracker import i18n
from tracker.models.reports import REPORT_STATUS_LABELS
from tracker.services import labels
from tracker.services.reports import FUND_LABELS, TEXT_FIELDS

ROOT = Path(__file__).resolve().parents[3]
CATALOGUE = i18n.LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po"
# The maps of words the report, review and audit pages translate with `_(label)` or a label filter.
LABEL_MAPS = {
    "labels.FLAG_LABELS": labels.FLAG_LABELS, "labels.ACTION_LABELS": labels.ACTION_LABELS,
    "labels.ROLE_WORDS": labels.ROLE_WORDS, "labels.SYSTEM_ACTORS": labels.SYSTEM_ACTORS,
    "labels.OBJECT_LABELS": labels.OBJECT_LABELS, "labels.RESULT_LABELS": labels.RESULT_LABELS,
    "labels.REFUSALS": {**labels.REFUSALS, "": labels.REFUSED},
    "reports.FUND_LABELS": FUND_LABELS, "reports.TEXT_FIELDS": TEXT_FIELDS, "REPORT_STATUS_LABELS": REPORT_STATUS_LABELS,
    "EVIDENCE_KINDS": EVIDENCE_KINDS, "target_edit.KIND_LABELS": KIND_LABELS,
    "CATEGORIES": {k: v for k, v in CATEGORIES.items() if isinstance(v, str)},
}


def translated() -> set[str]:
    with CATALOGUE.open("rb") as fh:
        catalogue = read_po(fh, locale="en")
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalogue if m.id and m.string}


def written_ids() -> dict[str, str]:
    """Message id → where it is first used."""
    found: dict[str, str] = {}
    method_map = [("templates/**.html", "jinja2"), ("templates/**.txt", "jinja2"),
                  ("tracker/**.py", "python"), ("imports/**.py", "python"), ("reminders/**.py", "python")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"},
               "templates/**.txt": {"extensions": "jinja2.ext.i18n"}}
    for file_name, line, message, _comments, _context in extract_from_dir(str(ROOT), method_map=method_map,
                                                                          options_map=options):
        for text in (message,) if isinstance(message, str) else message:
            if text:
                found.setdefault(text, f"{file_name}:{line}")
    return found


def test_the_extraction_finds_the_templates_messages():
    ids = written_ids()
    assert "提交报告" in ids and "保存审核结论" in ids and "指标核对" in ids  # so an empty scan cannot pass
    assert len(ids) > 500


def test_every_message_of_the_templates_has_its_english():
    have = translated()
    missing = {text: where for text, where in written_ids().items() if text not in have}
    assert not missing, f"{len(missing)} message ids without English in {CATALOGUE.name}: " + "; ".join(
        f"{where} {text!r}" for text, where in sorted(missing.items(), key=lambda item: item[1])[:40])


def test_every_label_has_its_english():
    have = translated()
    missing = sorted({f"{name}: {words}" for name, words_of in LABEL_MAPS.items()
                      for words in words_of.values() if words not in have})
    assert not missing, f"labels without English: {missing}"
