"""Every setting the service reads from the environment, with its safe default.

Policy values (``POLICY_<NAME>``) are read by :mod:`app.rules_engine.policy`, because they
belong to the ruleset version that decisions record.
"""

from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="postgresql://user:pass@host:port/db; unset: embedded PostgreSQL in DATA_DIR.",
    )
    data_dir: Path = Field(
        default=PROJECT_ROOT / "var",
        description="Where the embedded PostgreSQL keeps its data folder (pgdata/).",
    )
    rules_dir: Path = Field(
        default=PROJECT_ROOT / "rules", description="The rule tables and policy values."
    )
    watch_interval_seconds: float = Field(
        default=30.0, gt=0, description="How often each instance looks for due deadlines."
    )
    report_roll_interval_seconds: float = Field(
        default=300.0,
        ge=0,
        description="How often each instance rolls up the summary report's finished weeks, "
        "so that no report waits for them; 0: never (a report then rolls what it needs).",
    )
    webhook_poll_interval_seconds: float = Field(
        default=1.0,
        ge=0,
        description="How often each instance looks for webhook messages to deliver; 0: this "
        "instance delivers none (another must).",
    )
    webhook_request_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="One delivery attempt, connect to answer, may take this long; then it "
        "counts as failed and is retried.",
    )
    webhook_retry_horizon_seconds: float = Field(
        default=86_400.0,
        gt=0,
        description="A message is retried for this long after its first attempt, then given "
        "up (recorded) and the endpoint's next message follows.",
    )
    webhook_retry_base_seconds: float = Field(
        default=5.0, gt=0, description="The wait after a message's first failed attempt."
    )
    webhook_retry_max_delay_seconds: float = Field(
        default=3_600.0,
        gt=0,
        description="The longest wait between two attempts; waits double up to it.",
    )
    db_pool_size: int = Field(default=10, ge=1, description="Connections each process keeps.")
    db_max_overflow: int = Field(default=10, ge=0, description="Extra connections under load.")
    # Without these a database that stops answering (a hung host, a partition) holds every
    # request until the client gives up; with them each wait ends in a 503 the client can
    # retry. A request waits at most pool + connect + a few statement timeouts.
    db_connect_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Give up opening a database connection after this long."
    )
    db_statement_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Give up on one database statement after this long."
    )
    db_pool_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Give up waiting for a free pooled connection after this."
    )
    api_key_cache_seconds: float = Field(
        default=30.0,
        ge=0,
        description="How long a process trusts a key it has looked up; a key revoked in the "
        "database is refused within this time. 0 looks the key up on every request.",
    )
    api_key_last_used_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often each instance writes when the keys it served were last used; "
        "a key's row is written at most about once in this time, whatever the traffic.",
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Larger request bodies are refused with 413."
    )
    max_batch_body_bytes: int = Field(
        default=8_388_608,
        ge=1024,
        description="The body limit of POST /v1/payment-records: 10,000 records are about 1.5 "
        "to 3.5 MB of JSON.",
    )
    log_level: str = Field(default="INFO", description="Python logging level.")
    shutdown_grace_seconds: int = Field(
        default=30,
        ge=1,
        description="On SIGTERM, how long in-flight requests may finish; a supervisor's own "
        "stop timeout must be longer (compose.yaml's stop_grace_period is this plus 15 s).",
    )
    body_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A request body not fully received this long after the request began is "
        "cut off with 408, so a client that trickles its body cannot hold a worker.",
    )
    rate_limit_per_minute: int = Field(
        default=6000,
        ge=0,
        description="Requests each API key may make per minute, counted in each process "
        "separately; more get 429 with Retry-After. 0: no limit.",
    )
    idempotency_retention_hours: float = Field(
        default=24.0,
        gt=0,
        description="How long a POST's Idempotency-Key replays its first answer; older records "
        "are swept, and a key sent again after this is a fresh request.",
    )
    public_api_docs: bool = Field(
        default=True,
        description="Serve the API description at /openapi.json and Swagger UI at /docs to "
        "anyone, without a key; false: both are 404.",
    )
    problem_type_base: str | None = Field(
        default=None,
        description="What a problem's type URI starts with, the slug following it, e.g. "
        "https://disputes.example.com/problems/; unset: the request's own base URL + "
        "problems/, this service's own pages of the problem types.",
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None,
        description="An OTLP/HTTP collector (e.g. http://collector:4318): when set, every "
        "request and SQL statement is traced there; unset, nothing is loaded or exported.",
    )

    @field_validator("problem_type_base")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is not None and not urlsplit(value).scheme:
            raise ValueError("must be an absolute URI, such as https://example.com/problems/")
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
