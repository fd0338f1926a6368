"""kopf handlers; importing this package registers them (`kopf run -m tyk_portal_operator.handlers`)."""

from . import indexes, lifecycle, policies, providers, provisioning

__all__ = ["indexes", "lifecycle", "policies", "providers", "provisioning"]
