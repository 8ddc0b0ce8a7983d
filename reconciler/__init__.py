"""groupctl: WhatsApp groups as code, reconciled through the Titan API."""

try:  # written by setuptools-scm when the package is built or installed (pyproject.toml)
    from reconciler._version import version as __version__
except ImportError:  # pragma: no cover - a source tree never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
