"""Render the model NDA clauses (Japanese original, English translation) as Markdown or a standalone HTML page.

    >>> from nda_templates.render import render, CLAUSE_IDS
    >>> text = render("ja", party_a="株式会社例示セキュリティ", party_b="例示工業株式会社")
    >>> page = render("en", party_a="Example CSIRT", party_b="Example Corp.", fmt="html", term_years=5)

Templates are read with importlib.resources, so rendering works from an installed package too.

Escaping (fmt="html"): the templates are rendered with autoescape on, so every variable reaches the Markdown
converter already HTML-escaped and cannot create Markdown or HTML structure; the converter then decides the
structure (headings, paragraphs, blockquotes, lists) and emits every text node through ``html.escape``
(after undoing the autoescape, so nothing is escaped twice). The templates' static text contains no ``&``,
``<`` or ``>`` apart from the leading ``>`` of quote lines, and no line starts with a variable.
"""
from __future__ import annotations

import datetime as _dt
import functools
import html
import importlib.resources
import re
import unicodedata
from typing import Any

import jinja2

__all__ = ["CLAUSE_IDS", "CLAUSE_TITLES", "FORMATS", "LANGS", "TLP_CEILINGS", "VARIABLES", "defaults", "render"]

#: clause id -> (Japanese title, English title). Order is the order in both templates.
CLAUSE_TITLES: dict[str, tuple[str, str]] = {
    "NDA-01": ("目的", "Purpose"),
    "NDA-02": ("定義", "Definitions"),
    "NDA-03": ("非特定化攻撃技術情報の共有", "Sharing of De-identified Information"),
    "NDA-04": ("非特定化加工の義務", "Duty to De-identify"),
    "NDA-05": ("秘密保持", "Confidentiality"),
    "NDA-06": ("将来の共有に対する異議", "Objection to Future Sharing"),
    "NDA-07": ("責任の制限", "Limitation of Liability"),
    "NDA-08": ("保存及び削除", "Retention and Deletion"),
    "NDA-09": ("有効期間", "Term"),
    "NDA-10": ("準拠法、管轄裁判所及び正文", "Governing Law, Jurisdiction and Authoritative Text"),
}
CLAUSE_IDS: tuple[str, ...] = tuple(CLAUSE_TITLES)

LANGS: tuple[str, ...] = ("ja", "en")
FORMATS: tuple[str, ...] = ("md", "html")
#: TLP 2.0 levels a sharing ceiling may take (TLP:RED cannot be shared with a hub).
TLP_CEILINGS: tuple[str, ...] = ("TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT")

_TEMPLATES = {"ja": "clauses_ja.md.j2", "en": "clauses_en.md.j2"}

_DEFAULTS: dict[str, dict[str, Any]] = {
    "ja": {
        "effective_date": "＿＿＿＿年＿＿月＿＿日",
        "term_years": 3,
        "tlp_ceiling": "TLP:AMBER",
        "retention_days": 365,
        "governing_law": "日本法",
        "jurisdiction": "東京地方裁判所",
        "hub_name": "攻撃技術情報共有ハブ",
        "scope": "専門組織が被害組織に提供するインシデント対応業務（調査、解析及び復旧の支援を含む。）",
    },
    "en": {
        "effective_date": "____________",
        "term_years": 3,
        "tlp_ceiling": "TLP:AMBER",
        "retention_days": 365,
        "governing_law": "the laws of Japan",
        "jurisdiction": "Tokyo District Court",
        "hub_name": "the attack-technique sharing hub",
        "scope": ("the incident response services, including investigation, analysis and recovery support, "
                  "provided by the Expert Organisation to the Victim Organisation"),
    },
}

#: every variable the templates use
VARIABLES: frozenset[str] = frozenset({"party_a", "party_b", *_DEFAULTS["ja"]})

_MAX_LEN = {"party_a": 200, "party_b": 200, "scope": 1000}
_MAX_LEN_OTHER = 200
_INT_RANGES = {"term_years": (1, 99), "retention_days": (1, 3650)}
# control, format (zero-width, bidi overrides), surrogates, line/paragraph separators
_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def defaults(lang: str) -> dict[str, Any]:
    """The default template variables for lang (a copy)."""
    _check_choice("lang", lang, LANGS)
    return dict(_DEFAULTS[lang])


def render(lang: str, *, party_a: str, party_b: str, fmt: str = "md", **variables: Any) -> str:
    """Render the clause set in lang ("ja" original, "en" translation) as Markdown (fmt="md") or as a
    standalone HTML page (fmt="html").

    party_a is the expert organisation (CSIRT, IR vendor), party_b the victim organisation. Other variables:
    effective_date (str or datetime.date), term_years (int, default 3), tlp_ceiling (default "TLP:AMBER"),
    retention_days (int, default 365), governing_law, jurisdiction, hub_name, scope.
    Raises ValueError (one line naming the argument, never its value) on invalid input."""
    _check_choice("lang", lang, LANGS)
    _check_choice("fmt", fmt, FORMATS)
    for name in variables:
        if name not in VARIABLES:
            shown = name if name.isidentifier() and len(name) <= 40 else "<invalid name>"
            raise ValueError(f"unknown template variable: {shown}")
    values = {**_DEFAULTS[lang], **variables, "party_a": party_a, "party_b": party_b}
    context = {name: _clean(name, value, lang) for name, value in values.items()}
    as_html = fmt == "html"
    text = _environment(as_html).get_template(_TEMPLATES[lang]).render(context)
    if not as_html:
        return text
    return _page(text, lang)


