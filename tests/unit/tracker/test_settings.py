"""Settings from the environment and the production refusals (G33): one test per refusal."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tracker.settings import DEV_SECRET_KEY, Settings, production_problems

GOOD = Settings(env="production", secret_key="k" * 48, secure_cookies=True, allowed_hosts=("tracker.gxst.gov.cn",))


def test_a_sound_production_configuration_starts():
    assert production_problems(GOOD, has_demo_accounts=False) == []


def test_development_is_never_refused():
    assert production_problems(Settings(), has_demo_accounts=True) == []


@pytest.mark.parametrize(
    ("change", "demo", "words"),
    [
        ({"secret_key": DEV_SECRET_KEY}, False, "开发默认值"),
        ({"secret_key": "short-secret"}, False, "过短"),
        ({"secure_cookies": False}, False, "安全 Cookie"),
        ({"debug": True}, False, "调试"),
        ({"allowed_hosts": ()}, False, "TRACKER_ALLOWED_HOSTS"),
        ({}, True, "演示账号"),
        ({"smtp_url": "smtp://mail.example.gov.cn:25"}, False, "加密连接"),
        ({"database_url": "sqlite:///:memory:"}, False, "内存数据库"),
    ],
    ids=["default-secret", "short-secret", "insecure-cookies", "debug", "no-allowed-hosts", "demo-accounts",
         "smtp-without-tls", "memory-database"],
)
def test_each_insecure_setting_is_refused(change, demo, words):
    problems = production_problems(replace(GOOD, **change), has_demo_accounts=demo)
    assert len(problems) == 1 and words in problems[0]


def test_from_env_reads_every_variable(tmp_path):
    settings = Settings.from_env({
        "TRACKER_DATABASE_URL": "postgresql://u@db:5432/tracker",
        "TRACKER_SMTP_URL": "smtp://mail:25",
        "TRACKER_SECRET_KEY": "s" * 40,
        "TRACKER_ENV": "production",
        "TRACKER_ALLOWED_HOSTS": "a.example, b.example",
        "TRACKER_DATA_DIR": str(tmp_path),
    })
    assert settings.database_url == "postgresql+psycopg://u@db:5432/tracker"
    assert settings.smtp_url == "smtp://mail:25"
    assert settings.is_production and settings.secure_cookies
    assert settings.allowed_hosts == ("a.example", "b.example")
    assert settings.data_dir == tmp_path


def test_development_defaults_are_safe_and_local():
    settings = Settings.from_env({})
    assert settings.database_url.startswith("sqlite:///") and settings.database_url.endswith("var/tracker.db")
    assert settings.env == "dev" and not settings.debug
    assert Settings.from_env({"TRACKER_ENV": "production"}).allowed_hosts == ()


@pytest.mark.parametrize("url", ["smtps://mail.example.gov.cn:465", "smtp://mail.example.gov.cn:587?starttls=1"])
def test_encrypted_smtp_is_accepted(url):
    assert production_problems(replace(GOOD, smtp_url=url), has_demo_accounts=False) == []


def test_password_hashes_meet_the_argon2_floor():
    from tracker.passwords import hash_password

    assert hash_password("x" * 12).startswith("$argon2id$v=19$m=65536,t=3,p=4$")
