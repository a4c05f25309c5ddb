"""G28, the answers: a full disk or a lost database connection is a 503 with a Chinese sentence saying that nothing
was saved (never the 500 page), logged with an incident id and the driver's message but never the SQL statement or
its parameters; any other failure keeps its 500. Both places a request can fail: in the handler (the error handler)
and at the commit after it (the request context). The slow tier provokes the real faults
(tests/service/test_db_faults.py); here they are raised where they would come from."""

from __future__ import annotations

import errno
import logging
import sqlite3

import psycopg
import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tests.conftest import csrf_from, login
from tracker.services import accounts
from tracker.web.errors import DATABASE_LOST, STORAGE_FULL, platform_fault

SECRET = "秘密参数值-4711"  # a parameter of the failed statement: must never reach the log or the page


def _sqlalchemy(orig: BaseException, *, invalidated: bool = False) -> OperationalError:
    return OperationalError("UPDATE users SET language=? WHERE users.id = ?", (SECRET, 1), orig,
                            connection_invalidated=invalidated)


FULL_SQLITE = _sqlalchemy(sqlite3.OperationalError("database or disk is full"))
FULL_POSTGRESQL = _sqlalchemy(psycopg.errors.DiskFull("could not extend file \"base/1/2\": No space left on device"))
CONNECTION_LOST = _sqlalchemy(psycopg.OperationalError("consuming input failed: server closed the connection "
                                                       "unexpectedly"), invalidated=True)
OTHER = _sqlalchemy(sqlite3.OperationalError("disk I/O error"))


def test_platform_faults_are_recognised_along_the_causes():
    assert platform_fault(FULL_SQLITE).message == STORAGE_FULL
    assert platform_fault(FULL_POSTGRESQL).message == STORAGE_FULL
    assert platform_fault(OSError(errno.ENOSPC, "No space left on device")).message == STORAGE_FULL
    assert platform_fault(OSError(errno.EDQUOT, "Disk quota exceeded")).message == STORAGE_FULL
    assert platform_fault(CONNECTION_LOST).message == DATABASE_LOST
    try:  # wrapped by whatever caught it on the way
        try:
            raise FULL_SQLITE
        except OperationalError as exc:
            raise RuntimeError("import failed") from exc
    except RuntimeError as wrapped:
        assert platform_fault(wrapped).message == STORAGE_FULL
    assert platform_fault(OTHER) is None
    assert platform_fault(OSError(errno.EACCES, "Permission denied")) is None
    assert platform_fault(ValueError("x")) is None
    for fault in (FULL_SQLITE, FULL_POSTGRESQL, CONNECTION_LOST):
        assert SECRET not in platform_fault(fault).detail and "UPDATE" not in platform_fault(fault).detail


def _change_language(client):
    token = csrf_from(client.get("/account").text)
    return client.post("/account/language", data={"_csrf_token": token, "language": "en"}, follow_redirects=False)


@pytest.mark.parametrize(("fault", "status", "message"), [
    (FULL_SQLITE, 503, STORAGE_FULL), (FULL_POSTGRESQL, 503, STORAGE_FULL), (CONNECTION_LOST, 503, DATABASE_LOST),
    (OSError(errno.ENOSPC, "No space left on device"), 503, STORAGE_FULL),
    (OTHER, 500, "系统出现意外错误")], ids=["sqlite-full", "pg-53100", "connection-lost", "enospc", "other"])
def test_a_fault_in_the_handler_answers_with_the_error_page(client, demo_users, monkeypatch, caplog, fault, status,
                                                            message):
    login(client, "grantee")

    def fail(*_args, **_kwargs):
        raise fault

    monkeypatch.setattr(accounts, "set_language", fail)
    with caplog.at_level(logging.ERROR, logger="tracker.web"):
        response = _change_language(client)
    assert response.status_code == status
    assert message in response.text and "事件编号" in response.text
    if status == 503:
        assert "<title>503" in response.text  # the page, with the signed-in user's menu, not a bare text
        assert SECRET not in caplog.text and "UPDATE users" not in caplog.text
        assert "incident" in caplog.text
    assert client.get("/account").status_code == 200  # and the next page is served


@pytest.mark.parametrize(("fault", "status", "message"), [
    (FULL_SQLITE, 503, STORAGE_FULL), (FULL_POSTGRESQL, 503, STORAGE_FULL), (CONNECTION_LOST, 503, DATABASE_LOST),
    (OTHER, 500, "保存失败")], ids=["sqlite-full", "pg-53100", "connection-lost", "other"])
def test_a_fault_at_the_commit_answers_503_or_500_and_saves_nothing(client, demo_users, db, monkeypatch, caplog, fault,
                                                                   status, message):
    login(client, "grantee")
    token = csrf_from(client.get("/account").text)
    commit = Session.commit
    armed = {"on": True}

    def failing_commit(session: Session) -> None:  # the request's commit, after its handler succeeded
        if armed["on"]:
            armed["on"] = False
            raise fault
        commit(session)

    monkeypatch.setattr(Session, "commit", failing_commit)
    with caplog.at_level(logging.ERROR, logger="tracker.web"):
        response = client.post("/account/language", data={"_csrf_token": token, "language": "en"},
                               follow_redirects=False)
    monkeypatch.undo()
    assert not armed["on"], "the commit was never reached"
    assert response.status_code == status, response.text
    assert message in response.text and "事件编号" in response.text
    if status == 503:
        assert SECRET not in caplog.text and "UPDATE users" not in caplog.text and "incident" in caplog.text
    if fault is CONNECTION_LOST:
        assert response.headers.get("retry-after") == "5"
    db.expire_all()
    assert demo_users["grantee"].language != "en"  # nothing of it was saved
    assert client.get("/account").status_code == 200


@pytest.mark.parametrize("fault", [FULL_SQLITE, FULL_POSTGRESQL], ids=["sqlite-full", "pg-53100"])
def test_a_full_disk_does_not_fail_the_pages_that_only_read(client, demo_users, monkeypatch, fault, now):
    """A page read writes only the session's last-seen time; on a full disk that write is skipped, as it is when
    another writer holds the lock, and the page is served."""
    import time_machine

    with time_machine.travel(now, tick=False) as traveller:
        login(client, "grantee")
        traveller.shift(120)  # long enough since the last one that this read records when the user was seen
        commit = Session.commit

        def failing_commit(session: Session) -> None:
            if session.dirty:
                raise fault
            commit(session)

        monkeypatch.setattr(Session, "commit", failing_commit)
        response = client.get("/account")
        monkeypatch.undo()
    assert response.status_code == 200
