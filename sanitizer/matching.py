"""The compiled victim profile: every token variant in one Aho-Corasick automaton, plus the
address and domain tests that detectors and the leak gate share.

Tokens are stored folded (NFKC + case fold), so a search over `Folded.text` finds ＡＣＭＥ,
ｱｸﾒ, hxxp-defanged and %-encoded spellings alike.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import ahocorasick

from .normalize import collapse_ws, fold_str
from .profile import VictimProfile

# DI-05: address space that never belongs to an attacker's public infrastructure.
# Documentation ranges are deliberately absent: they are ordinary addresses here.
NON_ROUTABLE = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16", "100.64.0.0/10",
    "fc00::/7", "fe80::/10", "::1/128",
))

_SEPARATORS = re.compile(r"[\s._-]+")
_ASCII_WORD = re.compile(r"[a-z0-9]")
_GENERIC_LABELS = {"co", "ne", "or", "ac", "go", "ed", "lg", "gr", "ad", "com", "net", "org", "edu", "gov",
                   "www", "mail", "jp", "example", "test", "invalid", "local", "corp", "info", "biz"}

# Token kinds → (rule id, replacement written into text).
KINDS = {
    "org": ("DI-03", "[VICTIM-ORG]"),
    "person": ("DI-03", "[PERSON]"),
    "keyword": ("DI-03", "[KEYWORD]"),
    "host": ("DI-03", "[HOST]"),
    "account": ("DI-03", "[ACCOUNT]"),
    "domain": ("DI-04", "[VICTIM-DOMAIN]"),
    "domain-label": ("DI-04", "[VICTIM-ORG]"),
    "email": ("DI-06", "[VICTIM-EMAIL]"),
}


@dataclass(frozen=True)
class TokenHit:
    """A profile token found in folded text: folded [start, end), its kind."""

    start: int
    end: int
    kind: str


def _separator_variants(token: str) -> set[str]:
    parts = [p for p in _SEPARATORS.split(token) if p]
    if len(parts) < 2:
        return {token}
    return {sep.join(parts) for sep in (" ", "-", "_", ".", "")} | {token}


def _name_variants(name: str) -> set[str]:
    out = _separator_variants(name)
    parts = [p for p in _SEPARATORS.split(name) if p]
    if len(parts) == 2:  # "Kenji Ishikawa" is also written "Ishikawa Kenji"
        out |= _separator_variants(parts[1] + " " + parts[0])
    return out


def registrable_label(domain: str) -> str | None:
    """The distinctive label of a victim domain (minatobe-seiki of minatobe-seiki.example)."""
    labels = [lab for lab in domain.lower().split(".") if lab]
    for lab in reversed(labels[:-1]):
        if lab not in _GENERIC_LABELS and len(lab) >= 4:
            return lab
    return None


def idna_forms(domain: str) -> set[str]:
    """A domain and its IDNA (punycode) / Unicode spellings."""
    forms = {fold_str(domain)}
    try:
        forms.add(domain.encode("idna").decode("ascii").lower())
    except UnicodeError:
        pass
    try:
        forms.add(fold_str(domain.encode("ascii").decode("idna")))
    except UnicodeError:
        pass
    return forms


# Characters that stand in for letters in look-alike host names; a 1:1 map keeps offsets.
_SKELETON = str.maketrans({"0": "o", "1": "l", "i": "l", "|": "l", "3": "e", "4": "a", "5": "s", "7": "t",
                           "8": "b", "$": "s", "@": "a"})
_LOOKALIKE_CHARS = re.compile(r"[0134578|$@i]")
_LOOKALIKE_KINDS = {"org", "domain", "domain-label", "keyword"}
_HEX_ONLY = re.compile(r"^[0-9a-f:-]*$")  # hashes and ids are never look-alike spellings


def skeleton(text: str) -> str:
    """Map look-alike characters to the letters they imitate (same length as the input)."""
    return text.translate(_SKELETON)


def _automaton(words):
    auto = ahocorasick.Automaton()
    for tok, kind in words:
        auto.add_word(tok, (tok, kind))
    if len(auto) == 0:
        return None
    auto.make_automaton()
    return auto


class ProfileIndex:
    """Everything a detector needs to recognise the victim, compiled once per submission."""

    def __init__(self, profile: VictimProfile):
        self.profile = profile
        self.networks = tuple(profile.ip_ranges)
        self.domains: set[str] = set()
        for d in profile.domains:
            self.domains |= idna_forms(d)
        self.emails = {fold_str(e) for e in profile.email_addresses}
        self.accounts = {fold_str(a) for a in profile.accounts}
        self._kinds: dict[str, str] = {}
        for name in profile.organization_names:
            self._add(_separator_variants(name), "org")
        for person in profile.people:
            self._add(_name_variants(person), "person")
        for kw in profile.keywords:
            self._add(_separator_variants(kw), "keyword")
        for host in profile.hostnames:
            self._add({host}, "host")
        for acct in profile.accounts:
            self._add({acct}, "account")
        for dom in self.domains:
            self._add({dom}, "domain")
            label = registrable_label(dom)
            if label:
                self._add(_separator_variants(label), "domain-label")
        for email in profile.email_addresses:
            self._add({email}, "email")
        self._last_text: str | None = None
        self._last_hits: list[TokenHit] = []
        self._automaton = _automaton((tok, kind) for tok, kind in self._kinds.items())
        # Look-alike spellings (utsub0gusa for utsubogusa) of the longer ASCII tokens.
        self._lookalikes = _automaton(
            (skeleton(tok), kind) for tok, kind in self._kinds.items()
            if tok.isascii() and len(tok) >= 5 and kind in _LOOKALIKE_KINDS)

    def _add(self, tokens: set[str], kind: str) -> None:
        for t in tokens:
            f = collapse_ws(fold_str(t))
            if len(f) < 2:
                continue
            # The first kind registered wins: organisation names before derived labels.
            self._kinds.setdefault(f, kind)

    @property
    def tokens(self) -> dict[str, str]:
        """Folded token → kind (read-only view for the leak gate and tests)."""
        return dict(self._kinds)

    def find_tokens(self, text: str) -> list[TokenHit]:
        """Every profile token in folded `text`; short ASCII tokens only as whole words."""
        if text is self._last_text:  # DI-03, DI-04 and DI-06 each ask about the same string
            return self._last_hits
        hits = self._find_tokens(text)
        self._last_text, self._last_hits = text, hits
        return hits

    def _find_tokens(self, text: str) -> list[TokenHit]:
        hits = []
        if self._automaton is not None:
            for end, (tok, kind) in self._automaton.iter(text):
                start = end - len(tok) + 1
                if tok.isascii() and len(tok) <= 4 and (
                        (start > 0 and _ASCII_WORD.match(text[start - 1]))
                        or (end + 1 < len(text) and _ASCII_WORD.match(text[end + 1]))):
                    continue  # "nec" must not match inside "connection"
                hits.append(TokenHit(start, end + 1, kind))
        if self._lookalikes is not None and _LOOKALIKE_CHARS.search(text) and not _HEX_ONLY.match(text):
            for end, (tok, kind) in self._lookalikes.iter(skeleton(text)):
                hits.append(TokenHit(end - len(tok) + 1, end + 1, kind))
        return hits

    def is_victim_domain(self, host: str) -> bool:
        """True for a victim domain or any of its subdomains (host already folded)."""
        host = host.rstrip(".")
        return any(host == d or host.endswith("." + d) for d in self.domains)

    def ip_verdict(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        """'victim' (in a profile range), 'internal' (non-routable) or None (keep)."""
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip in n for n in self.networks if n.version == ip.version):
            return "victim"
        if any(ip in n for n in NON_ROUTABLE if n.version == ip.version):
            return "internal"
        return None
