"""Importing guideline documents: complete, idempotent by content hash, versioned, all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from imports.guideline_loader import load_file, prepare, store_preview
from imports.guidelines import GuidelineReadError
from tracker.models import GuidelineClause, GuidelineDocument, GuidelineNode, Programme
from tracker.services.audit import Actor

SAMPLES = Path(__file__).resolve().parents[2] / "tracker" / "demo" / "samples"
SEED_004 = SAMPLES / "004_a88be7aaa3e07232.txt"
SEED_003 = SAMPLES / "003_66db897801e56ec6.txt"
SYSTEM = Actor.system("test")


def counts(db):
    return tuple(db.scalar(select(func.count()).select_from(m))
                 for m in (Programme, GuidelineDocument, GuidelineNode, GuidelineClause))


def test_a_seed_imports_with_every_leaf_and_clause(db, now):
    result = load_file(db, SEED_003, actor=SYSTEM, now=now)
    doc = result.document
    assert result.created and doc.version == 1 and doc.is_current
    assert doc.programme.name == "2024年中国—东盟产业合作区建设专项项目申报指南"
    leaves = db.scalars(select(GuidelineNode).where(GuidelineNode.document_id == doc.id,
                                                    GuidelineNode.is_leaf.is_(True))).all()
    assert len(leaves) == doc.leaf_count == 40
    # 003's one global 考核要求 is inherited by every direction.
    assert all(leaf.inherits_indicators and leaf.clauses for leaf in leaves)
    assert all(leaf.direction == "支持方向" for leaf in leaves)
    lines = doc.lines
    for clause in leaves[0].clauses:
        assert clause.text in lines[clause.line - 1]


def test_reimporting_the_same_file_changes_nothing(db, now):
    load_file(db, SEED_004, actor=SYSTEM, now=now)
    before = counts(db)
    again = load_file(db, SEED_004, actor=SYSTEM, now=now)
    assert not again.created and counts(db) == before


def test_a_changed_document_becomes_a_new_version(db, now, tmp_path):
    first = load_file(db, SEED_004, actor=SYSTEM, now=now, programme_name="百色市科技计划").document
    changed = tmp_path / "004.txt"
    changed.write_text(SEED_004.read_text("utf-8") + "\n", "utf-8")
    second = load_file(db, changed, actor=SYSTEM, now=now, programme_name="百色市科技计划")
    assert second.created and second.replaced == first
    assert second.document.version == 2 and second.document.is_current and not first.is_current
    # The old version keeps its nodes: projects stay tied to the version they were awarded under.
    assert db.scalar(select(func.count()).select_from(GuidelineNode)
                     .where(GuidelineNode.document_id == first.id)) == len(first.nodes) > 0
    assert db.scalar(select(func.count()).select_from(Programme)) == 1


def test_clauses_carry_their_parsed_targets(db, now):
    doc = load_file(db, SEED_004, actor=SYSTEM, now=now).document
    clauses = db.scalars(select(GuidelineClause).join(GuidelineNode)
                         .where(GuidelineNode.document_id == doc.id)).all()
    with_targets = [c for c in clauses if c.targets]
    assert with_targets, "no clause of 004 produced a target"
    target = with_targets[0].targets[0]
    assert {"category", "metric", "op", "value", "unit"} <= set(target)


@pytest.mark.parametrize(("name", "data", "words"), [
    ("empty.txt", b"", "空"),
    ("binary.txt", bytes(range(256)) * 40, "二进制"),
    ("fake.docx", b"PK\x03\x04not really a word file at all", "Word"),
    ("plain.txt", "这是一段没有任何标题的普通文字。\n第二行也没有。\n".encode(), "标题"),
])
def test_bad_files_are_refused_in_chinese_and_write_nothing(db, now, name, data, words):
    before = counts(db)
    with pytest.raises(GuidelineReadError) as err:
        prepare(name, data)
    assert words in str(err.value) or any("\u4e00" <= ch <= "\u9fff" for ch in str(err.value))
    assert counts(db) == before


def test_gbk_text_is_read(db, now):
    data = SEED_004.read_text("utf-8").encode("gb18030")
    preview = prepare("004-gbk.txt", data)
    assert preview.source.encoding and preview.source.encoding.lower().startswith("gb")
    result = store_preview(db, preview, actor=SYSTEM, now=now, programme_name="GBK")
    assert result.document.leaf_count == 17


def test_oversized_file_is_refused():
    with pytest.raises(GuidelineReadError):
        prepare("huge.txt", b"a" * (21 * 1024 * 1024))


def test_cli_import_is_all_or_nothing(tmp_path, monkeypatch, capsys):
    from tracker import cli
    from tracker.settings import get_settings

    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'g.db'}")
    get_settings.cache_clear()
    try:
        bad = tmp_path / "bad.txt"
        bad.write_bytes(b"")
        assert cli.main(["guidelines", "import", str(SEED_004), str(bad)]) == 1
        assert "未写入任何数据" in capsys.readouterr().err
        import sqlite3

        with sqlite3.connect(tmp_path / "g.db") as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "guideline_documents" in tables:
                assert conn.execute("SELECT count(*) FROM guideline_documents").fetchone()[0] == 0
        assert cli.main(["guidelines", "import", str(SEED_004)]) == 0
        assert cli.main(["guidelines", "import", str(SEED_004)]) == 0
        assert "内容未变" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()


def test_cli_parse_prints_the_documented_record(capsys):
    import json

    from tracker import cli

    assert cli.main(["guidelines", "parse", str(SEED_004), "--format", "jsonl"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert records and all({"seed", "line", "direction", "label", "text", "targets", "combine", "quantitative"}
                           <= set(r) for r in records)
    assert records[0]["seed"] == SEED_004.name


def test_cli_tree_prints_every_node(capsys):
    import json

    from tracker import cli

    assert cli.main(["guidelines", "tree", str(SEED_004), "--format", "jsonl"]) == 0
    nodes = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sum(1 for n in nodes if n["leaf"]) == 17
    assert all({"seed", "line", "path", "title", "leaf", "has_indicators", "flags"} <= set(n) for n in nodes)


def test_a_number_contradicting_a_twin_document_is_flagged(db, now, tmp_path):
    load_file(db, SEED_004, actor=SYSTEM, now=now, programme_name="百色市（市局版）")
    text = SEED_004.read_text("utf-8")
    clause_line = next(line for line in text.splitlines() if "考核要求" in line and "1" in line)
    changed_line = clause_line.replace("1", "7", 1)
    twin = tmp_path / "twin.txt"
    twin.write_text(text.replace(clause_line, changed_line, 1), "utf-8")
    doc = load_file(db, twin, actor=SYSTEM, now=now, programme_name="百色市（转发版）").document
    flags = [f for node in doc.nodes for c in node.clauses for f in c.flags if f["kind"] == "twin_conflict"]
    flags += [f for f in doc.flags if f["kind"] == "twin_conflict"]
    assert flags, "the changed number was not flagged"
    assert "百色市（市局版）" in flags[0]["message"] and "请核对" in flags[0]["message"]