# ---------------------------------------------------------------------------------------------- validation

def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of: {', '.join(choices)}")


def _clean(name: str, value: object, lang: str) -> str | int:
    if name in _INT_RANGES:
        low, high = _INT_RANGES[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{name} must be an integer from {low} to {high}")
        return value
    if name == "effective_date" and isinstance(value, _dt.date):
        day = value.date() if isinstance(value, _dt.datetime) else value
        if lang == "ja":
            return f"{day.year}年{day.month}月{day.day}日"
        return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    value = value.strip()
    if not value:
        raise ValueError(f"{name} must not be empty")
    limit = _MAX_LEN.get(name, _MAX_LEN_OTHER)
    if len(value) > limit:
        raise ValueError(f"{name} must be at most {limit} characters")
    if any(unicodedata.category(ch) in _BAD_CATEGORIES for ch in value):
        raise ValueError(f"{name} must not contain control characters")
    if name == "tlp_ceiling":
        value = value.upper()
        if value not in TLP_CEILINGS:
            raise ValueError(f"tlp_ceiling must be one of: {', '.join(TLP_CEILINGS)}")
    return value


# ---------------------------------------------------------------------------------------------- templates

def _load(name: str) -> str | None:
    resource = importlib.resources.files(__package__ or "nda_templates").joinpath(name)
    try:
        return resource.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError):
        return None


@functools.cache
def _environment(autoescape: bool) -> jinja2.Environment:
    """The Jinja2 environment: StrictUndefined always; autoescape for the HTML output."""
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(_load),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


# ---------------------------------------------------------------------------------------------- Markdown -> HTML
# The subset the templates use: ATX headings, paragraphs, "> " blockquotes (nesting any of these), "- " and
# "1. " lists nested by indentation. Input text is HTML-escaped already (autoescape); every text node is
# unescaped and escaped again, so the output is escaped exactly once whatever the input.

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*$")
_ITEM = re.compile(r"^([ ]*)(?:[-*]|(\d{1,9})[.)])[ \t]+(.*)$")
_CLAUSE_ID = re.compile(r"\[(NDA-\d{2})\]")
_CSS = ("body{font-family:system-ui,sans-serif;line-height:1.7;max-width:46rem;margin:2rem auto;padding:0 1rem}"
        "blockquote{margin:0.8rem 0;padding:0.4rem 1rem;border-left:4px solid #999;background:#f4f4f4}"
        "h2{margin-top:2rem}")


def _text(segment: str) -> str:
    return html.escape(html.unescape(segment.strip()))


def _blocks(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        heading = _HEADING.match(line)
        if heading:
            level = len(heading[1])
            clause = _CLAUSE_ID.search(heading[2])
            anchor = f' id="{clause[1].lower()}"' if clause else ""
            out.append(f"<h{level}{anchor}>{_text(heading[2])}</h{level}>")
            i += 1
            continue
        if line.startswith(">"):
            quoted = []
            while i < len(lines) and lines[i].startswith(">"):
                quoted.append(lines[i][1:].removeprefix(" "))
                i += 1
            out.append("<blockquote>\n" + "\n".join(_blocks(quoted)) + "\n</blockquote>")
            continue
        if _ITEM.match(line):
            start = i
            i += 1
            while i < len(lines) and lines[i].strip() and (_ITEM.match(lines[i]) or lines[i].startswith(" ")):
                i += 1
            out.append(_list(lines[start:i]))
            continue
        para = []
        while (i < len(lines) and lines[i].strip() and not _HEADING.match(lines[i])
               and not lines[i].startswith(">") and not _ITEM.match(lines[i])):
            para.append(_text(lines[i]))
            i += 1
        out.append("<p>" + "\n".join(para) + "</p>")
    return out


def _list(lines: list[str]) -> str:
    first = _ITEM.match(lines[0])
    assert first is not None
    base = len(first[1])
    ordered = first[2] is not None
    items: list[tuple[str, list[str]]] = []
    for line in lines:
        item = _ITEM.match(line)
        if item and len(item[1]) <= base:
            items.append((item[3], []))
        else:                                   # deeper: a nested list (or continuation) of the last item
            items[-1][1].append(line)
    parts = []
    for text, sub in items:
        inner = _text(text)
        if sub:
            indent = min(len(s) - len(s.lstrip(" ")) for s in sub)
            inner += "\n" + "\n".join(_blocks([s[indent:] for s in sub]))
        parts.append(f"<li>{inner}</li>")
    tag = "ol" if ordered else "ul"
    start = int(first[2]) if ordered else 1
    attr = f' start="{start}"' if start != 1 else ""
    return f"<{tag}{attr}>\n" + "\n".join(parts) + f"\n</{tag}>"


def markdown_to_html(markdown: str) -> str:
    """The HTML body for Markdown in the subset above whose text is already HTML-escaped."""
    return "\n".join(_blocks(markdown.splitlines()))


def _page(markdown: str, lang: str) -> str:
    title = next((_text(m[2]) for m in map(_HEADING.match, markdown.splitlines()) if m and len(m[1]) == 1), "")
    return ("<!DOCTYPE html>\n"
            f'<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
            f"{markdown_to_html(markdown)}\n</main>\n</body>\n</html>\n")
