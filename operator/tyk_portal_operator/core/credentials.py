"""Building blocks of credentials: Tyk key sessions, the credential Secret, times, fingerprints.

What to do with them, and when, is decided by the lifecycle (`core/lifecycle.py`); what a credential
type puts into the Secret and into Tyk by `core/credential_types.py`. Key material enters these
functions as parameters and leaves them only inside the Secret manifest from `render_secret`, whose
`repr()` is redacted. Nothing here logs, reads the clock or draws random numbers.

Suspension. Tyk ignores a session's own `is_inactive` when policies are applied (the effective
value is the OR of the policies' flags), so a suspended request's session keeps
`is_inactive: false` and gets `expires: 1` instead: one second after the epoch, always in the past,
and constant, so a suspended key does not look drifted on every resync. Resuming restores the
credential's expiry.

Secret layout (type `Opaque`, in the request's namespace, controlled by the request):

* `data`: what the credential type renders (an AuthToken: `api-key`, and `api-key-previous` while
  a rotated-out key is still valid), plus `gateway-url` when the provider has one. Values are base64
  in `data`, never `stringData`, so the manifest compares equal with what the API server returns.
* labels: `app.kubernetes.io/managed-by`, `apiportal.dev/app`, `apiportal.dev/request`,
  `apiportal.dev/plan` (names, made into valid label values), and one
  `product.apiportal.dev/<product-name>: "true"` per product, so
  `kubectl get secrets -l product.apiportal.dev/orders` finds every credential for a product.
* annotations: `apiportal.dev/products` and `apiportal.dev/plan-ref` with the full
  `namespace/name` references (labels cannot hold a `/`), and the lifecycle's record (see
  `core/lifecycle.py`): `apiportal.dev/issued-at`, `apiportal.dev/expires-at`,
  `apiportal.dev/key-fingerprint`, `apiportal.dev/previous-key-expires-at`,
  `apiportal.dev/rotate-token`, `apiportal.dev/last-rotation`. Tyk's hash of a key is in the
  request's status, not here: it is known only once Tyk holds the key.
* Template labels and annotations (the app's `secretTemplate`, then the request's, which wins)
  are applied first. Keys in the operator's own domains (`apiportal.dev/`, `*.apiportal.dev/`)
  and `app.kubernetes.io/managed-by` are dropped from templates, so a template can neither
  override nor fake the operator's marks.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ..models import ConsumerApp, Plan, ProvisioningRequest
from ..models.base import API_GROUP, API_VERSION, SecretTemplate
from .durations import parse_duration
from .naming import MANAGED_BY, MANAGED_BY_TAG, META_MANAGED_BY, ROTATE_ANNOTATION, key_alias

__all__ = [
    "APP_LABEL",
    "CREDENTIAL_TAG",
    "DATA_API_KEY",
    "DATA_API_KEY_PREVIOUS",
    "DATA_GATEWAY_URL",
    "DEFAULT_OVERLAP_SECONDS",
    "EXPIRES_AT_ANNOTATION",
    "FINGERPRINT_ANNOTATION",
    "ISSUED_AT_ANNOTATION",
    "LAST_ROTATION_ANNOTATION",
    "MANAGED_BY_LABEL",
    "MANAGED_SESSION_FIELDS",
    "META_APP",
    "META_REQUEST",
    "META_REQUEST_UID",
    "MIN_KEY_ENTROPY_BYTES",
    "PLAN_LABEL",
    "PLAN_REF_ANNOTATION",
    "PREVIOUS_EXPIRES_ANNOTATION",
    "PRODUCTS_ANNOTATION",
    "PRODUCT_LABEL_PREFIX",
    "REQUEST_LABEL",
    "ROTATE_ANNOTATION",
    "ROTATE_TOKEN_ANNOTATION",
    "SUSPENDED_EXPIRES",
    "SecretManifest",
    "SessionOwnership",
    "credential_fingerprint",
    "decode_secret_data",
    "expiry_for",
    "format_time",
    "key_from_entropy",
    "key_session",
    "label_value",
    "merge_session_for_update",
    "overlap_seconds",
    "parse_time",
    "render_secret",
    "renew_before_seconds",
    "rotation_interval_seconds",
    "secret_owned_by",
    "session_differs",
    "session_ownership",
]

# ----- names ------------------------------------------------------------------------------------

CREDENTIAL_TAG = "apiportal:credential"
META_REQUEST = "apiportal.dev/request"
META_REQUEST_UID = "apiportal.dev/request-uid"
META_APP = "apiportal.dev/app"

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
APP_LABEL = "apiportal.dev/app"
REQUEST_LABEL = "apiportal.dev/request"
PLAN_LABEL = "apiportal.dev/plan"
PRODUCT_LABEL_PREFIX = "product.apiportal.dev/"

ISSUED_AT_ANNOTATION = "apiportal.dev/issued-at"
PREVIOUS_EXPIRES_ANNOTATION = "apiportal.dev/previous-key-expires-at"
PRODUCTS_ANNOTATION = "apiportal.dev/products"
PLAN_REF_ANNOTATION = "apiportal.dev/plan-ref"
FINGERPRINT_ANNOTATION = "apiportal.dev/key-fingerprint"
EXPIRES_AT_ANNOTATION = "apiportal.dev/expires-at"
# The apiportal.dev/rotate value the current credential answers, and when it last replaced another.
ROTATE_TOKEN_ANNOTATION = "apiportal.dev/rotate-token"
LAST_ROTATION_ANNOTATION = "apiportal.dev/last-rotation"

DATA_API_KEY = "api-key"
DATA_API_KEY_PREVIOUS = "api-key-previous"
DATA_GATEWAY_URL = "gateway-url"

DEFAULT_OVERLAP_SECONDS = 3600
SUSPENDED_EXPIRES = 1
MIN_KEY_ENTROPY_BYTES = 32

# The session fields `session_differs` compares (the rest is Tyk's or the policies').
MANAGED_SESSION_FIELDS = ("apply_policies", "alias", "org_id", "expires", "meta_data", "tags", "is_inactive")

SessionOwnership = Literal["ours", "unmarked", "foreign"]

# ----- times ------------------------------------------------------------------------------------


def _utc(moment: datetime.datetime) -> datetime.datetime:
    """The moment in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC)


