"""DI-12: indicator patterns.

The pattern is parsed (stix2's visitor over the stix2-patterns grammar), every comparison value
goes through a judge supplied by the engine (the same detectors as free text), victim
comparisons are removed and the pattern is rebuilt. A home-path user name in an equality is
kept as a LIKE with `%` in its place, so the indicator still matches. START/STOP qualifiers are
coarsened outwards (DI-09). When nothing is left the indicator is dropped. The rebuilt pattern
is validated before it is returned: an unparsable pattern is never emitted.

A `MATCHES` comparison is a victim comparison when its regular expression matches a profile
token in one of its written forms (DI-00 item 5): the expression is *run* against the tokens
(`ProfileIndex.matches_victim`, time-bounded), not only read as text.
"""
from __future__ import annotations

import functools
import re
import sys
import threading
from dataclasses import dataclass
from typing import Callable

from stix2 import patterns as P
from stix2.pattern_visitor import create_pattern_object
from stix2patterns.validator import run_validator

from . import di09_timestamps

RULE_ID = "DI-12"
TITLE = "Indicator patterns: remove victim comparisons, keep attacker ones, drop when empty"
ACTION = "rebuild the pattern without victim comparisons; drop the indicator if nothing remains"

_UNESCAPE = re.compile(r"\\(['\\])")
_DEEP = 1500  # patterns longer than this are parsed on a thread with a large stack


class PatternError(ValueError):
    """The input pattern does not parse as STIX 2.1."""


@dataclass(frozen=True)
class Verdict:
    """What the judge says of one comparison value."""

    action: str  # "keep" | "drop" | "like"
    value: str | None = None  # the LIKE value for action "like"
    rule: str = RULE_ID
    reason: str = ""


Judge = Callable[[str, str, str], Verdict]  # (object type, property path, value) -> Verdict
RegexTest = Callable[[str], bool]  # MATCHES expression -> True if it matches a victim token


@dataclass
class PatternResult:
    """The rebuilt pattern (None = nothing left) and one entry per change."""

    pattern: str | None
    changes: list[tuple[str, str, str]]  # (rule, path, action)


