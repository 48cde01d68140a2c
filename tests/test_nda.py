"""Model NDA clauses (nda_templates): both languages, clause ids, variables, escaping, validation."""
from __future__ import annotations

import datetime
import fnmatch
import importlib.resources
import re

import jinja2
import jinja2.meta
import pytest

from nda_templates import render as nda
from nda_templates.render import CLAUSE_IDS, CLAUSE_TITLES, VARIABLES, render

PARTIES = {"party_a": "株式会社例示セキュリティ", "party_b": "例示工業株式会社"}
TEMPLATES = {"ja": "clauses_ja.md.j2", "en": "clauses_en.md.j2"}
NOTE = {"ja": "> 解説: ", "en": "> Note for negotiators: "}
HEADING = re.compile(r"^## \[(NDA-\d{2})\] (.*)$", re.M)


def source(lang: str) -> str:
    return importlib.resources.files("nda_templates").joinpath(TEMPLATES[lang]).read_text(encoding="utf-8")


def sections(text: str) -> dict[str, str]:
    """clause id -> its text (heading to the next heading)."""
    marks = list(HEADING.finditer(text))
    ends = [m.start() for m in marks[1:]] + [len(text)]
    return {m[1]: text[m.start():end] for m, end in zip(marks, ends)}


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_clause_in_order_with_title_and_note(lang):
    text = render(lang, **PARTIES)
    assert [m[1] for m in HEADING.finditer(text)] == list(CLAUSE_IDS)
    assert re.findall(r"\[(NDA-\d{2})\]", text.split("\n## ", 1)[1]) == list(CLAUSE_IDS)
    assert CLAUSE_IDS == tuple(f"NDA-{n:02d}" for n in range(1, len(CLAUSE_IDS) + 1))
    title = 0 if lang == "ja" else 1
    for clause_id, body in sections(text).items():
        assert CLAUSE_TITLES[clause_id][title] in body.splitlines()[0]
        paragraphs = [p for p in body.split("\n\n")[1:] if p.strip()]
        assert paragraphs[0] and not paragraphs[0].startswith(">")      # clause text first
        assert any(p.startswith(NOTE[lang]) for p in paragraphs[1:])     # then the note


def test_same_ids_and_article_numbers_in_both_languages():
    ja, en = render("ja", **PARTIES), render("en", **PARTIES)
    assert [m[1] for m in HEADING.finditer(ja)] == [m[1] for m in HEADING.finditer(en)]
    ja_numbers = [int(n) for n in re.findall(r"^## \[NDA-\d{2}\] 第(\d+)条", ja, re.M)]
    en_numbers = [int(n) for n in re.findall(r"^## \[NDA-\d{2}\] Article (\d+) ", en, re.M)]
    assert ja_numbers == en_numbers == list(range(1, len(CLAUSE_IDS) + 1))


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("fmt", ["md", "html"])
def test_no_template_markers_left(lang, fmt):
    text = render(lang, **PARTIES, fmt=fmt)
    for marker in ("{{", "}}", "{%", "%}", "{#", "#}"):
        assert marker not in text


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_parties_filled_in(lang):
    text = render(lang, party_a="Example CSIRT", party_b="Example Manufacturing K.K.")
    assert text.count("Example CSIRT") >= 2                 # preamble and signature block
    assert text.count("Example Manufacturing K.K.") >= 2


def test_defaults_present_ja():
    text = render("ja", **PARTIES)
    for expected in ("3年間", "365日", "日本法に準拠", "東京地方裁判所を第一審の専属的合意管轄裁判所",
                     "「本ハブ」とは、攻撃技術情報共有ハブをいい", "TLP:AMBERより広い",
                     "「本件業務」とは、専門組織が被害組織に提供するインシデント対応業務", "DI-01からDI-18まで"):
        assert expected in text
    for four_classes in ("通信先情報", "マルウェア情報", "脆弱性関連情報", "攻撃手法（TTPs"):
        assert four_classes in sections(text)["NDA-02"]


