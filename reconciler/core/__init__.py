"""The vocabulary, pure: JIDs and phone numbers, the normalized group shapes, WhatsApp's limits,
picture normalization and fingerprints."""
