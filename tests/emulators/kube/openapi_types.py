"""OpenAPI v3 definitions of the metadata types and the built-in kinds the emulator serves.

A subset of the real server's definitions (same names, same `x-kubernetes-group-version-kind`,
shortened descriptions), enough for `kubectl explain` and for unknown-field detection on the
built-in kinds. References use `#/components/schemas/NAME`.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "API_VERSION_DESCRIPTION",
    "BUILTIN_DEFINITIONS",
    "CREATION_TIMESTAMP_DESCRIPTION",
    "KIND_DESCRIPTION",
    "META",
    "METADATA_DESCRIPTION",
    "NAME_DESCRIPTION",
    "builtin_definition_name",
    "ref",
]

Schema = dict[str, Any]
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_CORE = "io.k8s.api.core.v1."
_CRD = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1."

API_VERSION_DESCRIPTION = (
    "APIVersion defines the versioned schema of this representation of an object. Servers should "
    "convert recognized schemas to the latest internal value, and may reject unrecognized values. More "
    "info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources"
)
KIND_DESCRIPTION = (
    "Kind is a string value representing the REST resource this object represents. Servers may infer "
    "this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"
)
METADATA_DESCRIPTION = (
    "Standard object's metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
NAME_DESCRIPTION = (
    "Name must be unique within a namespace. Is required when creating resources, although some "
    "resources may allow a client to request the generation of an appropriate name automatically. Name "
    "is primarily intended for creation idempotence and configuration definition. Cannot be updated. "
    "More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
CREATION_TIMESTAMP_DESCRIPTION = (
    "CreationTimestamp is a timestamp representing the server time when this object was created. It is "
    "not guaranteed to be set in happens-before order across separate operations. Clients may not set "
    "this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. "
    "Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)


def ref(name: str, description: str = "") -> Schema:
    """A reference to a definition, the way the real documents wrap them (`allOf` + description)."""
    schema: Schema = {"allOf": [{"$ref": f"#/components/schemas/{name}"}]}
    if description:
        schema["description"] = description
    return schema


def _s(description: str, **extra: Any) -> Schema:
    return {"type": "string", "description": description, **extra}


def _i(description: str) -> Schema:
    return {"type": "integer", "format": "int64", "description": description}


def _b(description: str) -> Schema:
    return {"type": "boolean", "description": description}


def _map(description: str, item: Schema | None = None) -> Schema:
    return {
        "type": "object",
        "additionalProperties": item or {"type": "string", "default": ""},
        "description": description,
    }


def _list(description: str, item: Schema) -> Schema:
    return {"type": "array", "items": item, "description": description}


def _obj(description: str, properties: dict[str, Schema], required: tuple[str, ...] = ()) -> Schema:
    schema: Schema = {"type": "object", "description": description, "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def _kind(description: str, group: str, version: str, kind: str, properties: dict[str, Schema]) -> Schema:
    props: dict[str, Schema] = {
        "apiVersion": _s(API_VERSION_DESCRIPTION),
        "kind": _s(KIND_DESCRIPTION),
        "metadata": ref(META + "ObjectMeta", METADATA_DESCRIPTION),
        **properties,
    }
    schema = _obj(description, props)
    schema["x-kubernetes-group-version-kind"] = [{"group": group, "kind": kind, "version": version}]
    return schema


def _list_kind(item: str, group: str, version: str, kind: str) -> Schema:
    schema = _obj(
        f"{kind} is a list of {item.rsplit('.', 1)[-1]}.",
        {
            "apiVersion": _s(API_VERSION_DESCRIPTION),
            "items": _list("Items is the list of objects.", {"$ref": f"#/components/schemas/{item}"}),
            "kind": _s(KIND_DESCRIPTION),
            "metadata": ref(META + "ListMeta", METADATA_DESCRIPTION),
        },
        ("items",),
    )
    schema["x-kubernetes-group-version-kind"] = [{"group": group, "kind": kind, "version": version}]
    return schema


_META_DEFINITIONS: dict[str, Schema] = {
    META + "Time": {
        "type": "string",
        "format": "date-time",
        "description": "Time is a wrapper around time.Time which supports correct marshaling to YAML and JSON.",
    },
    META + "MicroTime": {
        "type": "string",
        "format": "date-time",
        "description": "MicroTime is version of Time with microsecond level precision.",
    },
    META + "OwnerReference": _obj(
        "OwnerReference contains enough information to let you identify an owning object.",
        {
            "apiVersion": _s("API version of the referent."),
            "blockOwnerDeletion": _b("If true, AND if the owner has the foregroundDeletion finalizer, ..."),
            "controller": _b("If true, this reference points to the managing controller."),
            "kind": _s("Kind of the referent."),
            "name": _s("Name of the referent."),
            "uid": _s("UID of the referent."),
        },
        ("apiVersion", "kind", "name", "uid"),
    ),
    META + "ManagedFieldsEntry": _obj(
        "ManagedFieldsEntry is a workflow-id, a FieldSet and the group version of the resource that the "
        "fieldset applies to.",
        {
            "apiVersion": _s(
                "APIVersion defines the version of this resource that this field set applies to."
            ),
            "fieldsType": _s("FieldsType is the discriminator for the different fields format and version."),
            "fieldsV1": {
                "type": "object",
                "description": "FieldsV1 holds the first JSON version format.",
                "x-kubernetes-preserve-unknown-fields": True,
            },
            "manager": _s("Manager is an identifier of the workflow managing these fields."),
            "operation": _s(
                "Operation is the type of operation which lead to this ManagedFieldsEntry being created."
            ),
            "subresource": _s("Subresource is the name of the subresource used to update that object."),
            "time": ref(META + "Time", "Time is the timestamp of when the ManagedFields entry was added."),
        },
    ),
    META + "ObjectMeta": _obj(
        "ObjectMeta is metadata that all persisted resources must have, which includes all objects users "
        "must create.",
        {
            "annotations": _map("Annotations is an unstructured key value map stored with a resource."),
            "creationTimestamp": ref(META + "Time", CREATION_TIMESTAMP_DESCRIPTION),
            "deletionGracePeriodSeconds": _i(
                "Number of seconds allowed for this object to gracefully terminate before it will be removed."
            ),
            "deletionTimestamp": ref(
                META + "Time",
                "DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted.",
            ),
            "finalizers": {
                **_list(
                    "Must be empty before the object is deleted from the registry.",
                    {"type": "string", "default": ""},
                ),
                "x-kubernetes-list-type": "set",
                "x-kubernetes-patch-strategy": "merge",
            },
            "generateName": _s(
                "GenerateName is an optional prefix, used by the server, to generate a unique name."
            ),
            "generation": _i("A sequence number representing a specific generation of the desired state."),
            "labels": _map(
                "Map of string keys and values that can be used to organize and categorize objects."
            ),
            "managedFields": _list(
                "ManagedFields maps workflow-id and version to the set of fields that are managed by that workflow.",
                ref(META + "ManagedFieldsEntry"),
            ),
            "name": _s(NAME_DESCRIPTION),
            "namespace": _s("Namespace defines the space within which each name must be unique."),
            "ownerReferences": {
                **_list("List of objects depended by this object.", ref(META + "OwnerReference")),
                "x-kubernetes-list-map-keys": ["uid"],
                "x-kubernetes-list-type": "map",
                "x-kubernetes-patch-merge-key": "uid",
                "x-kubernetes-patch-strategy": "merge",
            },
            "resourceVersion": _s(
                "An opaque value that represents the internal version of this object that can be used by "
                "clients to determine when objects have changed."
            ),
            "selfLink": _s("Deprecated: selfLink is a legacy read-only field that is no longer populated."),
            "uid": _s("UID is the unique in time and space value for this object."),
        },
    ),
    META + "ListMeta": _obj(
        "ListMeta describes metadata that synthetic resources must have, including lists.",
        {
            "continue": _s("continue may be set if the user set a limit on the number of items returned."),
            "remainingItemCount": _i("remainingItemCount is the number of subsequent items in the list."),
            "resourceVersion": _s("String that identifies the server's internal version of this object."),
            "selfLink": _s("Deprecated: selfLink is a legacy read-only field that is no longer populated."),
        },
    ),
    META + "StatusCause": _obj(
        "StatusCause provides more information about an api.Status failure.",
        {
            "field": _s("The field of the resource that has caused this error."),
            "message": _s("A human-readable description of the cause of the error."),
            "reason": _s("A machine-readable description of the cause of the error."),
        },
    ),
    META + "StatusDetails": _obj(
        "StatusDetails is a set of additional properties that MAY be set by the server.",
        {
            "causes": _list("The Causes array includes more details.", ref(META + "StatusCause")),
            "group": _s("The group attribute of the resource associated with the status StatusReason."),
            "kind": _s("The kind attribute of the resource associated with the status StatusReason."),
            "name": _s("The name attribute of the resource associated with the status StatusReason."),
            "retryAfterSeconds": {
                "type": "integer",
                "format": "int32",
                "description": "Retry after seconds.",
            },
            "uid": _s("UID of the resource."),
        },
    ),
    META + "Status": {
        **_obj(
            "Status is a return value for calls that don't return other objects.",
            {
                "apiVersion": _s(API_VERSION_DESCRIPTION),
                "code": {"type": "integer", "format": "int32", "description": "Suggested HTTP return code."},
                "details": ref(META + "StatusDetails", "Extended data associated with the reason."),
                "kind": _s(KIND_DESCRIPTION),
                "message": _s("A human-readable description of the status of this operation."),
                "metadata": ref(META + "ListMeta", METADATA_DESCRIPTION),
                "reason": _s(
                    "A machine-readable description of why this operation is in the Failure status."
                ),
                "status": _s('Status of the operation. One of: "Success" or "Failure".'),
            },
        ),
        "x-kubernetes-group-version-kind": [{"group": "", "kind": "Status", "version": "v1"}],
    },
    META + "Preconditions": _obj(
        "Preconditions must be fulfilled before an operation (update, delete, etc.) is carried out.",
        {
            "resourceVersion": _s("Specifies the target ResourceVersion"),
            "uid": _s("Specifies the target UID."),
        },
    ),
    META + "DeleteOptions": _obj(
        "DeleteOptions may be provided when deleting an API object.",
        {
            "apiVersion": _s(API_VERSION_DESCRIPTION),
            "dryRun": _list(
                "When present, indicates that modifications should not be persisted.", {"type": "string"}
            ),
            "gracePeriodSeconds": _i("The duration in seconds before the object should be deleted."),
            "kind": _s(KIND_DESCRIPTION),
            "orphanDependents": _b("Deprecated: please use the PropagationPolicy."),
            "preconditions": ref(
                META + "Preconditions", "Must be fulfilled before a deletion is carried out."
            ),
            "propagationPolicy": _s("Whether and how garbage collection will be performed."),
        },
    ),
    META + "Patch": {
        "type": "object",
        "description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
    },
}

_EVENT_SOURCE = _obj(
    "EventSource contains information for an event.",
    {
        "component": _s("Component from which the event is generated."),
        "host": _s("Node name on which the event is generated."),
    },
)
_OBJECT_REFERENCE = _obj(
    "ObjectReference contains enough information to let you inspect or modify the referred object.",
    {
        "apiVersion": _s("API version of the referent."),
        "fieldPath": _s("If referring to a piece of an object instead of an entire object."),
        "kind": _s("Kind of the referent."),
        "name": _s("Name of the referent."),
        "namespace": _s("Namespace of the referent."),
        "resourceVersion": _s("Specific resourceVersion to which this reference is made, if any."),
        "uid": _s("UID of the referent."),
    },
)
_CORE_EVENT_FIELDS: dict[str, Schema] = {
    "action": _s("What action was taken/failed regarding to the Regarding object."),
    "count": {
        "type": "integer",
        "format": "int32",
        "description": "The number of times this event has occurred.",
    },
    "eventTime": ref(META + "MicroTime", "Time when this Event was first observed."),
    "firstTimestamp": ref(META + "Time", "The time at which the event was first recorded."),
    "involvedObject": ref(_CORE + "ObjectReference", "The object that this event is about."),
    "lastTimestamp": ref(
        META + "Time", "The time at which the most recent occurrence of this event was recorded."
    ),
    "message": _s("A human-readable description of the status of this operation."),
    "reason": _s(
        "This should be a short, machine understandable string that gives the reason for the transition."
    ),
    "related": ref(_CORE + "ObjectReference", "Optional secondary object for more complex actions."),
    "reportingComponent": _s("Name of the controller that emitted this Event."),
    "reportingInstance": _s("ID of the controller instance."),
    "series": {
        "type": "object",
        "description": "Data about the Event series this event represents.",
        "x-kubernetes-preserve-unknown-fields": True,
    },
    "source": ref(_CORE + "EventSource", "The component reporting this event."),
    "type": _s("Type of this event (Normal, Warning), new types could be added in the future"),
}
_EVENTS_V1_FIELDS: dict[str, Schema] = {
    "action": _s("action is what action was taken/failed regarding to the regarding object."),
    "deprecatedCount": {
        "type": "integer",
        "format": "int32",
        "description": "deprecatedCount is the deprecated field assuring backward compatibility.",
    },
    "deprecatedFirstTimestamp": ref(META + "Time", "deprecatedFirstTimestamp is the deprecated field."),
    "deprecatedLastTimestamp": ref(META + "Time", "deprecatedLastTimestamp is the deprecated field."),
    "deprecatedSource": ref(_CORE + "EventSource", "deprecatedSource is the deprecated field."),
    "eventTime": ref(META + "MicroTime", "eventTime is the time when this Event was first observed."),
    "note": _s("note is a human-readable description of the status of this operation."),
    "reason": _s("reason is why the action was taken."),
    "regarding": ref(_CORE + "ObjectReference", "regarding contains the object this Event is about."),
    "related": ref(_CORE + "ObjectReference", "related is the optional secondary object."),
    "reportingController": _s("reportingController is the name of the controller that emitted this Event."),
    "reportingInstance": _s("reportingInstance is the ID of the controller instance."),
    "series": {
        "type": "object",
        "description": "series is data about the Event series this event represents.",
        "x-kubernetes-preserve-unknown-fields": True,
    },
    "type": _s("type is the type of this event (Normal, Warning)."),
}

_BUILTIN_KINDS: dict[str, Schema] = {
    _CORE + "ObjectReference": _OBJECT_REFERENCE,
    _CORE + "EventSource": _EVENT_SOURCE,
    _CORE + "NamespaceSpec": _obj(
        "NamespaceSpec describes the attributes on a Namespace.",
        {
            "finalizers": _list(
                "Finalizers is an opaque list of values that must be empty to permanently remove object from storage.",
                {"type": "string", "default": ""},
            )
        },
    ),
    _CORE + "NamespaceCondition": _obj(
        "NamespaceCondition contains details about state of namespace.",
        {
            "lastTransitionTime": ref(
                META + "Time", "Last time the condition transitioned from one status to another."
            ),
            "message": _s("Human-readable message indicating details about last transition."),
            "reason": _s("Unique, one-word, CamelCase reason for the condition's last transition."),
            "status": _s("Status of the condition, one of True, False, Unknown."),
            "type": _s("Type of namespace controller condition."),
        },
        ("type", "status"),
    ),
    _CORE + "NamespaceStatus": _obj(
        "NamespaceStatus is information about the current status of a Namespace.",
        {
            "conditions": {
                **_list(
                    "Represents the latest available observations of a namespace's current state.",
                    ref(_CORE + "NamespaceCondition"),
                ),
                "x-kubernetes-list-map-keys": ["type"],
                "x-kubernetes-list-type": "map",
            },
            "phase": _s(
                "Phase is the current lifecycle phase of the namespace.",
                enum=["Active", "Terminating"],
            ),
        },
    ),
    _CORE + "Namespace": _kind(
        "Namespace provides a scope for Names. Use of multiple namespaces is optional.",
        "",
        "v1",
        "Namespace",
        {
            "spec": ref(_CORE + "NamespaceSpec", "Spec defines the behavior of the Namespace."),
            "status": ref(_CORE + "NamespaceStatus", "Status describes the current status of a Namespace."),
        },
    ),
    _CORE + "Secret": _kind(
        "Secret holds secret data of a certain type. The total bytes of the values in the Data field must "
        "be less than MaxSecretSize bytes.",
        "",
        "v1",
        "Secret",
        {
            "data": _map(
                "Data contains the secret data. Each key must consist of alphanumeric characters, "
                "'-', '_' or '.'. The serialized form of the secret data is a base64 encoded string.",
                {"type": "string", "format": "byte"},
            ),
            "immutable": _b(
                "Immutable, if set to true, ensures that data stored in the Secret cannot be updated."
            ),
            "stringData": _map(
                "stringData allows specifying non-binary secret data in string form. It is "
                "provided as a write-only input field for convenience."
            ),
            "type": _s("Used to facilitate programmatic handling of secret data."),
        },
    ),
    _CORE + "ConfigMap": _kind(
        "ConfigMap holds configuration data for pods to consume.",
        "",
        "v1",
        "ConfigMap",
        {
            "binaryData": _map("BinaryData contains the binary data.", {"type": "string", "format": "byte"}),
            "data": _map("Data contains the configuration data."),
            "immutable": _b(
                "Immutable, if set to true, ensures that data stored in the ConfigMap cannot be updated."
            ),
        },
    ),
    _CORE + "ServiceAccount": _kind(
        "ServiceAccount binds together: * a name, understood by users, and perhaps by peripheral systems, "
        "for an identity * a principal that can be authenticated and authorized * a set of secrets",
        "",
        "v1",
        "ServiceAccount",
        {
            "automountServiceAccountToken": _b(
                "AutomountServiceAccountToken indicates whether pods running as "
                "this service account should have an API token automatically mounted."
            ),
            "imagePullSecrets": _list(
                "ImagePullSecrets is a list of references to secrets in the same namespace.",
                _obj("LocalObjectReference.", {"name": _s("Name of the referent.")}),
            ),
            "secrets": _list(
                "Secrets is a list of the secrets in the same namespace.", ref(_CORE + "ObjectReference")
            ),
        },
    ),
    _CORE + "Event": _kind(
        "Event is a report of an event somewhere in the cluster.", "", "v1", "Event", _CORE_EVENT_FIELDS
    ),
    "io.k8s.api.events.v1.Event": _kind(
        "Event is a report of an event somewhere in the cluster.",
        "events.k8s.io",
        "v1",
        "Event",
        _EVENTS_V1_FIELDS,
    ),
    "io.k8s.api.coordination.v1.LeaseSpec": _obj(
        "LeaseSpec is a specification of a Lease.",
        {
            "acquireTime": ref(
                META + "MicroTime", "acquireTime is a time when the current lease was acquired."
            ),
            "holderIdentity": _s("holderIdentity contains the identity of the holder of a current lease."),
            "leaseDurationSeconds": {
                "type": "integer",
                "format": "int32",
                "description": "leaseDurationSeconds is a duration that candidates for a lease need to wait.",
            },
            "leaseTransitions": {
                "type": "integer",
                "format": "int32",
                "description": "leaseTransitions is the number of transitions of a lease between holders.",
            },
            "preferredHolder": _s(
                "PreferredHolder signals to a lease holder that the lease has a more optimal holder."
            ),
            "renewTime": ref(
                META + "MicroTime",
                "renewTime is a time when the current holder of a lease has last updated the lease.",
            ),
            "strategy": _s(
                "Strategy indicates the strategy for picking the leader for coordinated leader election."
            ),
        },
    ),
    "io.k8s.api.coordination.v1.Lease": _kind(
        "Lease defines a lease concept.",
        "coordination.k8s.io",
        "v1",
        "Lease",
        {
            "spec": ref(
                "io.k8s.api.coordination.v1.LeaseSpec", "spec contains the specification of the Lease."
            )
        },
    ),
    _CRD + "CustomResourceDefinition": _kind(
        "CustomResourceDefinition represents a resource that should be exposed on the API server. Its name "
        "MUST be in the format <.spec.name>.<.spec.group>.",
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        {
            "spec": {
                "type": "object",
                "description": "spec describes how the user wants the resources to appear",
                "x-kubernetes-preserve-unknown-fields": True,
            },
            "status": {
                "type": "object",
                "description": "status indicates the actual state of the CustomResourceDefinition",
                "x-kubernetes-preserve-unknown-fields": True,
            },
        },
    ),
}

# Definition names of the built-in kinds, by (group, version, kind).
_NAMES: dict[tuple[str, str, str], str] = {
    ("", "v1", "Namespace"): _CORE + "Namespace",
    ("", "v1", "Secret"): _CORE + "Secret",
    ("", "v1", "ConfigMap"): _CORE + "ConfigMap",
    ("", "v1", "ServiceAccount"): _CORE + "ServiceAccount",
    ("", "v1", "Event"): _CORE + "Event",
    ("events.k8s.io", "v1", "Event"): "io.k8s.api.events.v1.Event",
    ("coordination.k8s.io", "v1", "Lease"): "io.k8s.api.coordination.v1.Lease",
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition"): _CRD + "CustomResourceDefinition",
}

for (_group, _version, _kind_name), _name in list(_NAMES.items()):
    _BUILTIN_KINDS[_name + "List"] = _list_kind(_name, _group, _version, _kind_name + "List")

BUILTIN_DEFINITIONS: dict[str, Schema] = {**_META_DEFINITIONS, **_BUILTIN_KINDS}


def builtin_definition_name(group: str, version: str, kind: str) -> str | None:
    """The definition name of a built-in kind, or None when the emulator has no schema for it."""
    return _NAMES.get((group, version, kind))
