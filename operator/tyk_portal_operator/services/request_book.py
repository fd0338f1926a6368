"""Every request the operator serves, as a small record kept current from the request watch.

The book answers, without API reads: which requests a change to a namespace, app, catalogue,
product or plan affects; which requests still refer to a product or plan (deletion waits while
they do); which have a key in Tyk through a provider (bulk key checks, provider deletion); and an
app's credentials (its status and the metrics).

It holds a few short fields per request, never whole objects: memory grows by a small constant
per request, and nothing per request grows with the number of other objects.

Fed by the operator's request watch: its listings and watch events. A listing that no longer shows
a request (deleted while the watch was away) forgets it.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..core.conditions import Reason, ready_condition
from .keys import IssuedKey

__all__ = ["APP_CREDENTIAL_FIELDS", "RequestBook", "RequestRecord", "request_record"]

ObjectKey = tuple[str, str]
Dependency = tuple[str, str, str]  # (kind, namespace, name); kind "Namespace" has namespace ""

# The fields of a credential an app's status lists (AppCredential).
APP_CREDENTIAL_FIELDS = ("request", "secretName", "products", "plan", "type", "ready", "reason", "expiresAt")
_ISSUED_REASONS = (str(Reason.CREDENTIAL_ISSUED), str(Reason.SUSPENDED))


def _s(text: Any) -> str:
    # Namespaces, app, plan and provider names repeat across thousands of records: keep one copy.
    return sys.intern(str(text or ""))


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request, reduced to what the operator looks up across requests and what an app's status
    and the metrics say about its credential. References are kept as interned "namespace/name"
    strings (shared by every record that names the same object); the dependencies are derived."""

    key: ObjectKey  # (namespace, name): one tuple, shared by the book's indexes
    uid: str
    app: str
    catalogue: str  # "namespace/name"
    plan_ref: str  # "namespace/name"
    product_refs: tuple[str, ...]  # "namespace/name" each
    provider: str | None
    policies: tuple[str, ...]
    # Issued (or suspended) at its current generation and not being deleted.
    issued: bool
    custom_secret_name: str | None  # None: the default "<name>-credentials"
    type: str
    ready_status: str  # "True", "False" or "Unknown"
    reason: str | None
    expires_at: str | None  # the credential's own expiry (a next rotation is not an expiry)

    @property
    def namespace(self) -> str:
        return self.key[0]

    @property
    def name(self) -> str:
        return self.key[1]

    @property
    def ready(self) -> bool:
        return self.ready_status == "True"

    @property
    def secret_name(self) -> str:
        return self.custom_secret_name or f"{self.name}-credentials"

    @property
    def plan(self) -> str:
        return _name_of(self.plan_ref)

    @property
    def products(self) -> tuple[str, ...]:
        return tuple(_name_of(ref) for ref in self.product_refs)

    @property
    def dependencies(self) -> frozenset[Dependency]:
        return frozenset(
            {
                ("Namespace", "", self.namespace),
                ("ConsumerApp", self.namespace, self.app),
                ("Catalogue", *_split(self.catalogue)),
                ("Plan", *_split(self.plan_ref)),
                *(("APIProduct", *_split(ref)) for ref in self.product_refs),
            }
        )

    def issued_key(self) -> IssuedKey:
        return IssuedKey(
            self.namespace, self.name, self.uid, self.policies, self.issued, credential_type=self.type
        )

    def app_entry(self) -> dict[str, Any]:
        """The entry in the app's `status.credentials` (unset fields left out)."""
        values = {
            "request": self.name,
            "secretName": self.secret_name,
            "products": list(self.products),
            "plan": self.plan,
            "type": self.type,
            "ready": self.ready,
            "reason": self.reason,
            "expiresAt": self.expires_at,
        }
        return {k: values[k] for k in APP_CREDENTIAL_FIELDS if values[k] is not None}


def _split(ref: str) -> tuple[str, str]:
    namespace, _, name = ref.partition("/")
    return namespace, name


def _name_of(ref: str) -> str:
    return ref.partition("/")[2]


def _ref(ref: Any, home: str) -> str:
    ref = ref if isinstance(ref, Mapping) else {}
    return _s(f"{ref.get('namespace') or home}/{ref.get('name') or ''}")


