"""Services: every rule and every write, one transaction each; imports engine and below, never routes."""