def format_time(moment: datetime.datetime) -> str:
    """RFC 3339 in UTC with second precision, e.g. `2025-01-31T12:00:00Z`.

    Args:
        moment: The time (naive means UTC).
    """
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> datetime.datetime | None:
    """Parse an RFC 3339 timestamp as written in status and annotations.

    Args:
        text: The timestamp (a trailing `Z` or an offset; fractional seconds allowed).

    Returns:
        An aware UTC datetime, or None for None, empty or unparseable text.
    """
    if not text:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return _utc(parsed)


# ----- keys -------------------------------------------------------------------------------------


def key_from_entropy(entropy: bytes) -> str:
    """Turn caller-drawn random bytes into a key id (lower-case hex, safe in URLs and headers).

    Args:
        entropy: At least 32 random bytes (256 bits), e.g. from `secrets.token_bytes(32)`.

    Returns:
        The hex encoding of the bytes.

    Raises:
        ValueError: when fewer than 32 bytes are given.
    """
    if len(entropy) < MIN_KEY_ENTROPY_BYTES:
        raise ValueError(f"a key needs at least {MIN_KEY_ENTROPY_BYTES} random bytes, got {len(entropy)}")
    return entropy.hex()


def credential_fingerprint(key: str) -> str:
    """A short, non-reversible fingerprint of a key for status, events and logs.

    Args:
        key: The key.

    Returns:
        The first 12 hex digits of the key's SHA-256.
    """
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def expiry_for(plan_key_expiry_seconds: int | None, issued_at: datetime.datetime) -> int:
    """The Tyk `expires` of a key issued at a time under a plan.

    Args:
        plan_key_expiry_seconds: The plan's key lifetime in seconds (None or <= 0: never expires).
        issued_at: When the key was issued.

    Returns:
        Unix seconds at which the key expires, or 0 for never.
    """
    if not plan_key_expiry_seconds or plan_key_expiry_seconds <= 0:
        return 0
    return int(_utc(issued_at).timestamp()) + plan_key_expiry_seconds


