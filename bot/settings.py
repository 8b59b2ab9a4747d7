"""Settings of the gateway and the launcher: one object per process, from the environment and .env.

Every field is documented in `.env.example` (a test checks it). Relative paths are taken from
the repository root, so the launcher, the tests and `uvicorn` agree wherever they are started.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseSettings, root_validator, validator

from bot.api.client_address import parse_trusted_proxies

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET_KEY = "dev-only-secret-change-me"
DEVELOPMENT = "development"
DEFAULT_RETENTION_DAYS = 180


class Settings(BaseSettings):
    app_env: str = DEVELOPMENT
    secret_key: str = DEFAULT_SECRET_KEY
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    rasa_url: str = "http://127.0.0.1:5005"
    # Token of Rasa's HTTP API (parse, status, trackers); the launcher makes a new one at
    # every start and hands it to Rasa and the gateway. Set it only for a Rasa run by hand.
    rasa_token: str = ""
    # Requests carrying this in the X-Local-Tool-Token header are not rate limited: tools of
    # the machine's owner (`make bench`) that speak for many people. The launcher makes a new
    # one at every start, writes it to var/run/stack.json (owner only) and gives it to the
    # gateway; empty: no exemption.
    local_tool_token: str = ""
    action_server_url: str = "http://127.0.0.1:5055"
    # Action servers the launcher starts, at ACTION_SERVER_URL's port and the ports after it;
    # Rasa process i calls action server i mod ACTION_SERVERS.
    action_servers: int = 1
    # 2.0 leaves room on a busy two-core machine for the fallback to arrive within 3 s.
    rasa_timeout: float = 2.0
    # Rasa processes (each takes the port after the previous one's, from RASA_URL's): a
    # Rasa process works on one core, so a second one uses the second core.
    rasa_processes: int = 2
    # Messages each Rasa process is given at once; the rest wait in line in the gateway.
    rasa_concurrency: int = 2
    # Beyond one machine (docs/deploy.md). Unset: SQLite files and in-process state, as on one
    # machine. Set: Rasa keeps trackers in PostgreSQL and locks conversations in Redis, the
    # conversation log lives in PostgreSQL, and the WeChat bridge's de-duplication, late
    # answers and per-user memory, the rate limits and the console's sign-in throttle live in
    # Redis, so any worker on any machine can serve any message.
    redis_url: str = ""
    database_url: str = ""
    # Gateway worker processes (uvicorn --workers); more than 1 needs REDIS_URL, since the
    # WeChat bridge and the limits must be shared between them.
    gateway_workers: int = 1
    # Turns after which a conversation starts a new Rasa session (slots carried over; 0:
    # never). Rasa replays the whole session every turn, g ms more per turn, and a new session
    # costs one extra call of c ms: every N = sqrt(2c/g) turns is cheapest on average
    # (measured on a 2-core machine: g = 1.9 ms, c = 38 ms, so N = 6).
    rasa_session_turns: int = 6
    knowledge_db: Path = Path("build/knowledge.db")
    # The Rasa model the launcher's Rasa servers load, and the one a retrain replaces.
    rasa_model: Path = Path("models/assistant.tar.gz")
    decision_model: Path = Path("models/decision.json")
    conversation_db: Path = Path("var/conversations.db")
    log_dir: Path = Path("var/logs")
    rasa_tracker_db: Path = Path("var/rasa_tracker.db")
    # Days conversation text is kept (conversation log, Rasa's trackers); older turns are
    # deleted daily by the gateway and by `python -m bot purge` (bot/chat/retention.py). Stated to
    # users on the web page and in the WeChat welcome.
    retention_days: int = DEFAULT_RETENTION_DAYS
    # Retrain reports and candidate models (`python -m bot retrain`, the console's button).
    retrain_dir: Path = Path("var/retrain")
    # Share of each label's reviewed questions held back as the "real questions" check set
    # of a retrain, never trained on (bot/console/review.py): 0.2 holds back the 5th, 10th, …
    review_check_share: float = 0.2
    # Messages a minute per conversation (POST /api/chat) and per WeChat user; 0: no limit.
    # A person reads each answer before asking again: 20 leaves room for quick button taps.
    rate_limit_per_minute: int = 20
    # Messages a minute per client address on POST /api/chat; 0: no limit. Several people may
    # share one address (an office, a school, a carrier's NAT): 120 is six of them at the
    # conversation limit, or dozens asking at a reading pace, yet one address alone takes at
    # most 2 a second of the ~30 the stack answers on two cores (docs/benchmarks.md).
    rate_limit_per_address_per_minute: int = 120
    # Seconds the gateway keeps an idle HTTP connection open (uvicorn's default is 5). Longer
    # than a person's reading pause and than the 60 s that proxies and load balancers in front
    # keep idle connections, so it is always the client that closes an idle connection: a
    # gateway closing one in the instant a request arrives on it breaks that request
    # (tests/bench/keep_alive.py: 2 and 10 of 1,600 requests broken at 5 s in two runs, 0 at 75 s).
    gateway_keep_alive_seconds: int = 75
    # Proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated);
    # empty: nobody's, the client address is the socket peer. Also given to uvicorn.
    trusted_proxies: str = ""
    wechat_token: str = ""
    wechat_app_id: str = ""
    wechat_encoding_aes_key: str = ""
    wechat_app_secret: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com"

    class Config:
        env_file = REPO_ROOT / ".env"
        env_file_encoding = "utf-8"

        @classmethod
        def customise_sources(cls, init_settings, env_settings, file_secret_settings):
            # pydantic v1 reads env_file through python-dotenv, which is not a dependency;
            # read the file here instead. Precedence: arguments, environment, .env.
            env_file, env_settings.env_file = env_settings.env_file, None

            def dotenv_settings(settings: BaseSettings) -> dict[str, Any]:
                return _from_env_file(settings, env_file, env_settings.env_file_encoding)

            return init_settings, env_settings, dotenv_settings, file_secret_settings

    @validator("secret_key")
    def _empty_means_default(cls, value: str) -> str:
        # `SECRET_KEY=` copied from .env.example means "not set".
        return value or DEFAULT_SECRET_KEY

    @validator(
        "knowledge_db", "decision_model", "conversation_db", "log_dir", "rasa_tracker_db",
        "retrain_dir", "rasa_model",
    )
    def _from_repo_root(cls, value: Path) -> Path:
        return value if value.is_absolute() else REPO_ROOT / value

    @validator("rasa_url", "action_server_url", "wechat_api_base")
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @validator("rasa_session_turns")
    def _not_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must be 0 (never) or more")
        return value

    @validator("gateway_keep_alive_seconds")
    def _keep_alive_positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be 1 or more")
        return value

    @validator("rate_limit_per_minute", "rate_limit_per_address_per_minute")
    def _limit_not_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must be 0 (no limit) or more")
        return value

    @validator("trusted_proxies")
    def _proxies_are_addresses(cls, value: str) -> str:
        # A typo would silently trust nobody (or the wrong network): refuse it at start.
        networks = parse_trusted_proxies(value)  # raises ValueError
        return ",".join(str(network) for network in networks)

    @validator("review_check_share")
    def _a_share(cls, value: float) -> float:
        if not 0 <= value < 1:
            raise ValueError("must be at least 0 and below 1")
        return value

    @validator("retention_days")
    def _keep_at_least_a_day(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be 1 or more days")
        return value

    @validator("rasa_processes", "rasa_concurrency", "action_servers", "gateway_workers")
    def _at_least_one(cls, value: int) -> int:
        if not 1 <= value <= 16:
            raise ValueError("must be between 1 and 16")
        return value

    @property
    def rasa_urls(self) -> list[str]:
        """The URL of every Rasa process: RASA_URL, then the ports after it."""
        parts = urlsplit(self.rasa_url)
        first = parts.port or 5005
        host = parts.hostname or "127.0.0.1"
        return [
            urlunsplit((parts.scheme, f"{host}:{first + i}", parts.path, "", ""))
            for i in range(self.rasa_processes)
        ]

    @validator("rasa_timeout")
    def _answer_within_three_seconds(cls, value: float) -> float:
        # The user must get a reply (real or fallback) within 3 s; leave room for our own work.
        if not 0 < value <= 2.8:
            raise ValueError("RASA_TIMEOUT must be between 0 and 2.8 seconds")
        return value

    @root_validator(skip_on_failure=True)
    def _refuse_default_secret(cls, values: dict) -> dict:
        if values.get("app_env") != DEVELOPMENT:
            secret = values.get("secret_key") or ""
            if secret == DEFAULT_SECRET_KEY or len(secret) < 32:
                raise ValueError(
                    "SECRET_KEY must be set to a random value of at least 32 characters "
                    "when APP_ENV is not development "
                    "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
        return values


def read_env_file(path: str | os.PathLike, encoding: str | None = "utf-8") -> dict[str, str]:
    """`NAME=value` lines of a .env file (lower-cased names); comments, blanks and `export `
    ignored, quotes removed, ` # comment` after an unquoted value dropped."""
    values: dict[str, str] = {}
    for raw in Path(path).read_text(encoding=encoding or "utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        name = name.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].rstrip()
        values[name.lower()] = value
    return values


def _from_env_file(settings: BaseSettings, env_file, encoding: str | None) -> dict[str, Any]:
    if env_file is None or not Path(env_file).is_file():
        return {}
    found = read_env_file(env_file, encoding)
    values: dict[str, Any] = {}
    for field in settings.__fields__.values():
        for env_name in field.field_info.extra.get("env_names", ()):
            if env_name.lower() in found:
                values[field.alias] = found[env_name.lower()]
                break
    return values


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def tracker_db(settings: Settings, index: int) -> Path:
    """Rasa process `index`'s tracker file: one file, RASA_TRACKER_DB, for every process, so
    that while one restarts another can carry its conversations on with their context
    (write-ahead logging keeps the two from waiting on each other: rasa_plugins). The launcher
    gives it to Rasa; retention purges it."""
    return settings.rasa_tracker_db