def request_record(body: Mapping[str, Any]) -> RequestRecord:
    """A request's record from its body as the API serves it (pure)."""
    metadata = body.get("metadata") or {}
    spec, status = body.get("spec") or {}, body.get("status") or {}
    namespace, name = _s(metadata.get("namespace")), str(metadata.get("name", ""))
    ready = ready_condition(body)
    reason = ready.get("reason")
    provider = status.get("provider")
    secret_name = str(status.get("secretName") or spec.get("secretName") or "")
    return RequestRecord(
        key=(namespace, name),
        uid=str(metadata.get("uid", "")),
        app=_s((spec.get("appRef") or {}).get("name")),
        catalogue=_ref(spec.get("catalogueRef"), namespace),
        plan_ref=_ref(spec.get("planRef"), namespace),
        product_refs=tuple(_ref(ref, namespace) for ref in spec.get("products") or []),
        provider=_s(provider) if provider else None,
        policies=tuple(_s(p) for p in status.get("policies") or ()),
        issued=reason in _ISSUED_REASONS and not metadata.get("deletionTimestamp"),
        custom_secret_name=None if secret_name in ("", f"{name}-credentials") else secret_name,
        type=_s(spec.get("credentialType") or "AuthToken"),
        ready_status=_s(ready.get("status") or "Unknown"),
        reason=_s(reason) if reason else None,
        expires_at=status.get("expiresAt"),
    )


class RequestBook:
    """The records of every request in the operator's namespaces, with lookups by what they use."""

    def __init__(self) -> None:
        self._records: dict[ObjectKey, RequestRecord] = {}
        self._dependents: dict[Dependency, set[ObjectKey]] = defaultdict(set)
        self._by_provider: dict[str, set[ObjectKey]] = defaultdict(set)

    def __len__(self) -> int:
        return len(self._records)

    # ----- fed by the request watch (and the listing at start-up) ---------------------------------
    def observe(self, body: Mapping[str, Any]) -> RequestRecord:
        """Record a request as a watch event shows it."""
        record = request_record(body)
        self._put(record)
        return record

    def forget(self, namespace: str, name: str) -> None:
        """Drop a deleted request."""
        key = (namespace, name)
        old = self._records.pop(key, None)
        if old is not None:
            self._unlink(old)

    def _put(self, record: RequestRecord) -> None:
        old = self._records.get(record.key)
        if old == record:
            return
        if old is not None:
            self._unlink(old)
            del self._records[old.key]  # the dict would keep the old key tuple besides the new one
        self._records[record.key] = record
        for dependency in record.dependencies:
            self._dependents[dependency].add(record.key)
        if record.provider:
            self._by_provider[record.provider].add(record.key)

    def _unlink(self, record: RequestRecord) -> None:
        for dependency in record.dependencies:
            _discard(self._dependents, dependency, record.key)
        if record.provider:
            _discard(self._by_provider, record.provider, record.key)

    # ----- lookups ---------------------------------------------------------------------------------
    def get(self, namespace: str, name: str) -> RequestRecord | None:
        return self._records.get((namespace, name))

    def dependents(self, dependency: Dependency) -> list[ObjectKey]:
        """The requests that refer to this object (for a Namespace: the requests in it)."""
        return sorted(self._dependents.get(dependency, ()))

    def referrers(self, kind: str, namespace: str, name: str) -> list[str]:
        """Who refers to a product or plan, as "ProvisioningRequest ns/name"."""
        return [f"ProvisioningRequest {ns}/{n}" for ns, n in self.dependents((kind, namespace, name))]

    def keys_through(self, provider: str) -> list[IssuedKey]:
        """Every request with a key in Tyk through this provider, as its status says."""
        return [self._records[key].issued_key() for key in sorted(self._by_provider.get(provider, ()))]

    def credentials_of(self, namespace: str, app: str) -> list[RequestRecord]:
        """An app's credentials, by request name."""
        keys = self.dependents(("ConsumerApp", namespace, app))
        return [self._records[key] for key in keys]

    def records(self) -> Iterable[RequestRecord]:
        return self._records.values()

    def __iter__(self) -> Iterator[ObjectKey]:
        """The keys of every request in the book."""
        return iter(self._records)


def _discard(index: dict[Any, set[ObjectKey]], at: Any, key: ObjectKey) -> None:
    members = index.get(at)
    if members is not None:
        members.discard(key)
        if not members:
            del index[at]
