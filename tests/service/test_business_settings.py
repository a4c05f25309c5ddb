"""Business settings: defaults in code, the admin's changes validated and audited, a stale form refused."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import select

from tracker.models import AuditEntry, SettingValue
from tracker.services import business_settings as bs
from tracker.services.accounts import StaleEdit
from tracker.services.audit import Actor

ADMIN = Actor(None, "admin", "admin")


def typed(**changes: str) -> dict[str, str]:
    return {**bs.as_text(bs.DEFAULTS), **changes}


def test_defaults_without_any_row(db):
    settings = bs.load(db)
    assert settings == bs.DEFAULTS
    assert settings.report_due_days == 15 and settings.reminder_stages == (-7, -1, 0, 3, 7)
    assert settings.digest_time == time(8, 0)


def test_a_change_is_stored_as_typed_read_back_and_audited(db, now):
    seen = bs.fingerprint(bs.load(db))
    saved = bs.update(db, typed(report_due_days="20", reminder_stages="3, -7，0 -1", digest_time="9:30"), seen=seen,
                      actor=ADMIN, now=now)
    assert saved.report_due_days == 20 and saved.reminder_stages == (-7, -1, 0, 3) and saved.digest_time == time(9, 30)
    assert bs.load(db) == saved
    assert {r.key for r in db.scalars(select(SettingValue))} == {"report_due_days", "reminder_stages", "digest_time"}
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "settings_changed"))
    assert '"report_due_days": "20"' in entry.after and '"report_due_days": "15"' in entry.before


@pytest.mark.parametrize(("key", "value", "words"), [
    ("report_due_days", "-1", "0 到 60"), ("report_due_days", "十五", "整数"), ("reminder_stages", "", "至少"),
    ("reminder_stages", "1,1", "重复"), ("reminder_stages", "-100", "90"), ("send_window_start", "25:00", "08:00"),
    ("site_url", "javascript:alert(1)", "http"), ("extension_max_months", "0", "1 到 36"),
])
def test_a_value_out_of_range_is_refused_with_its_field_and_nothing_is_saved(db, now, key, value, words):
    with pytest.raises(bs.SettingsProblems) as err:
        bs.update(db, typed(**{key: value}), seen=bs.fingerprint(bs.load(db)), actor=ADMIN, now=now)
    assert words in err.value.errors[key]
    assert db.scalars(select(SettingValue)).all() == []


def test_the_send_window_must_hold_the_digest(db, now):
    with pytest.raises(bs.SettingsProblems) as err:
        bs.update(db, typed(send_window_start="20:00", send_window_end="08:00"), seen=bs.fingerprint(bs.DEFAULTS),
                  actor=ADMIN, now=now)
    assert "send_window_end" in err.value.errors


def test_a_form_opened_before_someone_elses_save_is_refused(db, now):
    seen = bs.fingerprint(bs.load(db))
    bs.update(db, typed(report_due_days="20"), seen=seen, actor=ADMIN, now=now)
    with pytest.raises(StaleEdit):
        bs.update(db, typed(report_due_days="10"), seen=seen, actor=ADMIN, now=now)
    assert bs.load(db).report_due_days == 20


def test_a_stored_value_that_no_longer_reads_falls_back_to_its_default(db, now):
    db.add(SettingValue(key="report_due_days", value="abc", updated_at=now))
    db.add(SettingValue(key="retired_key", value="1", updated_at=now))
    assert bs.load(db).report_due_days == 15
