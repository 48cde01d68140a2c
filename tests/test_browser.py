"""The review web view in a real browser (Debian's chromium, driven by playwright) against a
real `hub serve`: an analyst signs in, reviews the demo submission, adds a redaction, releases
the holds and approves; a peer then reads the published objects over TAXII.

With HUB_SCREENSHOTS=1 the second test also writes
docs/screenshots/{queue,submission,review-actions,overview}-{ja,en}.png.
Chromium is required: without it the test fails (CI installs it, see .ci/run)."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import requests
from conftest import ROOT
from playwright.sync_api import sync_playwright
from review_fixtures import demo, setup_hub, victim_strings
from taxii2client.v21 import ApiRoot, Collection
from taxii_fixtures import Server

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "docs" / "screenshots"
ADDED = "PlugX"  # a malware family name in the demo's draft, redacted here as a keyword


def submit(server: Server, keys, key: dict, victim_ref: str, tlp: str) -> str:
    """Through the API (the same path a CSIRT uses); wait until the draft is ready for review."""
    body = {"bundle": demo("submission.json"), "victim_profile": demo("profile.json"), "tlp": tlp,
            "victim_ref": victim_ref}
    auth = {"Authorization": f"Bearer {key['key']}"}
    r = requests.post(f"{server.base}/api/v1/submissions", json=body, headers=auth, timeout=30)
    assert r.status_code == 202, r.text
    sid = r.json()["id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = requests.get(f"{server.base}/api/v1/submissions/{sid}", headers=auth, timeout=10).json()["status"]
        if status not in ("queued", "processing"):
            assert status == "review", status
            return sid
        time.sleep(0.2)
    raise AssertionError("the submission was not sanitised in time")


def shoot(page, name: str, *, height: int | None = None) -> None:
    if os.environ.get("HUB_SCREENSHOTS") != "1":
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    clip = {"x": 0, "y": 0, "width": 1280, "height": height} if height else None
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=bool(clip), clip=clip)


def shoot_actions(page, name: str) -> None:
    """The holds and the actions: from the holds card to the end of the actions card (a freshly
    loaded page is not scrolled, so the boxes are page coordinates)."""
    if os.environ.get("HUB_SCREENSHOTS") != "1":
        return
    box = page.locator("section.card:has(table.holds)").bounding_box()
    end = page.locator("section.card.actions").bounding_box()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True,
                    clip={"x": 0, "y": box["y"] - 10, "width": 1280,
                          "height": end["y"] + end["height"] - box["y"] + 20})


def test_analyst_reviews_and_publishes_in_a_real_browser(tmp_path):
    assert CHROMIUM.is_file(), "Debian's chromium is required at /usr/bin/chromium (apt-get install chromium)"
    keys = setup_hub(tmp_path / "hubdata")
    server = Server(keys.data_dir).start()
    try:
        sid = submit(server, keys, keys.submitter, "CASE-1", "green")
        submit(server, keys, keys.submitter, "CASE-X", "amber")       # no agreement: shows in the queue
        submit(server, keys, keys.submitter_b, "FIN-7", "amber+strict")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                        args=["--headless", "--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="ja-JP")
                review(page, server, keys, sid)
            finally:
                browser.close()
        check_feed(server, keys)
    finally:
        server.stop()


def review(page, server: Server, keys, sid: str) -> None:
    # Sign-in: the queue sends an anonymous visitor to the login page.
    page.goto(f"{server.base}/review/")
    assert "/review/login" in page.url
    page.fill("#key", keys.analyst["key"])
    page.click("section.login button[type=submit]")
    assert page.url.endswith("/review/")
    assert page.locator("html").get_attribute("lang") == "ja"

    # The queue, then the submission with its highlighted redactions.
    page.click(f"a:text('{sid}')")
    assert page.url.endswith(f"/review/submissions/{sid}")
    original, draft = page.locator("#original"), page.locator("#draft")
    assert original.locator("mark[data-rule='DI-03']").count() >= 1
    assert "ヤマブキ製作所" in original.inner_text()
    assert draft.locator("mark[data-rule='DI-03']").first.inner_text() == "[VICTIM-ORG]"
    assert "ヤマブキ" not in draft.inner_text() and ADDED in draft.inner_text()
    page.goto(f"{server.base}/review/submissions/{sid}?lang=en")
    assert page.locator("html").get_attribute("lang") == "en"

    # Add a redaction: the draft is recomputed without the value.
    page.fill("#add-value", ADDED)
    page.select_option("#add-field", "keywords")
    page.click("form.action button:text('Add a redaction')")
    assert page.locator(".flash-ok").inner_text() == "Redaction added; the draft was recomputed."
    assert ADDED not in page.locator("#draft").inner_text()
    assert page.locator("#draft mark[title='DI-03 replaced with [KEYWORD]']").count() >= 1

    # Release every hold with a justification, then approve.
    releases = page.locator("form[action$='/release']")
    assert releases.count() == 6  # DI-17 v2: the 3 indicators and the 3 infrastructure SCOs they name
    while releases.count():
        form = releases.first
        form.locator("textarea").fill("infrastructure reported by many other victims")
        form.locator("button").click()
        assert page.locator(".flash-ok").inner_text() == "Hold released."
    page.click("form.approve button")
    assert page.locator(".flash-ok").inner_text() == "Approved and published."
    assert page.locator("h1 .badge").inner_text() == "Published"

    # The queue after the review, in both languages.
    page.goto(f"{server.base}/review/?lang=en")
    assert page.locator("table.queue tbody tr").count() == 3
    page.goto(f"{server.base}/review/?lang=ja")
    page.click("button:text('サインアウト')")
    assert "/review/login" in page.url


def check_feed(server: Server, keys) -> None:
    """A peer reads the sanitised objects from TLP:GREEN: there, and without any victim value."""
    user, password = keys.consumer["key_id"], keys.consumer["key"]
    root = ApiRoot(f"{server.base}/hub/", user=user, password=password)
    green = next(c for c in root.collections if c.title == "TLP:GREEN")
    objects = Collection(f"{server.base}/hub/collections/{green.id}/", user=user, password=password
                         ).get_objects().get("objects", [])
    assert objects and any(o["type"] == "malware" for o in objects)
    text = json.dumps(objects, ensure_ascii=False)
    for value in victim_strings() + [ADDED]:
        assert value.lower() not in text.lower(), value


def test_the_new_review_actions_in_japanese_and_english(tmp_path):
    """Bulk release and leaving held objects out, approve blocked with its reason, a refusal back on
    the submission page, search, and the overview's SVG charts, in a real browser."""
    assert CHROMIUM.is_file(), "Debian's chromium is required at /usr/bin/chromium (apt-get install chromium)"
    keys = setup_hub(tmp_path / "hubdata")
    server = Server(keys.data_dir).start()
    try:
        first = submit(server, keys, keys.submitter, "CASE-1", "green")
        second = submit(server, keys, keys.submitter, "CASE-1", "green")
        other = submit(server, keys, keys.submitter_b, "FIN-7", "amber")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                        args=["--headless", "--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="ja-JP")
                page.goto(f"{server.base}/review/login")
                page.fill("#key", keys.analyst["key"])
                page.click("section.login button[type=submit]")
                bulk_actions(page, server, first, second, other)
            finally:
                browser.close()
    finally:
        server.stop()


def bulk_actions(page, server: Server, first: str, second: str, other: str) -> None:
    # The queue: the oldest waiting first, a title and IOC counts per class on every row.
    rows = page.locator("table.queue tbody tr")
    assert rows.count() == 3 and first in rows.nth(0).inner_text() and other in rows.nth(2).inner_text()
    assert "通信先" in rows.nth(0).inner_text() and "マルウェア" in rows.nth(0).inner_text()
    shoot(page, "queue-ja")
    page.fill("input[name=q]", "FIN")
    page.click("form.filters button[type=submit]")
    assert page.locator("table.queue tbody tr").count() == 1 and other in page.locator("table.queue").inner_text()

    # Japanese: approve is disabled while holds are open, with the reason beside it.
    page.goto(f"{server.base}/review/submissions/{first}?lang=ja")
    approve = page.locator("form.approve button")
    assert approve.is_disabled() and "承認できません" in page.locator("#approve-blocked").inner_text()
    assert page.locator("td.held-value").count() == 6  # DI-17 v2: the 3 indicators and the 3 infrastructure SCOs they name
    assert "update-check.example.net" in page.locator("table.holds").inner_text()
    shoot(page, "submission-ja", height=1750)
    shoot_actions(page, "review-actions-ja")
    # A refused action comes back to the submission page with the message in Japanese.
    bulk = page.locator("form[action$='/release-all']")
    bulk.locator("textarea").fill(" " * 12)  # long enough for the browser, empty for the hub
    bulk.locator("button").click()
    assert page.url.endswith(f"/review/submissions/{first}")
    assert "10〜2000 文字の理由" in page.locator(".alert").inner_text()
    bulk = page.locator("form[action$='/release-all']")
    bulk.locator("textarea").fill("三つの会員組織が同じ C2 を報告済み")
    bulk.locator("button").click()
    assert page.locator(".flash-ok").inner_text() == "すべての保留を解除し、下書きを再計算しました。"
    assert page.locator("form.approve button").is_enabled()
    page.click("form.approve button")
    assert page.locator("h1 .badge").inner_text() == "公開済み"

    # English: leave the held objects out, then publish the rest.
    page.goto(f"{server.base}/review/submissions/{second}?lang=en")
    assert page.locator("form.approve button").is_disabled()
    shoot(page, "submission-en", height=1750)
    shoot_actions(page, "review-actions-en")
    held_ids = [t.strip() for t in page.locator("table.holds td.mono.small").all_inner_texts()]
    assert len(held_ids) == 6
    withhold = page.locator("form[action$='/withhold']")
    withhold.locator("textarea").fill("reported by one member only; publish the rest now")
    withhold.locator("button").click()
    assert page.locator(".flash-ok").inner_text() == "The held objects were left out of the draft."
    assert page.locator("table.holds").inner_text().count("Left out of the publication") == 6
    draft_text = page.locator("#draft").inner_text()
    assert not [i for i in held_ids if f'"id": "{i}"' in draft_text]
    page.click("form.approve button")
    assert page.locator("h1 .badge").inner_text() == "Published"

    page.goto(f"{server.base}/review/?lang=en")
    shoot(page, "queue-en")
    # The overview: charts drawn on the server, no script on the page.
    page.goto(f"{server.base}/review/overview?lang=en")
    assert page.locator("svg.chart").count() >= 4 and page.locator("script").count() == 0
    assert page.locator("svg.chart rect").count() > 0
    shoot(page, "overview-en", height=1100)
    page.goto(f"{server.base}/review/overview?lang=ja")
    assert "待機中の提出の経過時間" in page.inner_text("main")
    shoot(page, "overview-ja", height=1100)
