"""The pure core: data in, data out. No I/O, no clock reads, no randomness, no kopf/httpx/kubernetes."""

# The credential type registry loads first, so that a type's own module (which builds on it and which
# it imports) can be imported on its own without a circular-import error.
from . import credential_types as credential_types
