"""In-memory state and pure behaviour of the emulated Tyk Dashboard (+ Gateway sessions).

Nothing here does I/O: the aiohttp handlers in ``dashboard.py`` / ``gateway.py`` translate HTTP to
calls on :class:`TykState` and map :class:`TykError` to responses. Choices where the real
product's behaviour is not documented are marked ``[choice]``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]

POLICY_ID_RE = re.compile(r"^[A-Za-z0-9._~-]*$")
DEFAULT_PAGE_SIZE = 10

# Types the Dashboard's Go structs decode; a mismatch is a JSON decode error -> 403 "Request body malformed."
_POLICY_INT_FIELDS = (
    "quota_max",
    "quota_renewal_rate",
    "key_expires_in",
    "throttle_retry_limit",
    "max_query_depth",
)
_POLICY_NUM_FIELDS = ("rate", "per", "throttle_interval")
_POLICY_STR_FIELDS = ("_id", "id", "name", "org_id", "state", "last_updated", "date_created")
_POLICY_BOOL_FIELDS = ("active", "is_inactive", "hmac_enabled", "enable_http_signature_validation")
_SESSION_INT_FIELDS = (
    "quota_max",
    "quota_renewal_rate",
    "quota_remaining",
    "quota_renews",
    "expires",
    "throttle_retry_limit",
    "max_query_depth",
    "data_expires",
    "last_check",
    "id_extractor_deadline",
)
_SESSION_NUM_FIELDS = ("rate", "per", "allowance", "throttle_interval")
_SESSION_STR_FIELDS = ("alias", "org_id", "apply_policy_id", "certificate", "oauth_client_id")
_SESSION_BOOL_FIELDS = ("is_inactive", "hmac_enabled", "enable_detailed_recording")


class TykError(Exception):
    """An error answer: HTTP status plus the Dashboard's ``Message`` text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class MalformedBody(TykError):
    def __init__(self) -> None:
        super().__init__(403, "Request body malformed.")


def new_object_id() -> str:
    """A fresh 24-hex Mongo-style ObjectId (time prefix + randomness)."""
    return f"{int(time.time()):08x}{secrets.token_hex(8)}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_types(
    body: JSON,
    ints: Iterable[str],
    nums: Iterable[str],
    strs: Iterable[str],
    bools: Iterable[str],
    maps: Iterable[str],
    str_lists: Iterable[str],
) -> None:
    """Reject what Go's encoding/json would refuse to decode (floats for ints, wrong kinds)."""
    checks: list[tuple[Iterable[str], Any]] = [
        (ints, _is_int),
        (nums, _is_num),
        (strs, lambda v: isinstance(v, str)),
        (bools, lambda v: isinstance(v, bool)),
        (maps, lambda v: isinstance(v, dict)),
        (str_lists, lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v)),
    ]
    for names, ok in checks:
        for name in names:
            if name in body and body[name] is not None and not ok(body[name]):
                raise MalformedBody()


def validate_policy_body(body: Any) -> JSON:
    if not isinstance(body, dict):
        raise MalformedBody()
    _check_types(
        body,
        _POLICY_INT_FIELDS,
        _POLICY_NUM_FIELDS,
        _POLICY_STR_FIELDS,
        _POLICY_BOOL_FIELDS,
        ("access_rights", "meta_data", "partitions"),
        ("tags",),
    )
    partitions = body.get("partitions")
    if isinstance(partitions, dict) and any(not isinstance(v, bool) for v in partitions.values()):
        raise MalformedBody()
    for api_id, access in (body.get("access_rights") or {}).items():
        if not isinstance(access, dict) or not isinstance(api_id, str):
            raise MalformedBody()
    if not POLICY_ID_RE.match(body.get("id") or ""):
        # [choice] exact 5.13 wording unknown; 400 with the documented "Invalid policy ID." prefix.
        raise TykError(
            400,
            "Invalid policy ID. Policy IDs may only contain letters, digits and the characters . _ ~ -",
        )
    return body