# ----- Tyk session ------------------------------------------------------------------------------


def key_session(
    request: ProvisioningRequest,
    product_policy_ids: Sequence[str],
    plan_policy_id: str,
    org_id: str | None,
    expires_at: int,
    *,
    suspended: bool = False,
) -> dict[str, Any]:
    """The Tyk session (key body) of a request's credential.

    Args:
        request: The request.
        product_policy_ids: Policy ids of the requested products, in the request's order.
        plan_policy_id: Policy id of the plan (applied last).
        org_id: The provider's org id (None: left for Tyk to fill from the user's org).
        expires_at: Unix seconds at which the key expires, 0 for never (see `expiry_for`).
        suspended: Whether the request is suspended: the key then gets `expires: 1` (in the
            past), because Tyk ignores the session's own `is_inactive` when policies apply.

    Returns:
        The session body for `POST /api/keys/{id}` or, merged, for `PUT`.
    """
    namespace = request.namespace or ""
    session: dict[str, Any] = {
        "apply_policies": [*product_policy_ids, plan_policy_id],
        "alias": key_alias(namespace, request.name),
        "expires": SUSPENDED_EXPIRES if suspended else max(int(expires_at), 0),
        "meta_data": {
            META_MANAGED_BY: MANAGED_BY,
            META_REQUEST: f"{namespace}/{request.name}",
            META_REQUEST_UID: request.uid,
            META_APP: request.spec.app_ref.name,
        },
        "tags": [MANAGED_BY_TAG, CREDENTIAL_TAG],
        "access_rights": {},
        "is_inactive": False,
    }
    if org_id:
        session["org_id"] = org_id
    return session


def _normalise_session_field(field: str, value: Any) -> Any:
    if field == "apply_policies":
        return sorted(value or [])
    if field == "expires":
        # Tyk omits zero fields; 0 and negative values both mean "never".
        number = int(value or 0)
        return max(number, 0)
    if field == "is_inactive":
        return bool(value)
    return value if value is not None else ""


def session_differs(desired: Mapping[str, Any], actual: Mapping[str, Any]) -> list[str]:
    """Names of the managed session fields in which Tyk's key differs from the desired one.

    Tolerant of what Tyk does to a session: zero-valued fields may be omitted, policies' meta_data
    is merged into the session's and their tags are added. So only the desired `meta_data` keys
    are compared, and the desired tags need only be a subset. `apply_policies` is compared as a
    multiset: partitioned policies grant the same whatever their order, and rewriting a key only
    because a Tyk version returns them reordered would be a write loop. `org_id` is compared only
    when the desired session sets one.

    Args:
        desired: From `key_session`.
        actual: The session Tyk returned (the `data` of its KeyData).

    Returns:
        Differing field names, in `MANAGED_SESSION_FIELDS` order; empty when in sync.
    """
    changed: list[str] = []
    for field in MANAGED_SESSION_FIELDS:
        want, have = desired.get(field), actual.get(field)
        if field == "org_id":
            same = not want or want == have
        elif field == "meta_data":
            have_meta = have or {}
            same = all(have_meta.get(key) == value for key, value in (want or {}).items())
        elif field == "tags":
            same = set(want or []) <= set(have or [])
        else:
            same = _normalise_session_field(field, want) == _normalise_session_field(field, have)
        if not same:
            changed.append(field)
    return changed


