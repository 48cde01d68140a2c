"""The shared leak corpus: the visible cases pass the checker, and so do variants of them in which
every victim string is respelled (full width, upper case, defanged, %-encoded) — the classes,
not the cases."""
from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import unicodedata

import pytest

from sanitizer import Policy, VictimProfile, sanitize

from conftest import ROOT, SECRET, SHARED

CORPUS = SHARED / "corpus" / "visible"
CASES = sorted(p for p in CORPUS.iterdir() if (p / "expect.json").is_file()) if CORPUS.is_dir() else []


def _leakcheck():
    spec = importlib.util.spec_from_file_location("leakcheck", SHARED / "corpus" / "leakcheck.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_corpus_is_present():
    assert len(CASES) >= 12, f"expected the shared corpus under {CORPUS}"


@pytest.mark.parametrize("corpus_set", ["visible", "visible-v2"])
def test_corpus_set_passes_leakcheck(corpus_set):
    """Both visible sets: v1 (the rules) and v2 (DI-00 views and the v2 amendments), every case
    leak-free, id-leak-free and valid, every attacker indicator kept."""
    proc = subprocess.run([sys.executable, str(SHARED / "corpus" / "leakcheck.py"), str(SHARED / "corpus" / corpus_set),
                           "--hub", f"{sys.executable} -m hub"], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)
    summary = proc.stdout.strip().splitlines()[-1]
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert summary.startswith("cases 12, leak-free 12/12, id-leak-free 12/12"), summary
    kept, total = re.search(r"kept (\d+)/(\d+) indicators", summary).groups()
    assert kept == total, summary
    assert "valid 12/12" in summary, summary


# ----------------------------------------------------------------------------- variants
def full_width(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in s)


def defang(s: str) -> str:
    return s.replace("http", "hxxp").replace(".", "[.]").replace("@", "[@]")


def pct(s: str) -> str:
    return s.replace("@", "%40").replace(".", "%2E")


MUTATIONS = {"upper": str.upper, "full-width": full_width, "defang": defang, "percent": pct}
_SKIP_KEYS = re.compile(r"^(id|type|spec_version|created|modified|first_seen|last_seen|first_observed|"
                        r"last_observed|valid_from|valid_until|date|published|.*_refs?)$")
_TIMESTAMP = re.compile(r"\d{4}[-/]\d{2}[-/]\d{2}[T ]\d{2}:\d{2}")
_IP = re.compile(r"^[0-9a-f.:]+$")


def mutate(node, needles, fn, key=""):
    """Respell every needle inside every string of the input (values and keys)."""
    if isinstance(node, dict):
        return {mutate(k, needles, fn): (v if _SKIP_KEYS.match(k) else mutate(v, needles, fn, k))
                for k, v in node.items()}
    if isinstance(node, list):
        return [mutate(v, needles, fn, key) for v in node]
    if isinstance(node, str):
        for n in needles:
            if n in node:
                node = node.replace(n, fn(n))
        return node
    return node


def variant_ids():
    return [f"{c.name}:{m}" for c in CASES for m in MUTATIONS]


@pytest.mark.parametrize("case_mut", variant_ids())
def test_respelled_victim_strings_never_leak(case_mut):
    lc = _leakcheck()
    case_name, mut = case_mut.split(":")
    case = CORPUS / case_name
    expect = json.loads((case / "expect.json").read_text(encoding="utf-8"))
    profile = json.loads((case / "profile.json").read_text(encoding="utf-8"))
    source = json.loads((case / "input.json").read_text(encoding="utf-8"))
    fn = MUTATIONS[mut]
    needles = sorted((n for n in expect["must_not_appear"] if not _TIMESTAMP.search(n)
                      and not (mut == "upper" and _IP.match(n))), key=len, reverse=True)
    if mut in ("defang", "percent"):  # only network names are written that way
        needles = [n for n in needles if "." in n and n.isascii()]
    mutated = mutate(source, needles, fn)
    result = sanitize(mutated, VictimProfile.from_dict(profile), Policy(), secret=SECRET)
    raw = result.to_json().decode("utf-8")
    hay = lc.Haystack(raw, json.loads(raw))
    leaks = [n for n in expect["must_not_appear"] if hay.contains(n)]
    leaks += [unicodedata.normalize("NFKC", fn(n)) for n in needles if fn(n) in raw]
    assert not leaks
    missing = [k for k in expect["must_keep"] if not hay.contains(k)]
    assert not missing
    assert not lc.check_valid(json.loads(raw))
