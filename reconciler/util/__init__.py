"""No domain: atomic files, rates, logging with redaction, the HTTP server, text helpers."""