def merge_session_for_update(desired: Mapping[str, Any], actual: Mapping[str, Any]) -> dict[str, Any]:
    """The full body of a key PUT (Tyk replaces the whole session).

    Tyk's session is kept, the managed fields are set from the desired one, the desired meta_data
    keys are written over Tyk's and the desired tags are added to Tyk's. `access_rights` is sent
    empty, as on create: Tyk recomputes it from the applied policies.

    Args:
        desired: From `key_session`.
        actual: The session Tyk returned.

    Returns:
        A new dict.
    """
    merged: dict[str, Any] = {**actual, **desired}
    merged["meta_data"] = {**(actual.get("meta_data") or {}), **(desired.get("meta_data") or {})}
    tags = list(actual.get("tags") or [])
    merged["tags"] = tags + [tag for tag in desired.get("tags") or [] if tag not in tags]
    if not desired.get("org_id") and actual.get("org_id"):
        merged["org_id"] = actual["org_id"]
    return merged


def session_ownership(actual: Mapping[str, Any], request_uid: str) -> SessionOwnership:
    """Whether a key in Tyk carries this request's marks, no marks, or someone else's.

    Args:
        actual: The session Tyk returned.
        request_uid: The request's UID.
    """
    meta = actual.get("meta_data") or {}
    if meta.get(META_REQUEST_UID) == request_uid:
        return "ours"
    if not meta.get(META_REQUEST_UID) and not meta.get(META_REQUEST):
        return "unmarked"
    return "foreign"


# ----- Secret -----------------------------------------------------------------------------------

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_INVALID = re.compile(r"[^-A-Za-z0-9_.]")
_RESERVED_KEY = re.compile(r"^([a-z0-9.-]+\.)?apiportal\.dev/")


def label_value(text: str) -> str:
    """Make text a valid label value (<= 63 characters of `[-A-Za-z0-9_.]`, alphanumeric ends).

    Valid text is returned unchanged. Otherwise invalid characters become `-`, the ends are
    trimmed, and text that is still too long is cut to 52 characters plus `-` and 10 hex digits
    of its SHA-256, so different long names stay different.

    Args:
        text: Any text (usually an object name).
    """
    if len(text) <= 63 and _LABEL_VALUE.match(text):
        return text
    cleaned = _LABEL_INVALID.sub("-", text).strip("-_.")
    if len(cleaned) <= 63:
        return cleaned
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    return f"{cleaned[:52].rstrip('-_.')}-{digest}"


def _reserved(key: str) -> bool:
    return key == MANAGED_BY_LABEL or bool(_RESERVED_KEY.match(key))


def _template_part(
    templates: Sequence[SecretTemplate | None], part: Literal["labels", "annotations"]
) -> dict[str, str]:
    out: dict[str, str] = {}
    for template in templates:
        values = getattr(template, part, None) if template is not None else None
        out.update({key: value for key, value in (values or {}).items() if not _reserved(key)})
    return out


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class SecretManifest(dict[str, Any]):
    """A Secret manifest (a plain dict to every client) whose repr never shows key material."""

    def __repr__(self) -> str:
        metadata = self.get("metadata") or {}
        keys = sorted((self.get("data") or {}).keys())
        return (
            f"SecretManifest(namespace={metadata.get('namespace')!r}, name={metadata.get('name')!r}, "
            f"data keys={keys}, values redacted)"
        )

    __str__ = __repr__


