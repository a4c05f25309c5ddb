"""Login limits behind a reverse proxy (#25 finding 5, TRACKER_TRUSTED_PROXIES).

Behind one HTTPS proxy every request came from the proxy's address, so ten bad passwords from anyone blocked every
login for five minutes. X-Forwarded-For now names the client, but only when the peer is a trusted proxy."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from sqlalchemy import select

from tracker.models import LoginAttempt
from tracker.services.accounts import IP_FAILURES
from tracker.settings import Settings, SettingsError
from tracker.web.app import create_app
from tracker.web.proxies import client_address, networks

PROXY = "10.0.0.5"


@pytest.fixture(autouse=True)
def _no_argon2(monkeypatch):
    # Every attempt names an unknown user, which costs one argon2 verify; the counting is what is tested here.
    monkeypatch.setattr("tracker.services.accounts.passwords.burn_verify", lambda: None)


@pytest.mark.parametrize(("peer", "forwarded", "trusted", "expected"), [
    ("203.0.113.9", ["198.51.100.1"], [], "203.0.113.9"),  # off by default: the header is ignored
    ("203.0.113.9", ["198.51.100.1"], ["10.0.0.0/8"], "203.0.113.9"),  # not from a trusted proxy
    (PROXY, ["198.51.100.1"], ["10.0.0.0/8"], "198.51.100.1"),
    (PROXY, ["6.6.6.6, 198.51.100.1"], ["10.0.0.0/8"], "198.51.100.1"),  # the client's own entry is not believed
    (PROXY, ["198.51.100.1, 10.0.0.7"], ["10.0.0.0/8"], "198.51.100.1"),  # two proxies in a row
    (PROXY, ["198.51.100.1", "10.0.0.7"], ["10.0.0.0/8"], "198.51.100.1"),  # the header given twice
    (PROXY, ["not-an-address"], ["10.0.0.0/8"], PROXY),
    (PROXY, [], ["10.0.0.0/8"], PROXY),
    ("::1", ["2001:db8::7"], ["::1"], "2001:db8::7"),
])
def test_the_client_address(peer, forwarded, trusted, expected):
    assert client_address(peer, forwarded, networks(trusted)) == expected


def test_a_setting_that_is_not_an_address_is_refused():
    with pytest.raises(SettingsError, match="TRACKER_TRUSTED_PROXIES"):
        Settings.from_env({"TRACKER_TRUSTED_PROXIES": "10.0.0.1, proxy.example"})
    settings = Settings.from_env({"TRACKER_TRUSTED_PROXIES": "10.0.0.1 10.1.0.0/16,::1"})
    assert [str(n) for n in networks(settings.trusted_proxies)] == ["10.0.0.1/32", "10.1.0.0/16", "::1/128"]
    assert Settings.from_env({}).trusted_proxies == ()


def _bad_logins(app, peer: str, clients: list[str]) -> list[int]:
    """One failed login per entry of `clients`, sent through `peer` with that X-Forwarded-For."""

    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            page = (await client.get("/login")).text
            token = re.search(r'name="_csrf_token" value="([0-9a-f]{64})"', page).group(1)
            statuses = []
            for address in clients:
                response = await client.post("/login", headers={"x-forwarded-for": address}, data={
                    "_csrf_token": token, "username": f"nobody-{address}", "password": "wrong-password", "next": "/"})
                statuses.append(response.status_code)
            return statuses

    return asyncio.run(run())


def _app(settings: Settings, session_factory, trusted: tuple[str, ...]):
    from dataclasses import replace

    return create_app(replace(settings, trusted_proxies=trusted), session_factory=session_factory)


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(settings, session_factory, db):
    app = _app(settings, session_factory, (PROXY,))
    clients = [f"198.51.100.{n}" for n in range(IP_FAILURES + 5)]
    assert _bad_logins(app, PROXY, clients) == [400] * len(clients)  # wrong password, never "too many"
    recorded = set(db.scalars(select(LoginAttempt.ip)))
    assert recorded == set(clients)
    # One client alone still meets its limit.
    assert _bad_logins(app, PROXY, ["198.51.100.200"] * (IP_FAILURES + 1))[-1] == 429


def test_without_the_setting_the_header_changes_nothing(settings, session_factory, db):
    app = _app(settings, session_factory, ())
    clients = [f"198.51.100.{n}" for n in range(IP_FAILURES + 1)]
    assert _bad_logins(app, PROXY, clients)[-1] == 429  # everybody counted as the proxy
    assert set(db.scalars(select(LoginAttempt.ip))) == {PROXY}


def test_documented_in_the_readme():
    from tracker.settings import PROJECT_ROOT

    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert "TRACKER_TRUSTED_PROXIES" in readme
