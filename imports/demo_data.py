"""Demo data that needs the readers: the five sample guidelines, imported as programmes (DESIGN §4 `tracker demo`)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from imports.guideline_loader import load_file
from tracker.models import GuidelineDocument
from tracker.services.accounts import assign_programmes, get_user_by_username
from tracker.services.audit import Actor

SAMPLES = Path(__file__).parent / "samples"

# The samples carry no usable title line for 000, 002 and 004: the demo names them as an officer would.
DEMO_PROGRAMMES = {
    "000_01a6d56b3cde02ef.txt": "2025年广西区市科技创新联动类、产业科技创新类、产业园区创新发展类项目申报指南",
    "001_b77ff5cd7a582a9e.txt": "柳州市“科创中国”试点城市建设科技计划专项申报指南",
    "002_5acc37a79164e4dd.txt": "2025年度广西科技计划项目申报指南（六大行动计划）",
    "003_66db897801e56ec6.txt": "2024年中国—东盟产业合作区建设专项项目申报指南",
    "004_a88be7aaa3e07232.txt": "2024年百色市科技计划项目申报指南",
}


def load_demo_guidelines(db: Session, *, now: datetime) -> list[GuidelineDocument]:
    actor = Actor.system("demo")
    documents = [
        load_file(db, SAMPLES / file_name, actor=actor, now=now, programme_name=name).document
        for file_name, name in DEMO_PROGRAMMES.items()
    ]
    officer = get_user_by_username(db, "officer")
    if officer is not None:
        assign_programmes(db, officer, [d.programme for d in documents], actor=actor, now=now)
    return documents