def validate_session_body(body: Any) -> JSON:
    if not isinstance(body, dict):
        raise MalformedBody()
    _check_types(
        body,
        _SESSION_INT_FIELDS,
        _SESSION_NUM_FIELDS,
        _SESSION_STR_FIELDS,
        _SESSION_BOOL_FIELDS,
        ("access_rights", "meta_data", "jwt_data"),
        ("apply_policies", "tags", "mtls_static_certificate_bindings"),
    )
    for api_id, access in (body.get("access_rights") or {}).items():
        if not isinstance(access, dict) or not isinstance(api_id, str):
            raise MalformedBody()
    return body


def paginate(items: list[Any], p: str | None, page_size: int = DEFAULT_PAGE_SIZE) -> tuple[list[Any], int]:
    """Tyk pagination: negative ``p`` = everything; missing = first page; pages = page count."""
    pages = max(1, -(-len(items) // page_size)) if items else 0
    try:
        page = int(p) if p not in (None, "") else 1
    except ValueError:
        page = 1
    if page < 0:
        return items, pages
    page = max(page, 1)
    start = (page - 1) * page_size
    return items[start : start + page_size], pages


def omit_zero(data: JSON) -> JSON:
    """Drop zero-valued top-level fields, as current Gateways do (Go ``omitempty``)."""
    return {k: v for k, v in data.items() if v not in (0, 0.0, "", False, None, [], {}) or k == "org_id"}


# ---------------------------------------------------------------------------------------------------
# Policy application (the Gateway's apply step, simplified)


@dataclass
class Applied:
    """Result of applying policies to a session."""

    session: JSON
    policies: list[JSON] = field(default_factory=list)
    key_expires_in: int = 0


def _more_permissive_rate(rate: float, per: float, cur_rate: float, cur_per: float) -> bool:
    if cur_rate <= 0 and cur_per <= 0 and (cur_rate, cur_per) == (0, 0):
        return True  # nothing set yet
    if rate < 0:
        return cur_rate >= 0  # -1 = unlimited beats any finite rate
    if cur_rate < 0:
        return False
    if per <= 0 or cur_per <= 0:
        return rate > cur_rate
    return rate / per > cur_rate / cur_per


def _more_permissive_quota(value: int, current: int, initialised: bool) -> bool:
    if not initialised:
        return True
    if value < 0:
        return current >= 0
    if current < 0:
        return False
    return value > current


def _merge_access(into: JSON, api_id: str, access: JSON) -> None:
    cur = into.get(api_id)
    new = copy.deepcopy(access)
    new.setdefault("api_id", api_id)
    if cur is None:
        into[api_id] = new
        return
    versions = list(cur.get("versions") or [])
    versions += [v for v in new.get("versions") or [] if v not in versions]
    cur["versions"] = versions
    cur_urls = cur.get("allowed_urls") or []
    new_urls = new.get("allowed_urls") or []
    if not cur_urls or not new_urls:
        cur["allowed_urls"] = []  # an empty list already means the whole API: most permissive wins
    else:
        by_url = {u.get("url"): list(u.get("methods") or []) for u in cur_urls}
        for u in new_urls:
            methods = by_url.setdefault(u.get("url"), [])
            methods += [m for m in u.get("methods") or [] if m not in methods]
        cur["allowed_urls"] = [{"url": url, "methods": methods} for url, methods in by_url.items()]


def apply_policies(
    session: JSON, lookup: dict[str, JSON], org_id: str, *, request_time: bool = False
) -> Applied:
    """Apply ``session['apply_policies']`` from ``lookup`` (policy ``id`` -> policy).

    Raises :class:`TykError` with the Gateway's reason on failure (500, as the Dashboard surfaces it).
    """
    result = copy.deepcopy(session)
    ids = list(result.get("apply_policies") or [])
    if not ids and result.get("apply_policy_id"):
        ids = [result["apply_policy_id"]]
    if not ids:
        return Applied(result)
    found: list[JSON] = []
    for pid in ids:
        pol = lookup.get(pid)
        if pol is None:
            if len(ids) == 1:
                raise TykError(500, f'policy not found: "{pid}"')
            continue
        pol_org = pol.get("org_id") or org_id
        if pol_org != (result.get("org_id") or org_id):
            raise TykError(500, "attempting to apply policy from different organisation to key")
        found.append(pol)
    if not found:
        raise TykError(500, "key has no valid policies to be applied")

    def parts(pol: JSON) -> JSON:
        p = pol.get("partitions") or {}
        return {k: bool(p.get(k)) for k in ("acl", "rate_limit", "quota", "complexity", "per_api")}

    per_api = [pol for pol in found if parts(pol)["per_api"]]
    for pol in per_api:
        pp = parts(pol)
        if pp["acl"] or pp["rate_limit"] or pp["quota"] or pp["complexity"]:
            raise TykError(
                500, f"cannot apply policy {pol.get('id')} which has per_api and any of partitions set"
            )
    partitioned = [pol for pol in found if any(v for k, v in parts(pol).items() if k != "per_api")]
    if per_api and partitioned:
        raise TykError(
            500, "cannot apply multiple policies when some have per_api set and some are partitioned"
        )

    rights: JSON = {}
    any_acl = False
    rate_set = quota_set = depth_set = False
    tags = list(result.get("tags") or [])
    meta = dict(result.get("meta_data") or {})
    inactive = False
    key_expires_in = 0
    for pol in found:
        pp = parts(pol)
        if not any(pp.values()):
            pp = {"acl": True, "rate_limit": True, "quota": True, "complexity": True, "per_api": False}
        access = pol.get("access_rights") or {}
        if pp["acl"] or pp["per_api"]:
            any_acl = True
            for api_id, ar in access.items():
                _merge_access(rights, api_id, ar)
        if pp["rate_limit"]:
            rate, per = float(pol.get("rate") or 0), float(pol.get("per") or 0)
            if not rate_set or _more_permissive_rate(rate, per, result.get("rate", 0), result.get("per", 0)):
                result["rate"], result["per"] = rate, per
                result["throttle_interval"] = pol.get("throttle_interval", 0)
                result["throttle_retry_limit"] = pol.get("throttle_retry_limit", 0)
            rate_set = True
        if pp["quota"]:
            qmax = int(pol.get("quota_max") or 0)
            if _more_permissive_quota(qmax, int(result.get("quota_max", 0) or 0), quota_set):
                result["quota_max"] = qmax
                result["quota_renewal_rate"] = int(pol.get("quota_renewal_rate") or 0)
            quota_set = True
        if pp["complexity"]:
            depth = int(pol.get("max_query_depth") or 0)
            if _more_permissive_quota(depth, int(result.get("max_query_depth", 0) or 0), depth_set):
                result["max_query_depth"] = depth
            depth_set = True
        if access and (pp["rate_limit"] or pp["quota"] or pp["per_api"]):
            # Policy with its own APIs and limits: the limits are per API (set_by_policy).
            for api_id in access:
                if api_id in rights:
                    rights[api_id]["limit"] = {
                        "rate": float(pol.get("rate") or 0),
                        "per": float(pol.get("per") or 0),
                        "quota_max": int(pol.get("quota_max") or 0),
                        "quota_renewal_rate": int(pol.get("quota_renewal_rate") or 0),
                        "set_by_policy": True,
                    }
        tags += [t for t in pol.get("tags") or [] if t not in tags]
        meta.update(pol.get("meta_data") or {})
        if pol.get("is_inactive") or (request_time and pol.get("state") == "deny"):
            inactive = True
        if int(pol.get("key_expires_in") or 0) > 0:
            key_expires_in = int(pol["key_expires_in"])
    if any_acl:
        result["access_rights"] = rights
    result["tags"] = tags
    result["meta_data"] = meta
    result["is_inactive"] = inactive  # the session's own flag is ignored when policies apply
    result["apply_policies"] = ids
    return Applied(result, found, key_expires_in)


def effective_limits(session: JSON, api_id: str) -> JSON:
    """Per-API limit if a policy set one, else the session-level limits."""
    limit = ((session.get("access_rights") or {}).get(api_id) or {}).get("limit") or {}
    src = limit if limit.get("set_by_policy") else session
    return {
        "rate": src.get("rate", 0) or 0,
        "per": src.get("per", 0) or 0,
        "quota_max": src.get("quota_max", 0) or 0,
        "quota_renewal_rate": src.get("quota_renewal_rate", 0) or 0,
    }


# ---------------------------------------------------------------------------------------------------
# Stored objects


def _submitted(body: JSON) -> JSON:
    return copy.deepcopy(body)


@dataclass
class StoredKey:
    key: str  # the key as stored/accepted by the gateway (a custom id is stored exactly as given)
    token: str  # the form returned as key_id on create (token-wrapped custom id when hashing)
    key_hash: str
    session: JSON  # as stored after policy application at write time (what GET returns)
    submitted: JSON = field(default_factory=dict)  # the session as sent (what the Gateway re-applies to)
    created: float = field(default_factory=time.time)

    def request_session(self) -> JSON:
        """The session the Gateway evaluates at request time: the submitted session (policies are
        re-applied from their current state) with the expiry fixed at write time."""
        return {**self.submitted, "expires": self.session.get("expires", 0)}


@dataclass
class TykState:
    org_id: str = "org1"
    hash_keys: bool = True
    dashboard_version: str = "5.13.0"
    gateway_version: str = "v5.13.0"
    # Dashboard options that default to false in Tyk; on here, as in an installation set up for the
    # operator (tests turn them off to see the refusals).
    enable_hashed_keys_listing: bool = True
    enable_delete_key_by_hash: bool = True
    enable_update_key_by_hash: bool = True
    page_size: int = DEFAULT_PAGE_SIZE
    policies: dict[str, JSON] = field(default_factory=dict)  # by _id, insertion ordered
    apis: dict[str, JSON] = field(default_factory=dict)  # by api_id: wrapper {"api_definition":..}
    keys: dict[str, StoredKey] = field(default_factory=dict)  # by stored key
    oauth_clients: dict[str, dict[str, JSON]] = field(default_factory=dict)  # api_id -> client_id -> client
    certs: dict[str, JSON] = field(default_factory=dict)
    oauth_tokens: dict[str, Any] = field(default_factory=dict)  # access token -> oauth.OAuthToken
    oauth_token_expire: int = 3600  # the Gateway's oauth_token_expire (seconds)
    usage: dict[str, list[float]] = field(default_factory=dict)  # key -> request times (rate limiting)
    quota_used: dict[str, int] = field(default_factory=dict)
    # Open-source Gateway API (/tyk/*, see gateway_api.py): what its writes put on disk, and what it
    # loaded at its last reload. Writes are invisible to the data plane until a reload.
    policy_source: str = "file"  # tyk.conf policies.policy_source: "file" or "service" (Dashboard)
    reload_delay: float = 0.2  # seconds until a queued (non-blocking or group) reload happens
    policy_files: dict[str, JSON] = field(default_factory=dict)  # id -> <policy_path>/<id>.json
    loaded_policies: dict[str, JSON] = field(default_factory=dict)  # id -> policy loaded at last reload
    api_files: dict[str, JSON | None] = field(default_factory=dict)  # api_id -> written (None: deleted)
    reloads: int = 0
    reload_queued: bool = False
    reset_count: int = 0  # a reload queued before a reset never happens

    def reset(self) -> None:
        for store in (self.policies, self.apis, self.keys, self.oauth_clients, self.certs):
            store.clear()
        self.oauth_tokens.clear()
        self.usage.clear()
        self.quota_used.clear()
        for files in (self.policy_files, self.loaded_policies, self.api_files):
            files.clear()
        self.reloads = 0
        self.reload_queued = False
        self.reset_count += 1

    def gateway_reload(self) -> None:
        """What a Gateway reload does: load the policy files (unless policies come from the
        Dashboard) and the API definition files written since the last reload."""
        self.loaded_policies = copy.deepcopy(self.policy_files) if self.policy_source == "file" else {}
        for api_id, definition in list(self.api_files.items()):
            if definition is None:
                self.apis.pop(api_id, None)
            else:
                self.add_api(definition)
        self.api_files.clear()
        self.reloads += 1

    # -- policies ---------------------------------------------------------------------------------

    def find_policy(self, ref: str) -> JSON | None:
        if ref in self.policies:
            return self.policies[ref]
        return next((p for p in self.policies.values() if p.get("id") == ref), None)

    def gateway_policies(self) -> dict[str, JSON]:
        """What a Gateway loads: active Dashboard policies, keyed by ``id`` (the first wins on
        duplicates), and the policy files it loaded at its last reload (files carry no ``active``
        filter: the Gateway loads every file)."""
        loaded: dict[str, JSON] = {}
        for pol in self.policies.values():
            if pol.get("active") is True:
                loaded.setdefault(pol.get("id") or pol["_id"], pol)
        loaded.update(self.loaded_policies)
        return loaded

    def _check_unique_name(self, name: str, own_id: str | None) -> None:
        for pol in self.policies.values():
            if pol.get("name") == name and pol["_id"] != own_id:
                raise TykError(400, "This policy name has already been used. Enter a unique policy name.")

    def create_policy(self, body: Any) -> JSON:
        pol = copy.deepcopy(validate_policy_body(body))
        self._check_unique_name(pol.get("name", ""), None)
        oid = new_object_id()
        pol["_id"] = oid
        if not pol.get("id"):
            pol["id"] = oid
        pol["org_id"] = pol.get("org_id") or self.org_id
        pol.setdefault("state", "active")
        pol.setdefault("active", False)
        pol["date_created"] = now_iso()
        pol["last_updated"] = str(int(time.time()))
        self.policies[oid] = pol
        return pol

    def update_policy(self, ref: str, body: Any) -> JSON:
        current = self.find_policy(ref)
        if current is None:
            validate_policy_body(body)
            raise TykError(404, "Could not retrieve portal object.")
        pol = copy.deepcopy(validate_policy_body(body))
        oid = current["_id"]
        self._check_unique_name(pol.get("name", ""), oid)
        pol["_id"] = oid  # immutable
        if not pol.get("id"):
            pol["id"] = current.get("id") or oid
        pol["org_id"] = pol.get("org_id") or self.org_id
        pol.setdefault("state", "active")
        pol.setdefault("active", False)
        pol["date_created"] = current.get("date_created") or now_iso()
        pol["last_updated"] = str(int(time.time()))
        self.policies[oid] = pol
        return pol

    def delete_policy(self, ref: str) -> None:
        pol = self.find_policy(ref)
        if pol is None:
            raise TykError(404, "Could not retrieve object for deletion")
        del self.policies[pol["_id"]]

    def search_policies(self, query: dict[str, str]) -> list[JSON]:
        items = list(self.policies.values())
        q = query.get("q", "")
        if q:
            items = [
                p for p in items if q in (p.get("id"), p["_id"]) or q.lower() in p.get("name", "").lower()
            ]
        if query.get("policy_ids"):
            ids = query["policy_ids"].split(",")
            items = [p for p in items if p["_id"] in ids or p.get("id") in ids]
        if query.get("api_id"):
            apis = query["api_id"].split(",")
            items = [p for p in items if any(a in (p.get("access_rights") or {}) for a in apis)]
        if query.get("state"):
            items = [p for p in items if p.get("state", "active") == query["state"]]
        if query.get("active") in ("1", "true"):
            items = [p for p in items if p.get("active")]
        if query.get("sort") in ("name", "-name"):
            items.sort(key=lambda p: p.get("name", ""), reverse=query["sort"].startswith("-"))
        return items

    # -- apis -------------------------------------------------------------------------------------

    def find_api(self, ref: str) -> JSON | None:
        if ref in self.apis:
            return self.apis[ref]
        return next((a for a in self.apis.values() if a["api_definition"].get("id") == ref), None)

    def add_api(self, body: Any, *, replace: bool = True) -> JSON:
        if not isinstance(body, dict):
            raise MalformedBody()
        definition = body.get("api_definition", body)
        if not isinstance(definition, dict):
            raise MalformedBody()
        d = copy.deepcopy(definition)
        d["api_id"] = d.get("api_id") or secrets.token_hex(16)
        if not replace and d["api_id"] in self.apis:
            raise TykError(409, "Found API with the same ID")
        old = self.apis.get(d["api_id"])
        d["id"] = (old or {}).get("api_definition", {}).get("id") or d.get("id") or new_object_id()
        d["org_id"] = d.get("org_id") or self.org_id
        d.setdefault("name", d["api_id"])
        d.setdefault("slug", re.sub(r"[^a-z0-9-]+", "-", d["name"].lower()).strip("-"))
        proxy = d.setdefault("proxy", {})
        listen = proxy.get("listen_path") or f"/{d['slug']}/"
        proxy["listen_path"] = listen
        proxy.setdefault("target_url", "http://upstream.invalid/")
        proxy.setdefault("strip_listen_path", True)
        d.setdefault("active", True)
        d.setdefault("use_keyless", False)
        if not any(
            d.get(f)
            for f in ("use_keyless", "use_standard_auth", "enable_jwt", "use_oauth2", "use_basic_auth")
        ) and not d.get("use_mutual_tls_auth"):
            d["use_standard_auth"] = True
        for flag in (
            "use_standard_auth",
            "enable_jwt",
            "use_oauth2",
            "use_basic_auth",
            "use_mutual_tls_auth",
        ):
            d.setdefault(flag, False)
        d.setdefault("tags", [])
        d.setdefault("auth", {"auth_header_name": "Authorization"})
        now = now_iso()
        wrapper = {
            "api_definition": d,
            "api_model": {},
            "categories": list(body.get("categories") or []) if "api_definition" in body else [],
            "created_at": (old or {}).get("created_at") or now,
            "updated_at": now,
        }
        self.apis[d["api_id"]] = wrapper
        return wrapper

    def search_apis(self, query: dict[str, str]) -> list[JSON]:
        items = list(self.apis.values())
        q = query.get("q", "").lower()
        if q:
            items = [a for a in items if q in a["api_definition"].get("name", "").lower()]
        return items

    # -- keys -------------------------------------------------------------------------------------

    def hash_key(self, key: str) -> str:
        """[choice] stand-in for murmur64: 16 hex chars of SHA-256."""
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def token_for(self, raw_id: str) -> str:
        doc = json.dumps({"org": self.org_id, "id": raw_id, "h": "murmur64"}, separators=(",", ":"))
        return base64.b64encode(doc.encode()).decode()

    def generate_key(self) -> str:
        raw = secrets.token_hex(16)
        return self.token_for(raw) if self.hash_keys else f"{self.org_id}{raw}"

    def find_key(self, ref: str, hashed: bool = False) -> StoredKey | None:
        if hashed:
            return next((k for k in self.keys.values() if k.key_hash == ref), None)
        if ref in self.keys:
            return self.keys[ref]
        # the returned token form of a custom id, or the hash form returned by later GETs
        found = next((k for k in self.keys.values() if ref in (k.token, k.key_hash)), None)
        if found is None:
            # SessionDetail/RemoveSession also try the key the Gateway derives from org and id
            # (GenerateToken: the org prefix trimmed, then the org token), e.g. a certificate's key
            # addressed by the certificate's fingerprint
            derived = self._derived_key(ref)
            found = next((k for k in self.keys.values() if derived in (k.key, k.token)), None)
        return found

    def _derived_key(self, ref: str) -> str:
        raw = ref.removeprefix(self.org_id)
        return self.token_for(raw) if self.hash_keys else self.org_id + raw

    def _prepare_session(self, body: Any, *, creating: bool, existing: JSON | None = None) -> JSON:
        session = copy.deepcopy(validate_session_body(body))
        session["org_id"] = session.get("org_id") or self.org_id
        try:
            applied = apply_policies(session, self.gateway_policies(), self.org_id)
        except TykError as exc:
            verb = "create" if creating else "update"
            raise TykError(exc.status, f"Failed to {verb} key - {exc.message}") from exc
        for pol in applied.policies:
            if creating and pol.get("state") == "draft":
                # [choice] "draft: existing keys work, no new keys"; exact error unverified.
                raise TykError(400, f'Failed to create key - policy "{pol.get("id")}" is in draft state')
        out = applied.session
        if not out.get("access_rights"):
            raise TykError(400, "Failed to create key, keys must have at least one Access Rights record set.")
        if creating and applied.key_expires_in > 0 and not (out.get("expires") or 0) > 0:
            out["expires"] = int(time.time()) + applied.key_expires_in
        now = str(int(time.time()))
        out["date_created"] = (existing or {}).get("date_created") or now_iso()
        out["last_updated"] = now
        if out.get("quota_max") and "quota_remaining" not in session:
            out["quota_remaining"] = out["quota_max"]
        return out

    def create_key(self, body: Any, custom_id: str | None = None) -> tuple[StoredKey, str]:
        """Returns the stored key and the ``key_id`` to answer with (plaintext/token, once)."""
        session = self._prepare_session(body, creating=True)
        if custom_id is not None:
            if self.find_key(custom_id) is not None:
                raise TykError(400, "Failed to create key - key with given ID already exists")
            key = custom_id
            token = self.token_for(custom_id) if self.hash_keys else custom_id
            hash_input = token
        else:
            key = token = hash_input = self.generate_key()
        stored = StoredKey(
            key=key,
            token=token,
            key_hash=self.hash_key(hash_input),
            session=session,
            submitted=_submitted(body),
        )
        self.keys[key] = stored
        self.usage.pop(key, None)
        self.quota_used.pop(key, None)
        return stored, token

    def update_key(self, ref: str, body: Any, hashed: bool = False) -> StoredKey:
        stored = self.find_key(ref, hashed)
        if stored is None:
            validate_session_body(body)
            raise TykError(404, "Could not retrieve key detail.")
        stored.session = self._prepare_session(body, creating=False, existing=stored.session)
        stored.submitted = _submitted(body)
        return stored

    def delete_key(self, ref: str, hashed: bool = False) -> None:
        stored = self.find_key(ref, hashed)
        if stored is None:
            raise TykError(404, "Could not retrieve key detail.")
        del self.keys[stored.key]
        self.usage.pop(stored.key, None)
        self.quota_used.pop(stored.key, None)

    def public_key_id(self, stored: StoredKey) -> str:
        """``key_id`` on later reads: the hash when hashing is on, else the key itself."""
        return stored.key_hash if self.hash_keys else stored.key

    def key_data(self, stored: StoredKey, key_id: str | None = None) -> JSON:
        return {
            "key_id": key_id if key_id is not None else self.public_key_id(stored),
            "key_hash": stored.key_hash if self.hash_keys else "",
            "data": omit_zero(copy.deepcopy(stored.session)),
            "api_model": {},
        }

    def gateway_lookup(self, presented: str) -> StoredKey | None:
        """The Gateway accepts the stored key, or the token form of a custom id."""
        if presented in self.keys:
            return self.keys[presented]
        return next((k for k in self.keys.values() if k.token == presented), None)
