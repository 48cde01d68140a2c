"""The sanitiser's fast paths give what the slow paths give (bench/README.md, "throughput"):
SCO ids are the ids stix2 computes, the leak gate names the JSON path of a leak wherever it sits,
quoted ids are swapped at any depth, and encoded tokens are still read whatever the text around them."""
from __future__ import annotations

import random

import pytest
import stix2
from stix2.canonicalization.Canonicalize import canonicalize

from sanitizer import decoders
from sanitizer.engine import recheck
from sanitizer.rules.di13_ids import canonical_json

from conftest import bundle, objects_of, run, sco, sdo

_CHARS = [chr(c) for c in [*range(0x00, 0x80), 0xA0, 0xE9, 0x2028, 0x3042, 0xD7FF, 0xE000, 0xFFFF, 0x1F600]]


def _value(rng: random.Random, depth: int = 0):
    r = rng.random()
    if depth > 2 or r < 0.4:
        return "".join(rng.choice(_CHARS) for _ in range(rng.randint(0, 10)))
    if r < 0.55:
        return rng.choice([0, 7, -3, 2**60, True, False, None, 1.5, 1e21])
    if r < 0.75:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    keys = ["value", "name", "hashes", "SHA-256", "Z", "a_b", "é", "日本", "\U0001F600", "\uE000"]
    return {rng.choice(keys): _value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def test_canonical_json_is_stix2_canonical_form():
    rng = random.Random(13)
    for _ in range(3000):
        data = {"value": _value(rng), rng.choice(["name", "é", "\U0001F600"]): _value(rng)}
        assert canonical_json(data) == canonicalize(data, utf8=False), data


@pytest.mark.parametrize("make", [
    lambda: stix2.File(name="a\u0001\"b\\c\u2028é.exe", hashes={"SHA-256": "ab" * 32}),
    lambda: stix2.EmailAddress(value="田中@example.jp"),
    lambda: stix2.URL(value="https://c2.example.net/\u3042?q=\t1"),
])
def test_sco_ids_are_the_ids_stix2_computes(make):
    obj = make()
    res = run(bundle(sco(obj["type"], 90, **{k: v for k, v in obj.items() if k not in ("type", "id", "spec_version")})))
    assert objects_of(res, obj["type"])[0]["id"] == obj.id


def test_leak_gate_names_the_path_of_a_leak_in_nested_keys_and_lists():
    inp = bundle(sdo("malware", 91, name="PlugX", is_family=True))
    out = run(inp).bundle
    out["objects"][-1]["extensions"] = {"x-ext": {"notes": [{"k": "ok"}, "Acme Seiko"], "ACM-FS01": 1}}
    where = {h.where.split(").", 1)[1] for h in recheck(out, inp, _profile())}
    assert where == {"extensions.x-ext.notes[1]", "extensions.x-ext.ACM-FS01 (key)"}


def test_original_ids_quoted_deep_in_lists_are_swapped():
    target = sdo("malware", 92, name="PlugX", is_family=True)
    quoting = sdo("malware", 93, name="Other", is_family=True, labels=["see " + target["id"]],
                  kill_chain_phases=[{"kill_chain_name": "see " + target["id"], "phase_name": "x"}])
    res = run(bundle(target, quoting))
    text = str(res.bundle)
    assert target["id"].split("--", 1)[1] not in text


@pytest.mark.parametrize("text", [
    "=?utf-8?b?44Ki44Kv44Oh57K+5bel?=", "=E3=82=A2=E3=82=AF=E3=83=A1", "0x41, 0x63, 0x6d, 0x65, 0x20, 0x53",
    "41 63 6d 65 20 53 65 69 6b 6f", "416363656d6520536569", "QWNtZSBTZWlrbw==",
])
def test_encoded_tokens_are_still_read(text):
    readings = [r for _s, _e, rs in decoders.candidates("token: " + text + " end") for r in rs]
    assert any("Ac" in r or "アク" in r for r in readings), readings


def test_prefilter_never_hides_a_token_the_full_scan_finds():
    rng = random.Random(29)
    alphabet = "0123456789abcdefABCDEFxX=? -,/q"
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(8, 40)))
        full = {m.span() for m in decoders._ANY.finditer(text) if m.lastgroup != "uuid"}
        assert full <= {(s, e) for s, e, _r in decoders.candidates(text)}, text


def _profile():
    from conftest import PROFILE
    from sanitizer import VictimProfile

    return VictimProfile.from_dict(PROFILE)
