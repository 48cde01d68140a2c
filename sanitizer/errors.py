"""Errors the sanitiser raises. Messages never contain victim values."""


class SanitizerError(Exception):
    """Base class of every error raised on purpose by the sanitiser."""


class BadInput(SanitizerError):
    """The input, profile or policy is malformed (CLI exit 2).

    The message is one line meant for the submitter; it names *where* the problem is,
    never a victim value.
    """


class LeakRefused(SanitizerError):
    """The leak gate (DI-18) found residual victim data; nothing may be written (CLI exit 3)."""

    def __init__(self, hits):
        self.hits = list(hits)
        first = self.hits[0]
        more = f" (+{len(self.hits) - 1} more)" if len(self.hits) > 1 else ""
        super().__init__(f"refused by the leak gate: {first.rule} {first.what} at {first.where}{more}")
