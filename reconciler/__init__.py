"""groupctl: WhatsApp groups as code, reconciled through the Titan API."""

__version__ = "0.1.0"
