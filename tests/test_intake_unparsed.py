"""Text intake never drops an IOC silently: reserved and new TLDs are extracted, and every line
with IOC-like text that produced no indicator is listed in the report (line and class, no value)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from sanitizer import Policy, VictimProfile, sanitize
from sanitizer.formats import text_to_bundle
from sanitizer.formats.text_input import extract_iocs

from conftest import PROFILE, SECRET

NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)
DEMO = Path(__file__).resolve().parents[1] / "hub" / "demo" / "iocs.txt"


@pytest.mark.parametrize("tld", ["example", "test", "invalid", "localhost", "onion"])
@pytest.mark.parametrize("form", ["hxxps://c2-{n}[.]relay[.]{tld}/api/v2/beacon", "https://c2-{n}.relay.{tld}/gate",
                                  "C2: c2-{n}[.]relay[.]{tld}", "mail from ops-{n}@relay[.]{tld}"])
def test_intake_reserved_tlds_are_extracted(tld, form):
    text = "C2 通信先:\n" + form.format(n=7, tld=tld) + " を確認"
    values = [i.value for i in extract_iocs(text)]
    assert any(f"relay.{tld}" in v for v in values), values


def test_intake_shipped_demo_keeps_its_defanged_c2_url():
    values = {i.value for i in extract_iocs(DEMO.read_text(encoding="utf-8"))}
    assert "https://update-check.cdn-sync.example/api/v2/beacon" in values


def _report(text: str) -> dict:
    bundle = text_to_bundle(text, now=NOW)
    return sanitize(bundle, VictimProfile.from_dict(PROFILE), Policy(), secret=SECRET).report.public()


def test_intake_lines_that_produced_nothing_are_listed_without_values():
    text = ("C2: 203.0.113.9\n"
            "壊れたURL hxxp://[::1 と 10.0.0.300\n"
            "ハッシュ 4e1243bd22c66e76c2ba9eddc1f91394e57f9f83b5d1c4a2c3b2e0c8f0e8a9d1\n"
            "no ioc here\n")
    report = _report(text)
    assert {(u["line"], u["class"]) for u in report["unparsed"]} == {(2, "url"), (2, "ipv4")}
    dumped = json.dumps(report, ensure_ascii=False)
    assert "10.0.0.300" not in dumped and "[::1" not in dumped


def test_intake_nothing_unparsed_when_every_ioc_became_an_object():
    report = _report(DEMO.read_text(encoding="utf-8"))
    assert report["unparsed"] == []


def test_intake_stix_input_has_an_empty_unparsed_list():
    from conftest import bundle, sdo
    report = sanitize(bundle(sdo("malware", 1, name="X", is_family=True)), VictimProfile.from_dict(PROFILE),
                      Policy(), secret=SECRET).report.public()
    assert report["unparsed"] == []


def test_intake_unparsed_key_in_a_stix_submission_cannot_smuggle_text_into_the_report():
    from conftest import bundle, sdo
    b = bundle(sdo("malware", 1, name="X", is_family=True))
    b["x_hub_unparsed"] = [{"line": 1, "class": "acme-seiko"}, {"line": "2", "class": "url"}, {"line": 3, "class": "url"},
                           "アクメ精工"]
    report = sanitize(b, VictimProfile.from_dict(PROFILE), Policy(), secret=SECRET).report.public()
    assert report["unparsed"] == [{"line": 3, "class": "url"}]



from test_web import analyst, app, ctx, keys, principal  # noqa: E402,F401 - the web tests' hub fixtures
from hub.services.submissions import submit  # noqa: E402


def test_intake_review_page_lists_unparsed_lines_without_values(analyst, ctx, keys):  # noqa: F811
    text = DEMO.read_text(encoding="utf-8") + "壊れた C2: hxxp://evil[.]example:99999/x 10.0.0.300\n"
    body = {"text": text, "victim_profile": json.loads((DEMO.parent / "profile.json").read_text(encoding="utf-8")),
            "tlp": "amber", "victim_ref": "CASE-9"}
    sub = submit(ctx, principal=principal(ctx, keys.submitter), body=body)
    page = analyst.get(f"/review/submissions/{sub.id}?lang=en").text
    section = page.split("Lines not taken in", 1)[1].split("</section>", 1)[0]
    assert "line 7: url" in section and "line 7: ipv4" in section
    assert "10.0.0.300" not in section and "evil" not in section
