"""The review view for a real day (issue 15): every page in Japanese without English left over,
refusals back on the submission page, held values shown, bulk release and leaving held objects
out, the queue with titles, IOC counts, search, oldest first, paging and a CSV export safe for
spreadsheets, the object count of text submissions, and the overview's server-drawn charts."""
from __future__ import annotations

import csv
import html
import io
import json
import re
from html.parser import HTMLParser

import pytest
from review_fixtures import demo, hub, setup_hub
from test_web import act, csrf_of, principal, refused, sign_in, submit_demo

from hub.app import create_app
from hub.context import HubContext
from hub.datadir import DataDir
from hub.services import overview, queue
from hub.services.review import withhold_held
from hub.services.sealed import open_private_report
from hub.services.submissions import submit
from hub.store.base import SubmissionFilter
from hub.web.i18n import CATALOGUE


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return setup_hub(tmp_path_factory.mktemp("day") / "hubdata")


@pytest.fixture(scope="module")
def ctx(keys):
    return HubContext.from_datadir(DataDir(keys.data_dir))


@pytest.fixture(scope="module")
def app(ctx):
    return create_app(ctx.store, ctx=ctx,
                      test_config={"SECRET_KEY": "test-day-session-key-0123456789", "TESTING": True})


@pytest.fixture
def analyst(app, keys):
    client, r = sign_in(app, keys.analyst)
    assert r.status_code == 302
    return client


def submit_text(ctx, keys, text: str, victim_ref="CASE-1"):
    body = {"text": text, "victim_profile": demo("profile.json"), "tlp": "green", "victim_ref": victim_ref}
    return submit(ctx, principal=principal(ctx, keys.submitter), body=body)


# -- every page in Japanese -------------------------------------------------------------------------

class _Visible(HTMLParser):
    """The text a reader sees (and the attributes a screen reader reads), outside of the panes
    that show data as it is (<pre>, <code>, values in monospace)."""

    SKIP = {"pre", "code", "style", "script"}

    def __init__(self):
        super().__init__()
        self._skips: list[bool] = []
        self.shown: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        skip = (tag in self.SKIP or bool({"mono", "held-value", "value"} & set(classes))
                or bool(self._skips and self._skips[-1]))
        if tag not in ("input", "meta", "link", "br", "rect", "line"):
            self._skips.append(skip)
        if not skip:
            self.shown += [attrs[a] for a in ("placeholder", "aria-label", "title") if attrs.get(a)]
            if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
                self.shown.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag not in ("input", "meta", "link", "br", "rect", "line") and self._skips:
            self._skips.pop()

    def handle_data(self, data):
        if not (self._skips and self._skips[-1]) and data.strip():
            self.shown.append(data.strip())


# Words that are the same in Japanese text: names, ids, codes and values, never sentences.
ALLOWED = re.compile(
    r"sub_[0-9a-z]+|[a-z][a-z0-9-]*--[0-9a-f-]{36}|hk_[0-9a-f]+|\d{4}-\d\d-\d\d( \d\d:\d\d UTC)?|TLP:[A-Z+]+|"
    r"\b(DI|P)-?\d\d?\b|NDA-\d\d|CASE-[A-Z0-9]+|csirt-[ab]|peer-b|hub-operator|KEY_ID\.SECRET|"
    r"\b(JA|EN|ID|API|IOC|TTP|CSIRT|TLP|STIX|CSV|admin|analyst|submitter|consumer|stix|text|csv|api|inline|"
    r"background|victim_ref|LIKE|k|NDA|SHA-256|identity|note|indicator|malware|file|domain|email|internal-ip|"
    r"ip|url|URL|IP)\b|\[[A-Z-]+\]|<[a-z]+>")


def english_left(html: str) -> list[str]:
    parser = _Visible()
    parser.feed(html)
    left = []
    for text in parser.shown:
        rest = ALLOWED.sub(" ", text)
        if re.search(r"[A-Za-z]{3,}", rest):
            left.append(text)
    return left


