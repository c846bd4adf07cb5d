"""The one exception the harness raises for a step that failed."""


class HarnessError(Exception):
    """A step failed; the message says which and why (secrets already removed by the caller)."""