def test_defaults_present_en():
    text = render("en", **PARTIES)
    for expected in ("for 3 years from the Effective Date", "365 days", "in accordance with the laws of Japan",
                     "The Tokyo District Court has exclusive jurisdiction",
                     '"Hub" means the attack-technique sharing hub', "wider disclosure than TLP:AMBER",
                     '"Services" means the incident response services', "DI-01 to DI-18"):
        assert expected in text
    for four_classes in ("communication destinations", "malware information", "vulnerability information",
                         "attack techniques (TTPs"):
        assert four_classes in sections(text)["NDA-02"]


def test_key_terms_in_the_right_clauses():
    ja, en = sections(render("ja", **PARTIES)), sections(render("en", **PARTIES))
    assert "事案ごとに被害組織の同意を得ることなく" in ja["NDA-03"]
    assert "without obtaining the Victim Organisation's consent for each Case" in en["NDA-03"]
    assert "善良な管理者の注意" in ja["NDA-04"] and "care of a prudent manager" in en["NDA-04"]
    assert "被害内容・対応情報を他の専門組織及び本ハブに提供しない" in ja["NDA-05"]
    assert "shall not provide Damage and Response Information" in en["NDA-05"]
    assert "書面による通知" in ja["NDA-06"] and "到達前に行われた共有には影響しない" in ja["NDA-06"]
    assert "written notice" in en["NDA-06"] and "does not affect sharing carried out before" in en["NDA-06"]
    assert "故意又は重大な過失" in ja["NDA-07"] and "wilful misconduct or gross negligence" in en["NDA-07"]


def test_variables_substituted():
    variables = dict(effective_date=datetime.date(2026, 4, 1), term_years=5, tlp_ceiling="tlp:green",
                     retention_days=180, governing_law="日本国の法令", jurisdiction="大阪地方裁判所",
                     hub_name="JP-ATT共有基盤", scope="標的型攻撃の調査業務")
    ja = render("ja", **PARTIES, **variables)
    for expected in ("2026年4月1日", "5年間", "TLP:GREENより広い", "180日", "日本国の法令に準拠", "大阪地方裁判所を",
                     "JP-ATT共有基盤", "「本件業務」とは、標的型攻撃の調査業務をいう"):
        assert expected in ja
    en = render("en", **PARTIES, effective_date=datetime.datetime(2026, 4, 1, 9, 30), term_years=1)
    assert "1 April 2026" in en and "for 1 year from" in en


def test_html_escapes_party_name():
    evil = "<script>x</script> & Co"
    for lang in ("ja", "en"):
        page = render(lang, party_a=evil, party_b='"Quote" & <b>Bold</b>', fmt="html")
        assert "<script>" not in page and "<b>" not in page
        assert "&lt;script&gt;x&lt;/script&gt; &amp; Co" in page
        assert "&amp;lt;" not in page and "&amp;amp;" not in page       # escaped exactly once
        assert "&lt;b&gt;Bold&lt;/b&gt;" in page


def test_html_escapes_every_variable():
    page = render("en", party_a="A", party_b="B", fmt="html", hub_name="<i>hub</i>", scope="x & <y>",
                  governing_law="law <g>", jurisdiction="court <c>", effective_date="<d>")
    assert not re.search(r"<(?!!DOCTYPE html>|/?(?:html|head|meta|title|style|body|main|h[1-6]|p|blockquote|ol|ul|li)\b)[^>]*>",
                         page)
    for escaped in ("&lt;i&gt;hub&lt;/i&gt;", "x &amp; &lt;y&gt;", "law &lt;g&gt;", "court &lt;c&gt;", "&lt;d&gt;"):
        assert escaped in page


def test_variable_cannot_create_markdown_structure():
    page = render("en", party_a="> # - 1. A", party_b="B", fmt="html")
    assert "&gt; # - 1. A (the" in page
    assert page.count("<h1>") == 1


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_html_page_structure(lang):
    page = render(lang, **PARTIES, fmt="html")
    assert page.startswith("<!DOCTYPE html>\n")
    assert f'<html lang="{lang}">' in page and '<meta charset="utf-8">' in page
    assert page.count("<h1>") == 1 and "<title>" in page and page.rstrip().endswith("</html>")
    for clause_id in CLAUSE_IDS:
        assert f'<h2 id="{clause_id.lower()}">[{clause_id}]' in page
    assert page.count("<blockquote>") == len(CLAUSE_IDS) + 1          # a note per clause and the intro note
    assert page.count("<blockquote>") == page.count("</blockquote>")
    assert page.count("<ol") == page.count("</ol>") and page.count("<ul>") == page.count("</ul>")
    assert "<ul>\n<li>" in page                                      # the four classes, nested in a definition