def test_every_page_in_japanese_has_no_english_left_and_no_catalogue_key(app, analyst, ctx, keys):
    held = submit_demo(ctx, keys)
    text = submit_text(ctx, keys, (demo_text := (ROOT_TEXT())))
    assert demo_text
    pages = {"queue": "/review/?lang=ja", "overview": "/review/overview?lang=ja",
             "stix": f"/review/submissions/{held.id}?lang=ja", "text": f"/review/submissions/{text.id}?lang=ja",
             "missing": "/review/submissions/sub_nope?lang=ja"}
    seen = {name: analyst.get(url).text for name, url in pages.items()}
    # A refusal, shown on the submission page after the redirect.
    r = act(analyst, held.id, "approve")
    seen["refused"] = refused(analyst, r, held.id, 422)
    r = act(analyst, held.id, "undo", entry="nope", justification="x")
    seen["refused-2"] = refused(analyst, r, held.id, 400)
    seen["login"] = app.test_client().get("/review/login?lang=ja").text
    keys_en = set(CATALOGUE["en"])
    left = {}
    for name, page in seen.items():
        assert '<html lang="ja">' in page, name
        left[name] = english_left(page)
    for name, page in seen.items():
        assert left[name] == [], (name, left[name])
        parser = _Visible()
        parser.feed(page)
        shown = "\n".join(parser.shown)
        assert not [k for k in keys_en if "." in k and k in shown], name


def ROOT_TEXT() -> str:  # noqa: N802 - the demo's Japanese IOC memo
    from review_fixtures import DEMO
    return (DEMO / "iocs.txt").read_text(encoding="utf-8")


def test_the_checker_finds_english_left_over():
    # The detector itself: an English sentence in a Japanese page is found, a value is not.
    assert english_left('<p>Release all holds</p>') == ["Release all holds"]
    assert english_left('<input placeholder="Search">') == ["Search"]
    assert english_left('<p>TLP:GREEN csirt-a 2025-01-01</p><pre>any English here</pre>') == []


# -- the submission page: held values, bulk actions, approve blocked --------------------------------

def open_holds(ctx, sid: str) -> list[dict]:
    report = json.loads(ctx.store.get_submission(sid).report)
    return [h for h in report["holds"] if not h.get("released") and not h.get("withheld")]


def test_holds_show_the_held_value_and_the_rule(analyst, ctx, keys):
    sub = submit_demo(ctx, keys)
    draft = json.loads(ctx.store.get_submission(sub.id).draft)
    by_id = {o["id"]: o for o in draft["objects"]} | {o["id"]: o for o in demo("submission.json")["objects"]}
    holds = open_private_report(ctx, ctx.store.get_submission(sub.id))["holds"]
    assert holds
    page = analyst.get(f"/review/submissions/{sub.id}?lang=en").text
    section = page.split('class="grid holds"')[1].split("</table>")[0]
    cells = re.findall(r'<td class="mono held-value">([^<]*)</td>\s*<td>(.*?)</td>', section, re.S)
    assert len(cells) == len(holds)
    for hold, (shown, rules) in zip(holds, cells):
        obj = by_id.get(hold["object"]) or by_id[hold["original"]]
        value = obj.get("pattern") or obj.get("value") or obj.get("name")
        assert html.unescape(shown) == value
        assert all(f'<span class="rule">{r}</span>' in rules for r in hold["rules"])
    assert "infrastructure reported by fewer than k CSIRTs" in section


def test_approve_is_disabled_with_the_reason_beside_it_until_nothing_blocks(analyst, ctx, keys):
    sub = submit_demo(ctx, keys)
    page = analyst.get(f"/review/submissions/{sub.id}?lang=en").text
    approve = page.split('action="/review/submissions/%s/approve"' % sub.id)[1].split("</form>")[0]
    assert "disabled" in approve and "Cannot approve yet:" in approve
    assert f"{len(open_holds(ctx, sub.id))} hold(s) are still open" in approve
    r = act(analyst, sub.id, "release-all", justification="seen by several members this week")
    assert r.status_code == 303
    page = analyst.get(f"/review/submissions/{sub.id}?lang=en").text
    approve = page.split('action="/review/submissions/%s/approve"' % sub.id)[1].split("</form>")[0]
    assert "disabled" not in approve and "Cannot approve yet" not in approve


def test_release_all_holds_with_one_justification(analyst, ctx, keys):
    sub = submit_demo(ctx, keys)
    n = len(open_holds(ctx, sub.id))
    assert n >= 2
    r = act(analyst, sub.id, "release-all", justification="short")
    assert "10〜2000 文字の理由" in refused(analyst, r, sub.id, 400)
    assert len(open_holds(ctx, sub.id)) == n
    r = act(analyst, sub.id, "release-all", justification="seen by several members this week")
    assert r.status_code == 303
    page = analyst.get(r.headers["Location"]).text
    assert "すべての保留を解除し" in page
    assert open_holds(ctx, sub.id) == [] and not ctx.store.get_submission(sub.id).needs_review
    entries = [e for e in ctx.store.list_audit() if e.subject == sub.id and e.action == "release-all-holds"]
    assert len(entries) == 1
    r = act(analyst, sub.id, "release-all", justification="seen by several members this week")
    assert "未解決の保留はありません" in refused(analyst, r, sub.id, 400)
    assert act(analyst, sub.id, "approve").status_code == 303
    assert ctx.store.get_submission(sub.id).status == "published"


