"""The Titan API client (`client`) and its payloads (`models`)."""

from reconciler.titan.client import RetryPolicy, TitanClient

__all__ = ["RetryPolicy", "TitanClient"]