def render_secret(
    request: ProvisioningRequest,
    app: ConsumerApp | None,
    *,
    secret_name: str,
    data: Mapping[str, str],
    annotations: Mapping[str, str],
    products: Sequence[str],
    plan: str,
) -> SecretManifest:
    """The credential Secret of a request. Never log it: its `repr()` is redacted for that reason.

    Args:
        request: The request (namespace, name, uid, app, secretTemplate).
        app: The request's app, for its `secretTemplate` (None: no app template).
        secret_name: The Secret's name (see `naming.secret_name_for`).
        data: The data keys and their plain values (base64-encoded here).
        annotations: The operator's own annotations (the lifecycle's record).
        products: The products as `namespace/name` references, in the request's order.
        plan: The plan as a `namespace/name` reference.

    Returns:
        The manifest: `Opaque`, in the request's namespace, controlled by the request.
    """
    namespace = request.namespace or ""
    plan_name = plan.rsplit("/", 1)[-1]
    templates = (app.spec.secret_template if app else None, request.spec.secret_template)

    labels = _template_part(templates, "labels")
    labels.update(
        {
            MANAGED_BY_LABEL: MANAGED_BY,
            APP_LABEL: label_value(request.spec.app_ref.name),
            REQUEST_LABEL: label_value(request.name),
            PLAN_LABEL: label_value(plan_name),
        }
    )
    for product in products:
        labels[PRODUCT_LABEL_PREFIX + label_value(product.rsplit("/", 1)[-1])] = "true"

    merged_annotations = _template_part(templates, "annotations")
    merged_annotations.update({PRODUCTS_ANNOTATION: ",".join(products), PLAN_REF_ANNOTATION: plan})
    merged_annotations.update(annotations)

    return SecretManifest(
        apiVersion="v1",
        kind="Secret",
        type="Opaque",
        metadata={
            "name": secret_name,
            "namespace": namespace,
            "labels": labels,
            "annotations": merged_annotations,
            "ownerReferences": [
                {
                    "apiVersion": f"{API_GROUP}/{API_VERSION}",
                    "kind": request.kind_name,
                    "name": request.name,
                    "uid": request.uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        data={key: _b64(value) for key, value in data.items()},
    )


def secret_owned_by(secret: Mapping[str, Any], request_uid: str) -> bool:
    """Whether a Secret (as read from the API) has an ownerReference to the request.

    Args:
        secret: The Secret as a dict (camelCase, as the API returns it).
        request_uid: The request's UID.
    """
    if not request_uid:
        return False
    references = (secret.get("metadata") or {}).get("ownerReferences") or []
    return any(reference.get("uid") == request_uid for reference in references)


def _decode(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def decode_secret_data(secret: Mapping[str, Any] | None) -> dict[str, str]:
    """The data of a Secret as read from the API, decoded; undecodable values are left out.

    Args:
        secret: The Secret (None: no Secret, an empty result).
    """
    if not secret:
        return {}
    decoded = {key: _decode(value) for key, value in (secret.get("data") or {}).items()}
    return {key: value for key, value in decoded.items() if value is not None}


# ----- rotation ---------------------------------------------------------------------------------


def rotation_interval_seconds(request: ProvisioningRequest) -> int | None:
    """The automatic rotation interval in seconds, or None when the request does not rotate.

    Raises:
        ValueError: when the duration cannot be parsed (the CRD pattern prevents this).
    """
    rotation = request.spec.rotation
    if rotation is None or not rotation.interval:
        return None
    seconds = parse_duration(rotation.interval)
    return seconds if seconds > 0 else None


def overlap_seconds(request: ProvisioningRequest) -> int:
    """How long a rotated-out key stays valid: `spec.rotation.overlap`, default 3600 (1h).

    Raises:
        ValueError: when the duration cannot be parsed (the CRD pattern prevents this).
    """
    rotation = request.spec.rotation
    if rotation is None or not rotation.overlap:
        return DEFAULT_OVERLAP_SECONDS
    return parse_duration(rotation.overlap)


def renew_before_seconds(plan: Plan) -> int | None:
    """How long before expiry a credential under a plan is renewed; None when it never is.

    cert-manager's rule: `spec.renewBefore` when set, else a third of the credential's lifetime.
    `"0s"` turns automatic renewal off. Plans without `keyExpiry` issue credentials that never
    expire, so nothing is renewed.

    Raises:
        ValueError: when a duration cannot be parsed, or renewBefore is not shorter than keyExpiry.
    """
    if not plan.spec.key_expiry:
        return None
    lifetime = parse_duration(plan.spec.key_expiry)
    if lifetime <= 0:
        return None
    if plan.spec.renew_before is None:
        return lifetime // 3
    before = parse_duration(plan.spec.renew_before)
    if before >= lifetime:
        raise ValueError(
            f"renewBefore ({plan.spec.renew_before}) must be shorter than keyExpiry ({plan.spec.key_expiry})"
        )
    return before or None