def test_publish_without_the_held_objects(analyst, ctx, keys):
    sub = submit_demo(ctx, keys)
    held = {h["object"] for h in open_holds(ctx, sub.id)}
    r = act(analyst, sub.id, "withhold", justification="single report; wait for corroboration")
    assert r.status_code == 303
    draft = json.loads(ctx.store.get_submission(sub.id).draft)
    ids = {o["id"] for o in draft["objects"]}
    assert not held & ids
    for obj in draft["objects"]:  # nothing refers to a left-out object
        refs = [obj.get("source_ref"), obj.get("target_ref"), *obj.get("object_refs", [])]
        assert not held & set(refs), obj["id"]
    assert open_holds(ctx, sub.id) == []
    page = analyst.get(f"/review/submissions/{sub.id}?lang=ja").text
    assert "公開対象から除外" in page
    assert act(analyst, sub.id, "approve").status_code == 303
    done = ctx.store.get_submission(sub.id)
    assert done.status == "published"
    assert "withhold-held" in [e.action for e in ctx.store.list_audit() if e.subject == sub.id]


def test_left_out_objects_stay_out_when_k_members_report_them_later(tmp_path):
    keys = setup_hub(tmp_path / "hubdata")
    ctx = HubContext.from_datadir(DataDir(keys.data_dir))
    sub = submit_demo(ctx, keys)
    withhold_held(ctx, principal=principal(ctx, keys.analyst), submission_id=sub.id,
                  justification="single report; wait for corroboration")
    hub("org", "add", "csirt-c", "--type", "csirt", "--sector", "energy", "--region", "JP", data_dir=keys.data_dir)
    submitter_c = hub("key", "create", "--org", "csirt-c", "--role", "submitter", data_dir=keys.data_dir)
    for key in (keys.submitter_b, submitter_c):  # k = 3 organisations now report the demo's C2
        submit(ctx, principal=principal(ctx, key),
               body={"bundle": demo("submission.json"), "victim_profile": demo("profile.json"), "tlp": "green",
                     "victim_ref": "CASE-LATER"})
    assert open_holds(ctx, sub.id) == [] and not ctx.store.get_submission(sub.id).needs_review
    assert "corroboration-release" not in [e.action for e in ctx.store.list_audit() if e.subject == sub.id]


def test_a_bulk_action_needs_the_csrf_token_and_a_reviewer(app, ctx, keys):
    sub = submit_demo(ctx, keys)
    client, _ = sign_in(app, keys.analyst)
    r = client.post(f"/review/submissions/{sub.id}/release-all", data={"justification": "seen by several members"})
    assert r.status_code == 400 and open_holds(ctx, sub.id)
    with pytest.raises(Exception, match="analysts"):
        queue.rows(ctx, principal=principal(ctx, keys.submitter), flt=SubmissionFilter(), limit=5, offset=0)


# -- object count ---------------------------------------------------------------------------------------

def test_a_text_submission_counts_the_objects_made_from_it(ctx, keys):
    sub = submit_text(ctx, keys, "C2: evil-c2.example\nC2 IP: 203.0.113.9\nCVE-2024-3400\n"
                      "SHA-256 " + "ab" * 32 + "\n")
    assert sub.status == "review"
    assert ctx.store.get_submission(sub.id).object_count >= 3


# -- the queue -----------------------------------------------------------------------------------------

def named_bundle(name: str) -> dict:
    bundle = json.loads(json.dumps(demo("submission.json")))
    refs = [o["id"] for o in bundle["objects"] if o["type"] in ("indicator", "malware")]
    bundle["objects"].append({"type": "report", "spec_version": "2.1",
                              "id": "report--2f1c8a8e-3c1d-4d6e-9a52-0d6f7c1b9e11",
                              "created": "2025-05-30T00:00:00.000Z", "modified": "2025-05-30T00:00:00.000Z",
                              "name": name, "published": "2025-05-30T00:00:00.000Z", "object_refs": refs})
    return bundle


