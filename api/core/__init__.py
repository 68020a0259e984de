"""The bottom layer: settings, database engine and sessions, errors, the event log, secrets, logging; imports only models."""
