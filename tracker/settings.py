"""Settings from the environment (DESIGN §4), with safe defaults for development.

Production (`TRACKER_ENV=production`) refuses insecure settings: `production_problems()` lists them and
the CLI refuses to start while the list is not empty (G33).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

# The checkout this package lives in: templates/, migrations/ and var/ sit beside tracker/.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105 - the refused default
MIN_SECRET_KEY_LENGTH = 32


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///var/tracker.db"
    smtp_url: str = ""
    secret_key: str = DEV_SECRET_KEY
    env: str = "dev"
    # Development accepts any Host header; production must list its host names (G33).
    allowed_hosts: tuple[str, ...] = ("*",)
    data_dir: Path = PROJECT_ROOT / "var" / "files"
    debug: bool = False
    # Cookies carry Secure and the __Host- prefix unless this is turned off for plain-http development.
    secure_cookies: bool = False
    session_idle_minutes: int = 30
    session_absolute_hours: int = 8
    max_body_bytes: int = 1_000_000
    # The reverse proxies whose X-Forwarded-For names the client (login limits count per client address).
    # Addresses or networks as written (`10.0.0.0/8`), checked when read; plain strings because the web layer's
    # dependency injection validates this object and takes no union of custom types.
    trusted_proxies: tuple[str, ...] = ()
    # Business rules (report due days, reminder stages, the acceptance window…) are not here: the admin edits
    # them in the database (tracker.services.business_settings).
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        mode = env.get("TRACKER_ENV", "dev").strip() or "dev"
        hosts = tuple(h.strip() for h in env.get("TRACKER_ALLOWED_HOSTS", "").split(",") if h.strip())
        return cls(
            database_url=_database_url(env.get("TRACKER_DATABASE_URL", "").strip()),
            smtp_url=env.get("TRACKER_SMTP_URL", "").strip(),
            secret_key=env.get("TRACKER_SECRET_KEY", DEV_SECRET_KEY),
            env=mode,
            allowed_hosts=hosts or (() if mode == "production" else cls.allowed_hosts),
            data_dir=Path(env.get("TRACKER_DATA_DIR") or PROJECT_ROOT / "var" / "files"),
            debug=env.get("TRACKER_DEBUG", "") in {"1", "true", "yes"},
            secure_cookies=env.get("TRACKER_SECURE_COOKIES", "1" if mode == "production" else "0")
            in {"1", "true", "yes"},
            trusted_proxies=_trusted_proxies(env.get("TRACKER_TRUSTED_PROXIES", "")),
        )


class SettingsError(ValueError):
    """A setting the environment gives that cannot be read; the message says which, in Chinese."""


def _trusted_proxies(raw: str) -> tuple[str, ...]:
    """Addresses or networks separated by commas or spaces: `127.0.0.1, 10.0.0.0/8, ::1`."""
    items = tuple(raw.replace(",", " ").split())
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise SettingsError(f"TRACKER_TRUSTED_PROXIES 中的“{item}”不是 IP 地址或网段") from None
    return items


def _database_url(raw: str) -> str:
    """Default SQLite file under var/; a bare `postgresql://` URL is given the psycopg 3 driver."""
    if not raw:
        return f"sqlite:///{PROJECT_ROOT / 'var' / 'tracker.db'}"
    if raw.startswith("postgresql://") or raw.startswith("postgres://"):
        return "postgresql+psycopg://" + raw.split("://", 1)[1]
    return raw


def production_problems(settings: Settings, *, has_demo_accounts: bool) -> list[str]:
    """Every reason production must not start with these settings (empty list: fine)."""
    if not settings.is_production:
        return []
    problems = []
    if settings.secret_key == DEV_SECRET_KEY:
        problems.append("TRACKER_SECRET_KEY 仍是开发默认值，请设置随机密钥")
    elif len(settings.secret_key) < MIN_SECRET_KEY_LENGTH:
        problems.append(f"TRACKER_SECRET_KEY 过短（至少 {MIN_SECRET_KEY_LENGTH} 个字符）")
    if not settings.secure_cookies:
        problems.append("生产环境必须使用安全 Cookie（TRACKER_SECURE_COOKIES 不能关闭）")
    if settings.debug:
        problems.append("生产环境不能开启调试模式（TRACKER_DEBUG）")
    if not settings.allowed_hosts:
        problems.append("请设置 TRACKER_ALLOWED_HOSTS（允许访问的主机名，逗号分隔）")
    if has_demo_accounts:
        problems.append("数据库中存在演示账号，生产环境拒绝启动（请使用正式数据库）")
    if settings.smtp_url and not _smtp_is_encrypted(settings.smtp_url):
        problems.append("发信服务器必须使用加密连接（smtps:// 或 smtp://…?starttls=1）")
    if settings.database_url.startswith("sqlite") and ":memory:" in settings.database_url:
        problems.append("生产环境不能使用内存数据库")
    return problems


def _smtp_is_encrypted(url: str) -> bool:
    lowered = url.lower()
    return lowered.startswith("smtps://") or "starttls=1" in lowered or "starttls=true" in lowered


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