def rows_of(page: str) -> list[str]:
    return re.findall(r'<a href="/review/submissions/(sub_[0-9a-z]+)"', page)


def test_queue_rows_have_a_title_and_ioc_counts_per_class(analyst, ctx, keys):
    sub = submit_demo(ctx, keys, victim_ref="CASE-TITLE", bundle=named_bundle("Spring phishing wave C2 set"))
    draft = json.loads(ctx.store.get_submission(sub.id).draft)
    page = analyst.get("/review/?q=CASE-TITLE&lang=ja").text
    row = re.search(rf"{sub.id}.*?</tr>", page, re.S).group(0)
    assert "Spring phishing wave C2 set" in row
    # The classes as documented: indicators by what their pattern compares, and objects by type.
    expect = {"通信先": 0, "マルウェア": 0, "脆弱性": 0, "TTP": 0}
    for o in draft["objects"]:
        if o["type"] == "indicator":
            if re.search(r"\[(domain-name|ipv4-addr|ipv6-addr|url|email-addr|email-message|network-traffic):",
                         o["pattern"]):
                expect["通信先"] += 1
            elif "[file:" in o["pattern"]:
                expect["マルウェア"] += 1
        elif o["type"] in ("infrastructure", "domain-name", "ipv4-addr", "ipv6-addr", "url", "email-addr"):
            expect["通信先"] += 1
        elif o["type"] in ("malware", "file", "tool"):
            expect["マルウェア"] += 1
        elif o["type"] == "vulnerability":
            expect["脆弱性"] += 1
        elif o["type"] == "attack-pattern":
            expect["TTP"] += 1
    assert all(expect.values())
    for label, n in expect.items():
        assert f">{label} {n}</span>" in row


def test_queue_shows_the_oldest_waiting_first_and_searches_reference_and_organisation(analyst, ctx, keys):
    first = submit_demo(ctx, keys, victim_ref="CASE-ORDER")
    second = submit_demo(ctx, keys, victim_ref="CASE-ORDER")
    page = analyst.get("/review/?q=case-order").text  # any case, a part of the reference
    assert rows_of(page) == [first.id, second.id]
    assert rows_of(analyst.get("/review/?q=CASE-ORDER&sort=newest").text) == [second.id, first.id]
    assert rows_of(analyst.get("/review/?q=ORDER%25").text) == []  # a wildcard is a character
    # An organisation's name finds its submissions.
    other = submit(ctx, principal=principal(ctx, keys.submitter_b),
                   body={"bundle": demo("submission.json"), "victim_profile": demo("profile.json"),
                         "tlp": "green", "victim_ref": "CASE-B"})
    found = rows_of(analyst.get("/review/?q=csirt-b").text)
    assert other.id in found and first.id not in found


def test_queue_paging_controls(analyst, ctx, keys, monkeypatch):
    monkeypatch.setattr("hub.web.queue_view.PAGE_SIZE", 2)
    made = [submit_demo(ctx, keys, victim_ref="CASE-PAGE").id for _ in range(5)]
    page1 = analyst.get("/review/?q=CASE-PAGE&lang=en").text
    assert rows_of(page1) == made[:2]
    assert 'rel="next"' in page1 and 'rel="prev"' not in page1 and "Page 1" in page1
    nxt = html.unescape(re.search(r'<a href="([^"]+)" class="btn btn-small" rel="next"', page1).group(1))
    assert "q=CASE-PAGE" in nxt and "page=2" in nxt
    page2 = analyst.get(nxt).text
    assert rows_of(page2) == made[2:4] and 'rel="prev"' in page2 and "« First" in page2
    page3 = analyst.get("/review/?q=CASE-PAGE&page=3&lang=en").text
    assert rows_of(page3) == made[4:] and 'rel="next"' not in page3
    assert analyst.get("/review/?q=CASE-PAGE&page=-1").status_code == 200


