"""Text scrubbing: run every text detector over a string and apply the findings.

Encoded tokens (MIME words, quoted-printable, hex, Base64) are read in their decoded views too
(`decoders`): a hit there replaces the whole encoded token. Results are cached per string:
bundles repeat the same names, labels and paths many times.
"""
from __future__ import annotations

from . import decoders
from .matching import ProfileIndex
from .operators import merge, replace
from .rules import TEXT_DETECTORS, di09_timestamps
from .rules.base import Finding


class Scrubber:
    """Detect and replace victim data in strings, for one submission."""

    def __init__(self, index: ProfileIndex, granularity: str):
        self.index = index
        self.granularity = granularity
        self._cache: dict[str, tuple[str, tuple[Finding, ...]]] = {}

    def findings(self, text: str) -> list[Finding]:
        """All findings in `text` (original offsets), overlaps resolved."""
        return list(self.scrub(text)[1])

    def scrub(self, text: str, _depth: int = 0) -> tuple[str, tuple[Finding, ...]]:
        """(scrubbed text, findings applied)."""
        hit = self._cache.get(text)
        if hit is not None:
            return hit
        folded = self.index.folded(text)
        found: list[Finding] = []
        for det in TEXT_DETECTORS:
            found.extend(det.detect(folded, self.index))
        found.extend(di09_timestamps.detect(folded, self.index, self.granularity))
        if _depth < decoders.MAX_DEPTH:
            found.extend(decoders.findings(self.index.encoded(text), lambda t: self.scrub(t, _depth + 1)[1]))
        merged = tuple(merge(found))
        result = (replace(text, list(merged)), merged)
        self._cache[text] = result
        return result

    def names_victim(self, text: str) -> bool:
        """True if the text names the victim through the profile (tokens, domains, addresses)."""
        return any(f.rule in ("DI-03", "DI-04", "DI-06") or f.kind == "victim-ip" for f in self.scrub(text)[1])
