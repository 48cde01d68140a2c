"""What every rule module shares: the Finding a detector returns."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """Victim data found in a string: original [start, end), which rule, what to write instead.

    Detectors return findings and never change text; `sanitizer.operators` applies them.
    """

    start: int
    end: int
    rule: str
    kind: str
    replacement: str
