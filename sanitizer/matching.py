"""The compiled victim profile: every token expanded into its DI-00 view forms (kana, romaji,
orders, variant kanji, separators, look-alike skeletons) in Aho-Corasick automatons, plus the
address and domain tests that detectors and the leak gate share.

Tokens are matched against folded text (`normalize.Folded`: NFKC, case, width, defanging,
decoded escapes) and its key view (`views.key`), so ＡＣＭＥ, ｱｸﾒ, ア・ク・メ, Kōgyō/Kougyou,
hxxp-defanged and %-encoded spellings alike are found.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import ahocorasick
import regex

from . import decoders, orgnames, views
from .normalize import Folded, collapse_ws, fold_str
from .profile import VictimProfile

# DI-05: address space that never belongs to an attacker's public infrastructure.
# Documentation ranges are deliberately absent: they are ordinary addresses here.
NON_ROUTABLE = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16", "100.64.0.0/10",
    "fc00::/7", "fe80::/10", "::1/128",
))

_SEPARATORS = re.compile(r"[\s._-]+")
_ASCII_WORD = re.compile(r"[a-z0-9]")
_WORD_RUN = re.compile(r"[a-z0-9]+")
# Runs of text between hard punctuation: a key-view token (letters, digits, kana, kanji and the
# separators the key view drops) never spans ( ) : / ; " and the like.
_CHUNK = re.compile(r"[\w\s・·･\-.,、。'’‘]+")
_GENERIC_LABELS = {"co", "ne", "or", "ac", "go", "ed", "lg", "gr", "ad", "com", "net", "org", "edu", "gov",
                   "www", "mail", "jp", "example", "test", "invalid", "local", "corp", "info", "biz"}

# Token kinds → (rule id, replacement written into text).
KINDS = {
    "org": ("DI-03", "[VICTIM-ORG]"),
    "person": ("DI-03", "[PERSON]"),
    "surname": ("DI-03", "[PERSON]"),
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


_LOOKALIKE_KINDS = {"org", "domain-label", "keyword", "person", "host"}
# Names of the shapes profile tokens have, that belong to no one: a MATCHES expression that
# matches one of them is generic (DI-12).
_NEUTRAL_FORMS = ("example", "example.com", "www.example.com", "mail.example.net", "Example Corp",
                  "EXAMPLE TRADING", "sample-host01", "WIN-SRV01", "admin", "j.smith", "John Smith",
                  "サンプル", "株式会社サンプル", "さんぷる", "山田太郎", "山田 太郎", "見本商事")
_HEX_ONLY = re.compile(r"^[0-9a-f:-]*$")  # hashes and ids are never look-alike spellings


def _automaton(words):
    auto = ahocorasick.Automaton()
    for tok, kind in words:
        auto.add_word(tok, (tok, kind))
    if len(auto) == 0:
        return None
    auto.make_automaton()
    return auto


def token_forms(token: str, kind: str) -> set[str]:
    """Every written form of one profile token that the key view does not already equate:
    name orders, romaji of kana, the core of an organisation name, variant kanji."""
    forms = {token}
    if kind == "person":
        forms = views.name_orders(token)
    for f in list(forms):
        for r in views.romaji_forms(f):
            forms |= views.name_orders(r) if kind == "person" else {r}
    if kind == "org":
        forms |= {c for f in list(forms) for c in orgnames.cores(f)}
    out = set()
    for f in forms:
        out |= views.kanji_variants(f) if not f.isascii() else {f}
    return out


class ProfileIndex:
    """Everything a detector needs to recognise the victim, compiled once per submission.

    Domains and e-mail addresses are matched in the folded view (DI-04 widens them to the host);
    names, keywords, hosts and accounts in the key view (DI-00: kana, romanisation, separators,
    variant kanji) and, for organisation names and keywords, in its look-alike skeleton.
    """

    def __init__(self, profile: VictimProfile):
        self.profile = profile
        self.networks = tuple(profile.ip_ranges)
        self.domains: set[str] = set()
        for d in profile.domains:
            self.domains |= idna_forms(d)
        self.emails = {fold_str(e) for e in profile.email_addresses}
        self.accounts = {fold_str(a) for a in profile.accounts}
        self._kinds: dict[str, str] = {}  # folded token -> kind (domains, e-mails)
        self._keys: dict[str, str] = {}  # key-view token -> kind
        self.surface_forms: set[str] = set()  # written forms, for MATCHES expressions (DI-12)
        for field, kind in (("organization_names", "org"), ("people", "person"), ("keywords", "keyword"),
                            ("hostnames", "host"), ("accounts", "account")):
            for tok in getattr(profile, field):
                self._add_key(token_forms(tok, kind), kind)
        for person in profile.people:  # 鴫原です: a family name alone, as a word of its own
            self._add_key({v for s in views.surname(person) for v in views.kanji_variants(s)}, "surname")
        for dom in sorted(self.domains):
            self._kinds.setdefault(dom, "domain")
            self.surface_forms |= {dom, "www." + dom}
            label = registrable_label(dom)
            if label:
                self._add_key(_separator_variants(label), "domain-label")
        for email in profile.email_addresses:
            self._kinds.setdefault(fold_str(email), "email")
            self.surface_forms.add(email)
        self._hits_cache: dict[str, list[TokenHit]] = {}
        self._folded_cache: dict[str, Folded] = {}
        self._encoded_cache: dict[str, tuple] = {}
        self._view_cache: dict[tuple, object] = {}
        self._token_cache: dict[tuple, list[str]] = {}  # encoded token -> readings (decoders)
        self._ip_cache: dict = {}
        self._forms_list: list[str] | None = None
        self._chunk_cache: dict[tuple[str, bool], list[tuple[int, int, str]]] = {}
        self._automaton = _automaton(self._kinds.items())
        self._key_auto = _automaton(self._keys.items())
        # Look-alike spellings (Cyrillic е, rn for m, 0 for o) of the longer names.
        self._lookalikes = _automaton(
            (views.skeleton(k), kind) for k, kind in self._keys.items()
            if len(k) >= 5 and kind in _LOOKALIKE_KINDS)

    def _add_key(self, forms: set[str], kind: str) -> None:
        for f in forms:
            self.surface_forms |= {f, f.lower(), f.upper(), f.title()}
            k = views.key(collapse_ws(fold_str(f)))
            if len(k) < 2 or (k.isascii() and len(k) < 3 and kind != "account"):
                continue
            # The first kind registered wins: organisation names before derived labels.
            self._keys.setdefault(k, kind)

    @property
    def tokens(self) -> dict[str, str]:
        """Token (folded domains/e-mails, key-view names) → kind, for the leak gate and tests."""
        return {**self._keys, **self._kinds}

    def folded(self, text: str) -> Folded:
        """The folded view of `text`, once per string for this submission (the detectors and
        the leak gate read the same strings)."""
        f = self._folded_cache.get(text)
        if f is None:
            f = Folded(text)
            if len(self._folded_cache) < 100_000:
                self._folded_cache[text] = f
        return f

    def encoded(self, text: str) -> tuple:
        """`decoders.candidates(text)`, once per string for this submission."""
        c = self._encoded_cache.get(text)
        if c is None:
            c = decoders.candidates(text, self._token_cache)
            if len(self._encoded_cache) < 100_000:
                self._encoded_cache[text] = c
        return c

    def view(self, fn, text: str, *args):
        """`fn(text, *args)` once per string for this submission: a pure view of folded text
        (address notations, date-time notations) that detectors and the leak gate share. The
        result is shared too: callers read it and never change it."""
        key = (fn, text, *args)
        got = self._view_cache.get(key)
        if got is None:
            got = fn(text, *args)
            if len(self._view_cache) < 200_000:
                self._view_cache[key] = got
        return got

    def find_tokens(self, text: str) -> list[TokenHit]:
        """Every profile token in folded `text` (spans in folded offsets), once per string:
        DI-03, DI-04, DI-06 and the leak gate each ask about the same strings."""
        hits = self._hits_cache.get(text)
        if hits is None:
            hits = self._find_tokens(text)
            if len(self._hits_cache) < 200_000:
                self._hits_cache[text] = hits
        return hits

    def _find_tokens(self, text: str) -> list[TokenHit]:
        hits = []
        if self._automaton is not None:
            for end, (tok, kind) in self._automaton.iter(text):
                start = end - len(tok) + 1
                if tok.isascii() and len(tok) <= 4 and not _whole_word(text, start, end + 1):
                    continue  # "nec" must not match inside "connection"
                hits.append(TokenHit(start, end + 1, kind))
        if self._key_auto is None:
            return hits
        k = views.key(text)
        exact = sum(1 for _end, (tok, kind) in self._key_auto.iter(k)
                    if kind in _LOOKALIKE_KINDS and len(tok) >= 5) if self._lookalikes is not None else 0
        if exact or next(self._key_auto.iter(k), None) is not None:
            hits.extend(self._key_hits(text, self._key_auto, lookalike=False))
        # The skeleton finds every exact name again: it adds something only when it finds more.
        if self._lookalikes is not None and _may_look_alike(text) \
                and sum(1 for _hit in self._lookalikes.iter(views.skeleton(k))) > exact:
            hits.extend(self._key_hits(text, self._lookalikes, lookalike=True))
        return hits

    def _key_hits(self, text: str, auto, *, lookalike: bool) -> list[TokenHit]:
        """Hits in the key view (or its skeleton), mapped back to offsets in folded `text`.
        Only the chunks between hard punctuation (which no token holds) that hit are mapped."""
        hits = []
        for chunk in _CHUNK.finditer(text):
            base = chunk.start()
            hits.extend(TokenHit(s + base, e + base, kind)
                        for s, e, kind in self._chunk_hits(chunk.group(0), auto, lookalike))
        return hits

    def _chunk_hits(self, piece: str, auto, lookalike: bool) -> list[tuple[int, int, str]]:
        """Hits in one chunk, cached: bundles repeat sentences. The characters around a chunk
        are hard punctuation, so the word tests below need nothing outside it."""
        cached = self._chunk_cache.get((piece, lookalike))
        if cached is not None:
            return cached
        k = views.key(piece)
        if lookalike:
            k = views.skeleton(k)
        out = []
        if next(auto.iter(k), None) is not None:
            mapped = views.key_mapped(piece, lookalike=lookalike)
            for end, (tok, kind) in auto.iter(mapped.text):
                s, e = mapped.span(end - len(tok) + 1, end + 1)
                # Latin tokens: short ones, and any that spans several words ("at Yamada" is
                # not the account t.yamada), must stand as whole words.
                if tok.isascii() and (len(tok) <= 5 or not _WORD_RUN.fullmatch(piece, s, e)) \
                        and not _whole_word(piece, s, e):
                    continue
                if kind == "surname" and not _stands_alone(piece, s, e):
                    continue  # 山田工業所 is not the person 山田
                out.append((s, e, kind))
        if len(self._chunk_cache) < 50_000:
            self._chunk_cache[(piece, lookalike)] = out
        return out

    def matches_victim(self, expression: str) -> bool:
        """DI-12: True if a MATCHES expression matches a written form of a profile token.

        The expression runs against the tokens, not as text, with a time limit per form; an
        expression that cannot be run in time counts as a match (fail closed). An expression
        that also matches neutral names of the same shapes (`[a-z]+`, `.*\\.exe$`) is generic,
        not a comparison with the victim, and stays."""
        if len(expression) > 4096:
            return True
        try:
            rx = regex.compile(expression)
        except (regex.error, RecursionError, OverflowError, ValueError):
            return False  # not a regular expression this engine knows: read as text only
        try:
            if not any(rx.search(form, timeout=0.05) for form in self._sorted_forms()):
                return False
            return not any(rx.search(form, timeout=0.05) for form in _NEUTRAL_FORMS)
        except TimeoutError:
            return True

    def _sorted_forms(self) -> list[str]:
        if self._forms_list is None:
            self._forms_list = sorted(self.surface_forms, key=lambda f: (len(f), f))
        return self._forms_list

    def is_victim_domain(self, host: str) -> bool:
        """True for a victim domain or any of its subdomains (host already folded)."""
        host = host.rstrip(".")
        return any(host == d or host.endswith("." + d) for d in self.domains)

    def ip_verdict(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        """'victim' (in a profile range), 'internal' (non-routable) or None (keep)."""
        try:
            return self._ip_cache[ip]
        except KeyError:
            verdict = self._ip_cache[ip] = self._ip_verdict(ip)
            return verdict

    def _ip_verdict(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip in n for n in self.networks if n.version == ip.version):
            return "victim"
        if any(ip in n for n in NON_ROUTABLE if n.version == ip.version):
            return "internal"
        return None


# Worth a skeleton pass: letters of other scripts (Cyrillic а, Greek Α …), digits or signs next
# to letters (amag1ri, paypa|), rn / vv, or an l in a host-like string without spaces.
_LOOK_TRIGGER = re.compile(r"[^\x00-\u024f\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]"
                           r"|[a-z][0-9|$@]|[0-9|$@][a-z]|rn|vv")


def _may_look_alike(text: str) -> bool:
    """Cheap test before the skeleton pass."""
    if _HEX_ONLY.match(text):
        return False
    return _LOOK_TRIGGER.search(text) is not None or (" " not in text and "l" in text)


_JA_WORD = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u30a0-\u30ffー々]")


def _stands_alone(text: str, start: int, end: int) -> bool:
    """A family name not run together with another kanji or katakana word."""
    return not ((start > 0 and _JA_WORD.match(text[start - 1])) or (end < len(text) and _JA_WORD.match(text[end])))


def _whole_word(text: str, start: int, end: int) -> bool:
    """True if [start, end) of folded text is not inside a longer ASCII word."""
    return not ((start > 0 and _ASCII_WORD.match(text[start - 1]))
                or (end < len(text) and _ASCII_WORD.match(text[end])))
