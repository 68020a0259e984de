"""The bottom layer: settings, db sessions, errors, events, secrets, metrics, URLs, logs; imports only models."""
