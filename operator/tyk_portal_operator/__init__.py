"""Tyk Portal Operator: an API developer portal on Kubernetes, backed by Tyk."""

__all__ = ["__version__"]

__version__ = "0.1.0"