def test_markdown_converter_basics():
    body = nda.markdown_to_html("# T\n\npara\nline 2\n\n> note\n> more\n\n3. a\n   - b\n4. c\n")
    assert body == ("<h1>T</h1>\n<p>para\nline 2</p>\n<blockquote>\n<p>note\nmore</p>\n</blockquote>\n"
                    '<ol start="3">\n<li>a\n<ul>\n<li>b</li>\n</ul></li>\n<li>c</li>\n</ol>')


@pytest.mark.parametrize("kwargs, argument", [
    ({"lang": "fr"}, "lang"),
    ({"lang": "JA"}, "lang"),
    ({"fmt": "pdf"}, "fmt"),
    ({"party_a": ""}, "party_a"),
    ({"party_b": "   "}, "party_b"),
    ({"party_a": "x" * 201}, "party_a"),
    ({"party_b": "Evil\nCorp"}, "party_b"),
    ({"party_a": "Evil\u202eCorp"}, "party_a"),
    ({"party_a": 42}, "party_a"),
    ({"term_years": 0}, "term_years"),
    ({"term_years": "3"}, "term_years"),
    ({"retention_days": True}, "retention_days"),
    ({"tlp_ceiling": "TLP:RED"}, "tlp_ceiling"),
    ({"hub_name": "hub\x00"}, "hub_name"),
    ({"unknown_var": "x"}, "unknown_var"),
])
def test_invalid_input_raises_value_error_naming_the_argument(kwargs, argument):
    call = {"lang": "ja", **PARTIES, **kwargs}
    lang = call.pop("lang")
    with pytest.raises(ValueError) as info:
        render(lang, **call)
    message = str(info.value)
    assert argument in message and "\n" not in message
    value = kwargs[argument] if argument in kwargs else None
    if isinstance(value, str) and value.strip() and argument not in ("lang", "fmt"):
        assert value not in message                                   # never echoes the value


def test_party_name_limits():
    assert "x" * 200 in render("en", party_a="x" * 200, party_b="B")
    assert "葛󠄀飾" in render("ja", party_a="葛󠄀飾セキュリティ", party_b="B")   # ideographic variation selector is fine


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_templates_reference_only_documented_variables(lang):
    env = nda._environment(False)
    parsed = env.parse(source(lang))
    assert jinja2.meta.find_undeclared_variables(parsed) == VARIABLES
    assert set(nda.defaults(lang)) | {"party_a", "party_b"} == VARIABLES


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_strict_undefined_catches_a_missing_variable(lang):
    template = nda._environment(False).get_template(TEMPLATES[lang])
    context = {**nda.defaults(lang), **PARTIES}
    template.render(context)                                          # complete: renders
    del context["hub_name"]
    with pytest.raises(jinja2.UndefinedError):
        template.render(context)
    assert nda._environment(True).undefined is jinja2.StrictUndefined
    assert nda._environment(True).autoescape is True and nda._environment(False).autoescape is False


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_static_template_text_is_html_safe(lang):
    """The HTML conversion relies on it: no & < > in static text except the leading > of a quote line,
    and no line starts with a variable."""
    text = re.sub(r"\{#.*?#\}", "", source(lang), flags=re.S)
    static = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", text)
    for line in static.splitlines():
        assert not re.search(r"[&<>]", line.removeprefix(">")), line
    for line in text.splitlines():
        assert not line.lstrip(" >-0123456789.").startswith("{{"), line


def test_templates_shipped_as_package_data():
    """pyproject ships nda_templates/*.j2; the templates' names must match that pattern."""
    package = importlib.resources.files("nda_templates")
    for name in TEMPLATES.values():
        assert package.joinpath(name).is_file()
        assert fnmatch.fnmatch(name, "*.j2")