def run_deep(fn, *args):
    """Run fn on a thread with a deep stack: the ANTLR tree walk recurses once per operand."""
    result, error = [], []

    def run():
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old, 200_000))
        try:
            result.append(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - re-raised on the caller's thread
            error.append(exc)
        finally:
            sys.setrecursionlimit(old)

    old_size = threading.stack_size()
    threading.stack_size(512 * 1024 * 1024)
    try:
        t = threading.Thread(target=run)
        t.start()
    finally:
        threading.stack_size(old_size)
    t.join()
    if error:
        raise error[0]
    return result[0]


# A string literal, or something quoted that is not one: a quoted path component (.'SHA-256'),
# a timestamp (t'…'), binary (b'…') or hex (h'…') constant.
_QUOTED = re.compile(r"(?P<prefix>(?<![A-Za-z0-9_])[tbhTBH]|\.)?'(?P<body>(?:[^'\\]|\\.)*)'")
_HEX = re.compile(r"^[0-9a-fA-F]+$")


def skeleton(pattern: str) -> tuple[str, list[str]]:
    """The pattern with every string literal replaced by a placeholder, and the literals in order.

    Patterns of one shape share a skeleton, so the (slow) ANTLR parse runs once per shape.
    Hex literals keep their length so that hash comparisons stay valid.
    """
    literals: list[str] = []

    def sub(m: re.Match) -> str:
        if m.group("prefix"):
            return m.group(0)
        body = m.group("body")
        literals.append(body)
        return "'" + ("0" * len(body) if _HEX.match(body) else "x") + "'"

    return _QUOTED.sub(sub, pattern), literals


def _parse_text(pattern: str):
    errors = run_validator(pattern, stix_version="2.1")
    if errors:
        raise PatternError("not a valid STIX 2.1 pattern")
    return create_pattern_object(pattern, version="2.1")


def _parse_guarded(pattern: str):
    try:
        return run_deep(_parse_text, pattern) if len(pattern) > _DEEP else _parse_text(pattern)
    except PatternError:
        raise
    except Exception:  # the grammar's own errors are of many kinds
        raise PatternError("not a valid STIX 2.1 pattern") from None


@functools.lru_cache(maxsize=4096)
def _parse_skeleton(skel: str):
    try:
        return _parse_guarded(skel), None
    except PatternError as exc:
        return None, exc


# A quoted path component followed by a list index (`.'X-Session'[*]`) is valid STIX, but the
# stix2 visitor cannot build it: such keys are parsed under a placeholder name and put back.
_KEY_MARK = "qkey9d2e__"
_KEY_BACK = re.compile(_KEY_MARK + r"(\d+)(?![A-Za-z0-9_])")


def protect_keys(pattern: str) -> tuple[str, list[str]]:
    """The pattern with every quoted key that precedes `[` renamed with a marker and a number, and the keys."""
    keys: list[str] = []
    if _KEY_MARK in pattern:  # the marker itself is written in the input: leave the pattern alone
        return pattern, keys

    def sub(m: re.Match) -> str:
        if m.group("prefix") == "." and pattern[m.end():m.end() + 1] == "[":
            keys.append(m.group(0)[1:])
            return f".{_KEY_MARK}{len(keys) - 1}"
        return m.group(0)

    return _QUOTED.sub(sub, pattern), keys


def restore_keys(path: str, keys: list[str]) -> str:
    """Undo `protect_keys` in a path rendered from the AST."""
    if not keys:
        return path
    return _KEY_BACK.sub(lambda m: keys[int(m.group(1))] if int(m.group(1)) < len(keys) else m.group(0), path)


def parse(pattern: str):
    """Parse a STIX 2.1 pattern: (stix2 AST, string literals in walk order); PatternError if invalid.

    Quoted keys before a list index are renamed (see `protect_keys`); callers restore them."""
    pattern, _keys = protect_keys(pattern)
    skel, literals = skeleton(pattern)
    tree, _err = _parse_skeleton(skel)
    if tree is None:  # a placeholder may not fit (an SSDEEP hash, say): parse the real text
        if _keys and run_validator(restore_keys(pattern, _keys), stix_version="2.1"):
            raise PatternError("not a valid STIX 2.1 pattern")
        tree = _parse_guarded(pattern)
    return tree, literals


@functools.lru_cache(maxsize=4096)
def _valid_text(pattern: str) -> bool:
    try:
        errs = run_deep(run_validator, pattern, "2.1") if len(pattern) > _DEEP else run_validator(pattern, "2.1")
    except Exception:
        return False
    return not errs


def is_valid(pattern: str) -> bool:
    """True if the pattern parses as STIX 2.1 (checked by shape first, then as written)."""
    return _valid_text(skeleton(pattern)[0]) or _valid_text(pattern)


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class _Rewriter:
    def __init__(self, judge: Judge, granularity: str, literals: list[str], keys: list[str] = (),
                 regex_test: RegexTest | None = None):
        self.judge = judge
        self.keys = list(keys)
        self.regex_test = regex_test
        self._literals = iter(literals)
        self.granularity = granularity
        self.changes: list[tuple[str, str, str]] = []

    # -- observation level -------------------------------------------------------------
    def observation(self, node) -> str | None:
        if isinstance(node, P.QualifiedObservationExpression):
            inner = self.observation(node.observation_expression)
            return None if inner is None else f"{inner} {self.qualifier(node.qualifier)}"
        if isinstance(node, P._CompoundObservationExpression):
            parts = [p for p in (self.observation(o) for o in node.operands) if p is not None]
            if len(parts) < len(node.operands) and parts:
                self.changes.append((RULE_ID, node.operator, "operand removed"))
            return f" {node.operator} ".join(parts) if parts else None
        if isinstance(node, P.ParentheticalExpression):
            inner = self.observation(node.expression)
            return None if inner is None else f"({inner})"
        if isinstance(node, P.ObservationExpression):
            inner = self.boolean(node.operand)
            return None if inner is None else f"[{inner}]"
        raise PatternError("unsupported pattern construct")

    def qualifier(self, q) -> str:
        if isinstance(q, P.StartStopQualifier):
            start = self._coarse(q.start_time, ceil=False)
            stop = self._coarse(q.stop_time, ceil=True)
            return f"START t'{start}' STOP t'{stop}'"
        return str(q)

    def _coarse(self, const, ceil: bool) -> str:
        dt = const.value
        new = di09_timestamps.coarsen_datetime(dt, self.granularity, ceil=ceil)
        if new != dt:
            self.changes.append(("DI-09", "START/STOP", "coarsened"))
        return di09_timestamps.format_stix(new, millis=False)

    # -- comparison level --------------------------------------------------------------
    def boolean(self, node) -> str | None:
        if isinstance(node, P.ParentheticalExpression):
            inner = self.boolean(node.expression)
            return None if inner is None else f"({inner})"
        if isinstance(node, P._BooleanExpression):
            parts = [p for p in (self.boolean(o) for o in node.operands) if p is not None]
            return f" {node.operator} ".join(parts) if parts else None
        if isinstance(node, P._ComparisonExpression):
            return self.comparison(node)
        raise PatternError("unsupported pattern construct")

    def comparison(self, node) -> str | None:
        path = restore_keys(str(node.lhs), self.keys)
        obj_type = node.lhs.object_type_name
        neg = "NOT " if node.negated else ""
        rhs = node.rhs
        if isinstance(rhs, P.ListConstant):
            kept = []
            for item in rhs.value:
                v = self._value(item)
                verdict = self.judge(obj_type, path, v) if v is not None else Verdict("keep")
                if verdict.action == "keep":
                    kept.append(str(item) if v is None else _quote(v))
                else:
                    self.changes.append((verdict.rule, path, "list value removed"))
            if not kept:
                return None
            return f"{path} {neg}{node.operator} ({', '.join(kept)})"
        if isinstance(rhs, P.TimestampConstant):
            self.changes.append(("DI-09", path, "timestamp comparison removed"))
            return None
        value = self._value(rhs)
        if node.operator == "MATCHES" and value is not None and self.regex_test and self.regex_test(value):
            self.changes.append((RULE_ID, path, "MATCHES expression matches a victim token: comparison removed"))
            return None
        if value is None:  # numbers, booleans, hex/binary constants name no one
            verdict = self.judge(obj_type, path, "")
            if verdict.action == "keep":
                return f"{path} {neg}{node.operator} {rhs}"
            self.changes.append((verdict.rule, path, "comparison removed"))
            return None
        verdict = self.judge(obj_type, path, value)
        if verdict.action == "keep":
            return f"{path} {neg}{node.operator} {_quote(value)}"
        if verdict.action == "like" and node.operator in ("=", "LIKE"):
            self.changes.append((verdict.rule, path, "value generalised to LIKE"))
            return f"{path} {neg}LIKE {_quote(verdict.value)}"
        self.changes.append((verdict.rule, path, "comparison removed"))
        return None

    def _value(self, const) -> str | None:
        """The next string literal of the pattern (the AST may hold a placeholder)."""
        if isinstance(const, P.StringConstant):  # includes HashConstant
            return _UNESCAPE.sub(r"\1", next(self._literals))
        return None


def rewrite(pattern: str, judge: Judge, granularity: str = "day",
            regex_test: RegexTest | None = None) -> PatternResult:
    """Rebuild `pattern` without victim comparisons. Raises PatternError if it does not parse."""
    tree, literals = parse(pattern)
    rw = _Rewriter(judge, granularity, literals, protect_keys(pattern)[1], regex_test)
    if len(pattern) > _DEEP:
        new = run_deep(rw.observation, tree)
    else:
        new = rw.observation(tree)
    if new is not None and not is_valid(new):
        rw.changes.append((RULE_ID, "pattern", "rebuilt pattern invalid; indicator dropped"))
        new = None
    return PatternResult(new, rw.changes)
