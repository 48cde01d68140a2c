"""Property tests of the STIX pattern rewriter (DI-12), through both of its entry points: the
rewriter itself (`di12_patterns.rewrite`, which the engine's `_decide_pattern` calls) and the
whole sanitiser on an indicator. Generated patterns — valid ones built from the grammar with
victim and attacker values in many spellings, the same with random edits, and random text —
never raise anything but PatternError (the rewriter) / BadInput or LeakRefused (the sanitiser),
and never keep a victim value in the output. The leak gate refuses only what holds a victim value,
and a clean pattern (attacker values only) is never refused: a sanitiser that refused everything
would fail here.

Runs in a few seconds. A longer fuzz:

    HYPOTHESIS_PROFILE=long .venv/bin/python -m pytest tests/test_pattern_fuzz.py
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sanitizer import BadInput, LeakRefused
from sanitizer.normalize import Folded
from sanitizer.rules import di12_patterns
from sanitizer.rules.di12_patterns import PatternError, Verdict, is_valid

from conftest import bundle, indicator, run

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
settings.register_profile("pattern-quick", max_examples=60, **_COMMON)
settings.register_profile("long", max_examples=3000, **_COMMON)
PROFILE_NAME = "long" if os.environ.get("HYPOTHESIS_PROFILE") == "long" else "pattern-quick"
QUICK = settings.get_profile(PROFILE_NAME)
# The rewriter alone is cheap: more examples in the same time.
MORE = settings(QUICK, max_examples=QUICK.max_examples * 3)

# What identifies the victim (from the test profile), in the spellings submissions use.
VICTIM = [
    "acme-seiko.example", "files.acme-seiko.example", "ACME-SEIKO.EXAMPLE", "acme-seiko[.]example",
    "ａｃｍｅ－ｓｅｉｋｏ．ｅｘａｍｐｌｅ", "https://vpn.acme-seiko.example/login", "acme%2Dseiko.example",
    "198.51.100.97", "198.51.100.101", "2001:db8:a:1::5", "t.yamada@acme-seiko.example",
    "t.yamada[@]acme-seiko[.]example", "acme.private@mail.example", "ACM-FS01", "acm-fs01.corp", "t.yamada",
    "山田 太郎", "Taro Yamada", "ACME-MES", "株式会社アクメ精工", "Acme Seiko", "ACMESK", "アクメ精工",
    "C:\\Users\\t.yamada\\Desktop\\run.exe", "\\\\ACM-FS01\\share\\x.doc",
]
# What must never be in the output: the profile's values (a fragment such as "アクメ" alone names
# no one), folded the way the detectors fold, so a respelled victim value counts as the value.
FORBIDDEN = ["acme-seiko.example", "198.51.100.97", "198.51.100.101", "2001:db8:a:1::5", "t.yamada",
             "acme.private@mail.example", "acm-fs01", "山田 太郎", "taro yamada", "acme-mes", "アクメ精工",
             "アクメセイコウ", "acme seiko", "acmesk"]
ATTACKER = ["c2.evil.example", "192.0.2.5", "203.0.113.9", "x@attacker.example", "dropper.exe",
            "https://kit.example/a?b=c", "HKEY_LOCAL_MACHINE\\Software\\Run", "Global\\mtx-01", "", "it's",
            "a\\b", "%", "_", "[.]", "ＡＢＣ", "\u202e", "x" * 300]
# Object types and their string properties. One observation compares one object type (AND
# across types is not STIX 2.1: the parser refuses it, the sanitiser answers BadInput).
PROPS = {
    "ipv4-addr": ["value"], "ipv6-addr": ["value"], "domain-name": ["value"], "url": ["value"],
    "email-addr": ["value", "display_name"], "email-message": ["from_ref.value", "to_refs[*].value", "subject"],
    "file": ["name", "parent_directory_ref.path", "extensions.'ntfs-ext'.alternate_data_streams[0].name"],
    "directory": ["path"], "process": ["command_line", "cwd"], "user-account": ["user_id", "account_login"],
    "windows-registry-key": ["key"], "mutex": ["name"], "software": ["name"],
    "network-traffic": ["dst_ref.value", "src_ref.value"], "x-acme-custom": ["prop"],
}
STRING_OPS = ["=", "!=", "LIKE", "MATCHES", ">", "<=", "NOT =", "NOT LIKE"]


def quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


values = st.sampled_from(VICTIM + ATTACKER) | st.text(max_size=12)
clean_values = st.sampled_from(ATTACKER) | st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._", max_size=12)
# Anything that names the victim, as written in a pattern (the refusal must have one of these).
VICTIM_MARKERS = VICTIM + FORBIDDEN + ["198.51.100.96/29", "198.51.100.97/32"]


@st.composite
def comparison(draw, obj_type: str, vals=values,
               ranges=("198.51.100.96/29", "192.0.2.0/24", "198.51.100.97/32")) -> str:
    kind = draw(st.integers(0, 9))
    if obj_type == "network-traffic" and kind == 0:
        return f"network-traffic:dst_port {draw(st.sampled_from(['=', '>', '<', '!=']))} {draw(st.integers(0, 70000))}"
    if obj_type == "file" and kind == 1:
        algo, n = draw(st.sampled_from([("'SHA-256'", 64), ("MD5", 32), ("'SHA-1'", 40)]))
        return f"file:hashes.{algo} = '{draw(st.sampled_from('0123456789abcdef')) * n}'"
    if obj_type == "file" and kind == 2:
        return "file:created > t'2025-03-14T02:13:45Z'"
    if obj_type == "ipv4-addr" and kind == 4:
        return f"ipv4-addr:value {draw(st.sampled_from(['ISSUBSET', 'ISSUPERSET']))} " \
               f"{quote(draw(st.sampled_from(ranges)))}"
    path = f"{obj_type}:{draw(st.sampled_from(PROPS[obj_type]))}"
    if kind == 3:
        items = draw(st.lists(vals, min_size=1, max_size=4))
        return f"{path} IN ({', '.join(quote(v) for v in items)})"
    return f"{path} {draw(st.sampled_from(STRING_OPS))} {quote(draw(vals))}"


@st.composite
def comparison_expression(draw, obj_type: str, depth: int = 0, clean: bool = False) -> str:
    if depth >= 2 or draw(st.booleans()):
        return draw(comparison(obj_type, clean_values, ("192.0.2.0/24",)) if clean else comparison(obj_type))
    a = draw(comparison_expression(obj_type, depth + 1, clean))
    b = draw(comparison_expression(obj_type, depth + 1, clean))
    joined = f"{a} {draw(st.sampled_from(['AND', 'OR']))} {b}"
    return f"({joined})" if draw(st.booleans()) else joined


@st.composite
def observation(draw, clean: bool = False) -> str:
    obj_type = draw(st.sampled_from(sorted(PROPS)))
    inner = draw(comparison_expression(obj_type, clean=clean))
    if draw(st.integers(0, 3)) == 0:  # OR may join different object types
        other = draw(st.sampled_from(sorted(PROPS)))
        extra = comparison(other, clean_values, ("192.0.2.0/24",)) if clean else comparison(other)
        inner = f"{inner} OR {draw(extra)}"
    return f"[{inner}]"


QUALIFIERS = ["", " WITHIN 60 SECONDS", " REPEATS 3 TIMES",
              " START t'2025-03-14T02:13:45Z' STOP t'2025-03-15T02:13:45.123Z'"]


def observations(inner):
    return st.one_of(
        st.builds(lambda a, op, b: f"{a} {op} {b}", inner, st.sampled_from(["AND", "OR", "FOLLOWEDBY"]), inner),
        st.builds(lambda a, q: f"({a}){q}", inner, st.sampled_from(QUALIFIERS)))


patterns = st.recursive(observation(), observations, max_leaves=4)
# Custom object types are dropped by design (DI-15), so a clean pattern names standard ones only.
clean_patterns = st.recursive(observation(clean=True), observations, max_leaves=4).filter(
    lambda p: "x-acme-custom" not in p)


@st.composite
def edited(draw) -> str:
    """A valid pattern with random edits: slices cut, grammar characters put in."""
    text = draw(patterns)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 8)))
        text = text[:i] + draw(st.text(alphabet="[]()'\\ =:.*ANDORTSLIKE0123456789", max_size=4)) + text[j:]
    return text


anything = patterns | edited() | st.text(max_size=80)


def folded(text: str) -> str:
    return Folded(text).text


def assert_no_victim_value(text: str) -> None:
    low = folded(text)
    for token in FORBIDDEN:
        assert folded(token) not in low, f"a victim value ({token!r}) is in the output"


def assert_names_the_victim(pattern: str) -> None:
    """The leak gate refused: that is right only if the input held a victim value."""
    assert any(m in pattern or folded(m) in folded(pattern) for m in VICTIM_MARKERS), \
        "the leak gate refused a pattern that holds no victim value"


def victim_judge(_obj_type: str, _path: str, value: str) -> Verdict:
    """A judge that drops every comparison whose value names the victim."""
    return Verdict("drop", rule="TEST") if any(folded(t) in folded(value) for t in FORBIDDEN) else Verdict("keep")


# ----------------------------------------------------------------------------- the rewriter
@MORE
@given(anything)
def test_rewrite_raises_only_pattern_error_and_keeps_no_dropped_value(pattern):
    try:
        result = di12_patterns.rewrite(pattern, victim_judge)
    except PatternError:
        return
    if result.pattern is not None:
        assert is_valid(result.pattern)
        assert_no_victim_value(result.pattern)


@QUICK
@given(patterns)
def test_generated_patterns_are_valid_stix(pattern):
    """The generator is right: what it builds parses (else the tests above prove little)."""
    di12_patterns.parse(pattern)  # PatternError fails the test


# ----------------------------------------------------------------------------- the sanitiser
@QUICK
@given(anything)
def test_sanitiser_on_any_pattern_answers_output_bad_input_or_refusal_never_a_victim_value(pattern):
    try:
        result = run(bundle(indicator(1, pattern)))
    except BadInput:
        return  # a malformed pattern (random text, edits): refused as input, nothing written
    except LeakRefused:
        assert_names_the_victim(pattern)
        return
    text = result.to_json().decode("utf-8")
    assert_no_victim_value(text)
    for o in result.bundle["objects"]:
        if o["type"] == "indicator":
            assert is_valid(o["pattern"])


@QUICK
@given(patterns, st.sampled_from(VICTIM))
def test_a_victim_comparison_never_survives_next_to_an_attacker_one(pattern, victim):
    """An attacker comparison keeps the indicator; the victim comparison beside it goes."""
    combined = f"[domain-name:value = 'c2.evil.example' OR url:value = {quote(victim)}] AND {pattern}"
    try:
        result = run(bundle(indicator(1, combined)))
    except BadInput:
        return
    except LeakRefused:
        assert_names_the_victim(combined)
        return
    assert_no_victim_value(result.to_json().decode("utf-8"))
    (ind,) = [o for o in result.bundle["objects"] if o["type"] == "indicator"]
    assert "c2.evil.example" in ind["pattern"]


def test_the_checker_sees_respelled_victim_values():
    """assert_no_victim_value must catch the spellings the generator uses, or it proves nothing."""
    for v in VICTIM:
        try:
            assert_no_victim_value(f"[url:value = {quote(v)}]")
        except AssertionError:
            continue
        raise AssertionError(f"the checker misses {v!r}")


@QUICK
@given(clean_patterns)
def test_sanitiser_never_refuses_a_clean_pattern(pattern):
    """Attacker values only: neither refused by the leak gate nor as bad input (any exception
    fails the test); an indicator that stays (command lines and the like are dropped by rule)
    keeps a valid pattern."""
    result = run(bundle(indicator(1, pattern)))
    for ind in (o for o in result.bundle["objects"] if o["type"] == "indicator"):
        assert is_valid(ind["pattern"])
