"""The vocabulary every layer speaks; pure (no I/O).

- `jid`: phone numbers and JIDs, as people write them and as the API returns them.
- `groups`: the normalized group shapes desired and live state share (`GroupState`,
  `Member`, `DesiredState`, `LiveState`, `Waiting`...).
- `limits`: WhatsApp's and Titan's limits.
- `pictures`: picture normalization (a square JPEG) and fingerprints.
- `invites`: invite links and the invite message template.
- `webhook_urls`: the URLs Titan delivers webhooks to.
"""

__all__ = ["groups", "invites", "jid", "limits", "pictures", "webhook_urls"]