@pytest.mark.parametrize("ref", ["=HYPERLINK(\"http://x.example\")", "+1+2", "-3+4", "@SUM(A1)"])
def test_queue_csv_export_is_safe_in_a_spreadsheet(analyst, ctx, keys, ref):
    sub = submit_demo(ctx, keys, victim_ref=ref, bundle=named_bundle("=cmd|' /C calc'!A0"))
    r = analyst.get("/review/queue.csv?status=review")
    assert r.status_code == 200 and r.mimetype == "text/csv" and "attachment" in r.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    header, body = table[0], table[1:]
    assert header[:4] == ["id", "org", "victim_ref", "status"]
    row = next(dict(zip(header, line)) for line in body if line[0] == sub.id)
    assert row["victim_ref"] == "'" + ref and row["title"] == "'=cmd|' /C calc'!A0"
    for line in body:  # no cell a spreadsheet would run
        assert not any(cell[:1] in "=+-@" and cell for cell in line)
    # Nothing from the victim profile: the CSV holds only what the queue page shows.
    from review_fixtures import victim_strings
    assert not [v for v in victim_strings() if v in r.text]


def test_queue_csv_needs_a_reviewer(app):
    r = app.test_client().get("/review/queue.csv")
    assert r.status_code == 302 and "/review/login" in r.headers["Location"]


# -- the overview --------------------------------------------------------------------------------------

def test_overview_draws_its_charts_as_svg_without_script(analyst, ctx, keys):
    held = submit_demo(ctx, keys, victim_ref="CASE-OV")
    r = analyst.get("/review/overview?lang=en")
    assert r.status_code == 200 and "<script" not in r.text
    assert "script-src 'none'" in r.headers["Content-Security-Policy"]
    svgs = re.findall(r"<svg .*?</svg>", r.text, re.S)
    assert len(svgs) >= 4
    titles = re.findall(r"<svg [^>]*><title>([^<]+)</title>", r.text)
    assert {"Age of the waiting submissions", "Submissions per day by state (last 14 days)",
            "Time from submission to publication", "Open holds by rule"} <= set(titles)
    figures = overview.figures(ctx, principal=principal(ctx, keys.analyst))
    waiting = sum(n for _, n in figures["queue_age"])
    assert waiting == len(ctx.store.list_submissions(SubmissionFilter(status="review"), limit=10_000))
    assert dict(figures["queue_age"])["lt1h"] >= 1
    open_rules = {}
    for s in ctx.store.list_submissions(SubmissionFilter(status="review"), limit=10_000):
        for h in json.loads(s.report)["holds"]:
            if not h.get("released") and not h.get("withheld"):
                for rule in h["rules"]:
                    open_rules[rule] = open_rules.get(rule, 0) + 1
    assert dict(figures["holds_by_rule"]) == open_rules and open_rules
    holds_svg = svgs[[i for i, s in enumerate(svgs) if "Open holds by rule" in s][0]]
    for rule, n in open_rules.items():
        assert f"<title>{rule}: {n}</title>" in holds_svg
    today = figures["per_day"][-1]
    assert today[1]["review"] >= 1 and held.id
    ja = analyst.get("/review/overview?lang=ja").text
    assert "待機中の提出の経過時間" in ja


# -- corroboration in the review view (issue 15 items 1-2, through their services) ----------------------

def test_holds_say_reported_by_n_of_k_and_a_value_finds_its_submissions(analyst, ctx, keys):
    mine = submit_demo(ctx, keys, victim_ref="CASE-CORR")
    other = submit(ctx, principal=principal(ctx, keys.submitter_b),
                   body={"bundle": demo("submission.json"), "victim_profile": demo("profile.json"), "tlp": "green",
                         "victim_ref": "CASE-CORR-B"})
    private = open_private_report(ctx, ctx.store.get_submission(mine.id))
    di17 = [h for h in private["holds"] if "DI-17" in h["rules"]]
    assert di17
    page = analyst.get(f"/review/submissions/{mine.id}?lang=en").text
    # Two organisations (csirt-a and csirt-b) reported the demo's C2 values; k is the policy's.
    assert f"reported by 2 of {ctx.corroboration_k}" in page
    assert f"2 / {ctx.corroboration_k} 組織が報告" in analyst.get(f"/review/submissions/{mine.id}?lang=ja").text
    assert "csirt-b" not in page.split('class="grid holds"')[1].split("</table>")[0]  # never who reported
    # Search by value, in another written form: both submissions, nothing else.
    found = rows_of(analyst.get("/review/?q=UPDATE-CHECK.EXAMPLE.NET").text)
    assert mine.id in found and other.id in found
    assert all(ctx.store.get_submission(s).victim_ref in ("CASE-CORR", "CASE-CORR-B") or
               "update-check.example.net" in (ctx.store.get_submission(s).draft or "") for s in found)
    assert rows_of(analyst.get("/review/?q=never-reported.example").text) == []
