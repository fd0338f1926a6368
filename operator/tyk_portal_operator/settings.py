"""Operator settings, read once at start-up from environment variables (prefix TYK_PORTAL_).

Validated with pydantic-settings: a bad value stops the operator with one line naming the
variable and the expected form (`SettingsError`). Durations are seconds, as a plain number (`5`,
`0.5`) or with a unit suffix (`500ms`, `5s`, `2m`, `1h`, `1h30m`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources import EnvSettingsSource

__all__ = ["ENV_PREFIX", "OperatorSettings", "SettingsError", "parse_seconds"]

ENV_PREFIX = "TYK_PORTAL_"
DURATION_FORM = "seconds as a number (5, 0.5) or with a unit (500ms, 5s, 2m, 1h, 1h30m)"
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


class SettingsError(ValueError):
    """Invalid settings; `str()` is one line naming each variable and the expected form."""


def parse_seconds(value: Any) -> float:
    """A duration in seconds from a number, a numeric string or a string with unit suffixes.

    Raises:
        ValueError: when the value is not a duration.
    """
    if isinstance(value, bool):
        raise ValueError("not a duration")
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().lower()
    try:
        return float(text)
    except ValueError:
        pass
    if not text or _PART.sub("", text):
        raise ValueError("not a duration")
    return sum(float(amount) * _UNITS[unit] for amount, unit in _PART.findall(text))


def _whole_seconds(value: Any) -> int:
    seconds = parse_seconds(value)
    if seconds != int(seconds):
        raise ValueError("not a whole number of seconds")
    return int(seconds)


Seconds = Annotated[float, BeforeValidator(parse_seconds), Field(json_schema_extra={"form": DURATION_FORM})]
WholeSeconds = Annotated[
    int, BeforeValidator(_whole_seconds), Field(json_schema_extra={"form": DURATION_FORM})
]


class _MappingEnvSource(EnvSettingsSource):
    """The environment source of pydantic-settings, reading a given mapping instead of os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {key.lower(): value for key, value in self._environ.items()}


class OperatorSettings(BaseSettings):
    """Tunables; production defaults, lowered by tests through the environment.

    `OperatorSettings(...)` gives the defaults plus the arguments (the environment is read only by
    `from_env`), so tests and services can build settings without side effects.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, case_sensitive=False, frozen=True, extra="ignore"
    )

    # First delay before retrying a transient failure; doubles per attempt up to max_retry_delay.
    retry_delay: Seconds = Field(default=5.0, gt=0)
    max_retry_delay: Seconds = Field(default=300.0, gt=0)
    # How often objects that need a person's fix (Stalled) are re-examined.
    stalled_retry_interval: Seconds = Field(default=300.0, gt=0)
    # How often an unreachable or misconfigured TykProvider is re-checked.
    provider_retry_interval: Seconds = Field(default=15.0, gt=0)
    # Drift resync interval when a TykProvider does not set spec.resyncInterval.
    default_resync_interval: Seconds = Field(default=300.0, gt=0)
    # How often ConsumerApp and Catalogue statuses are recomputed (no Tyk calls, writes only on change).
    credential_check_interval: Seconds = Field(default=30.0, gt=0)
    # Issued requests reconciled in full per provider resync, in turn (their Secret, and their key
    # where Tyk cannot list keys in bulk).
    key_check_budget: int = Field(default=100, ge=0, le=100000)
    # Tyk HTTP client.
    tyk_timeout: Seconds = Field(default=10.0, gt=0)
    tyk_retries: int = Field(default=3, ge=0, le=100)
    tyk_backoff: Seconds = Field(default=0.5, ge=0)
    # kopf watch server timeout (seconds); short in tests so restarts are quick.
    watch_server_timeout: WholeSeconds = Field(default=300, gt=0)
    # The TykProviders this installation manages: those whose spec.providerClass equals this ("" =
    # providers without a class). Installations with different classes never touch each other's.
    provider_class: str = Field(default="", max_length=63, pattern=r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$")
    # The namespaces this installation serves, as kopf `--namespace` patterns separated by ";" ("" =
    # cluster-wide). `tyk-portal-operator run -n` sets it; set it too when starting with `kopf run`.
    namespaces: str = Field(default="", max_length=4096)
    # When an object's namespace is being deleted and its TykProvider is not Ready, deletion waits
    # this long (from the namespace's deletion) for Tyk, then completes and reports what was left.
    namespace_deletion_grace: Seconds = Field(default=300.0, ge=0)

    @model_validator(mode="after")
    def _cap_above_first_delay(self) -> OperatorSettings:
        if self.max_retry_delay < self.retry_delay:
            raise ValueError(
                f"{ENV_PREFIX}MAX_RETRY_DELAY ({self.max_retry_delay:g}) must not be below "
                f"{ENV_PREFIX}RETRY_DELAY ({self.retry_delay:g})"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OperatorSettings:
        """Build settings from TYK_PORTAL_<FIELD> variables (upper-case field names).

        Raises:
            SettingsError: naming each invalid variable, its value and the expected form.
        """
        env = os.environ if environ is None else environ
        values = _MappingEnvSource(cls, env)()
        if "provider_class" in values and isinstance(values["provider_class"], str):
            values["provider_class"] = values["provider_class"].strip()
        try:
            return cls(**values)
        except ValidationError as exc:
            raise SettingsError(_describe(exc, env)) from None

    @property
    def namespace_patterns(self) -> list[str]:
        """`namespaces` as a list of kopf patterns (empty: cluster-wide)."""
        return [p.strip() for p in self.namespaces.split(";") if p.strip()]

    def backoff(self, retry: int) -> float:
        """Delay before retry number `retry` (0-based)."""
        return float(min(self.max_retry_delay, self.retry_delay * (2 ** min(retry, 16))))

    def summary(self) -> dict[str, float | int | str]:
        """The settings as variable name -> value, for the start-up log line."""
        return {f"{ENV_PREFIX}{name.upper()}": value for name, value in self.model_dump().items()}


def _expected(field: FieldInfo) -> str:
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    form = str(extra.get("form") or ("an integer" if field.annotation is int else "text"))
    bounds = []
    for rule in field.metadata:
        for attr, words in (("gt", "above"), ("ge", "at least"), ("lt", "below"), ("le", "at most")):
            limit = getattr(rule, attr, None)
            if limit is not None:
                bounds.append(f"{words} {limit:g}" if isinstance(limit, int | float) else f"{words} {limit}")
        if getattr(rule, "pattern", None):
            bounds.append("lower-case letters, digits, '-' and '.'")
        if getattr(rule, "max_length", None):
            bounds.append(f"at most {rule.max_length} characters")
    return form + (f", {' and '.join(bounds)}" if bounds else "")


def _describe(exc: ValidationError, env: Mapping[str, str]) -> str:
    problems = []
    lowered = {key.upper(): value for key, value in env.items()}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        field = OperatorSettings.model_fields.get(name)
        if field is None:  # a check across fields: its message names the variables
            problems.append(str(error.get("ctx", {}).get("error") or error["msg"]))
            continue
        variable = f"{ENV_PREFIX}{name.upper()}"
        problems.append(f"{variable}={lowered.get(variable, '')!r}: expected {_expected(field)}")
    return "invalid setting: " + "; ".join(problems)
