"""The analysts' review web view (/review/) through the Flask test client, over a real SQLite
store set up through the CLI (review_fixtures.setup_hub)."""
from __future__ import annotations

import copy
import html
import json
import re

import pytest
from review_fixtures import DEMO as ROOT_DEMO, demo, setup_hub

from hub.app import create_app
from hub.context import HubContext
from hub.datadir import DataDir
from hub.services.redactions import entry_keys
from hub.services.sealed import open_private_report
from hub.services.submissions import submit
from hub.web import SECURITY_HEADERS
from hub.web.highlight import Mark, render_bundle, render_text
from hub.web.i18n import CATALOGUE

XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return setup_hub(tmp_path_factory.mktemp("web") / "hubdata")


@pytest.fixture(scope="module")
def ctx(keys):
    return HubContext.from_datadir(DataDir(keys.data_dir))


@pytest.fixture(scope="module")
def app(ctx):
    return create_app(ctx.store, ctx=ctx, test_config={"SECRET_KEY": "test-web-session-key-0123456789", "TESTING": True})


def principal(ctx, key: dict):
    key_id, _, secret = key["key"].partition(".")
    return ctx.store.authenticate(key_id, secret)


def submit_demo(ctx, keys, victim_ref="CASE-1", tlp="green", bundle=None):
    body = {"bundle": bundle or demo("submission.json"), "victim_profile": demo("profile.json"), "tlp": tlp,
            "victim_ref": victim_ref}
    sub = submit(ctx, principal=principal(ctx, keys.submitter), body=body)
    assert sub.status == "review"
    return sub


def csrf_of(client) -> str:
    with client.session_transaction("/review/") as s:
        return s["csrf"]


def sign_in(app, key: dict, lang: str | None = None):
    client = app.test_client()
    page = client.get("/review/login" + (f"?lang={lang}" if lang else ""))
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = client.post("/review/login", data={"csrf": token, "key": key["key"]})
    return client, r


@pytest.fixture
def analyst(app, keys):
    client, r = sign_in(app, keys.analyst)
    assert r.status_code == 302
    return client


def act(client, sid: str, action: str, **form):
    return client.post(f"/review/submissions/{sid}/{action}", data={"csrf": csrf_of(client), **form})


def refused(client, r, sid: str, status: int) -> str:
    """A refused action: back to the submission page (303), which shows the message once, with the
    refusal's status; a reload shows the page without it."""
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/review/submissions/{sid}"), r.status_code
    page = client.get(r.headers["Location"])
    assert page.status_code == status and 'class="alert"' in page.text and "Traceback" not in page.text
    again = client.get(r.headers["Location"])
    assert again.status_code == 200 and 'class="alert"' not in again.text
    return page.text


def audit_actions(ctx, sid: str) -> list[str]:
    return [e.action for e in ctx.store.list_audit() if e.subject == sid]


def release_all(client, ctx, sid: str) -> None:
    for hold in json.loads(ctx.store.get_submission(sid).report)["holds"]:
        if not hold.get("released"):
            r = act(client, sid, "release", object=hold["object"], justification="reported by many other victims")
            assert r.status_code == 303, r.text


# -- sign-in ------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["analyst", "admin"])
def test_analyst_and_admin_sign_in(app, ctx, keys, who):
    client, r = sign_in(app, getattr(keys, who))
    assert r.status_code == 302 and r.headers["Location"].endswith("/review/")
    with client.session_transaction("/review/") as s:
        assert s["sid"] and getattr(keys, who)["key_id"] in [x.key_id for x in ctx.store.list_sessions()]
        assert keys.analyst["key"].split(".", 1)[1] not in json.dumps(dict(s))  # never the secret
    queue = client.get("/review/")
    assert queue.status_code == 200 and "提出キュー" in queue.text


@pytest.mark.parametrize("who", ["submitter", "consumer", "csirt_consumer"])
def test_submitter_and_consumer_keys_are_refused(app, keys, who):
    key = getattr(keys, who)
    client, r = sign_in(app, key, lang="en")
    assert r.status_code == 403
    assert "cannot sign in" in r.text and "analyst and admin keys only" in r.text
    assert key["key"] not in r.text and key["key"].split(".", 1)[1] not in r.text
    assert client.get("/review/").status_code == 302


@pytest.mark.parametrize("bad", ["hk_0000000000000000.wrong", "not a key", "", "<b>x</b>.y"])
def test_failed_sign_in_never_echoes_the_key(app, keys, bad):
    client, r = sign_in(app, {"key": bad}, lang="en")
    assert r.status_code == 401 and "Sign-in failed" in r.text
    if bad:
        assert bad not in r.text and html.escape(bad) not in r.text


def test_right_key_id_with_a_wrong_secret_is_refused(app, keys):
    _, r = sign_in(app, {"key": keys.analyst["key_id"] + ".wrong-secret"})
    assert r.status_code == 401


def test_pages_require_sign_in(app, keys):
    client = app.test_client()
    for path in ("/review/", "/review/submissions/sub_x"):
        r = client.get(path)
        assert r.status_code == 302 and "/review/login" in r.headers["Location"]
    sub_page = client.get("/review/submissions/sub_x", follow_redirects=True)
    assert "サインインしてください" in sub_page.text


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(app, keys):
    client = app.test_client()
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/review/login").text).group(1)
    r = client.post("/review/login", data={"csrf": token, "key": keys.analyst["key"],
                                           "next": "/review/?status=review"})
    assert r.headers["Location"].endswith("/review/?status=review")
    client.post("/review/logout", data={"csrf": csrf_of(client)})
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/review/login").text).group(1)
    r = client.post("/review/login", data={"csrf": token, "key": keys.analyst["key"], "next": "//evil.example/"})
    assert r.headers["Location"].endswith("/review/")


def test_revoked_key_is_signed_out_at_once(app, ctx, keys):
    key, secret = ctx.store.create_key("hub-operator", "analyst")
    client, r = sign_in(app, {"key": f"{key.key_id}.{secret}"}, lang="en")
    assert client.get("/review/").status_code == 200
    ctx.store.revoke_key(key.key_id)
    r = client.get("/review/")
    assert r.status_code == 302 and "/review/login" in r.headers["Location"]
    assert "key was revoked" in client.get("/review/login").text
    with client.session_transaction("/review/") as s:
        assert "sid" not in s
    assert client.get("/review/").status_code == 302


def test_sign_out(analyst):
    r = analyst.post("/review/logout", data={"csrf": csrf_of(analyst)})
    assert r.status_code == 302
    assert analyst.get("/review/").status_code == 302


def test_session_cookie_is_httponly_samesite_lax_and_scoped(app, keys):
    _, r = sign_in(app, keys.analyst)
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/review" in cookie


# -- CSRF and headers ----------------------------------------------------------------------------

def test_post_without_or_with_a_wrong_csrf_token_is_400(analyst, ctx, keys):
    sub = submit_demo(ctx, keys)
    url = f"/review/submissions/{sub.id}/reject"
    assert analyst.post(url, data={"reason": "no token"}).status_code == 400
    assert analyst.post(url, data={"reason": "wrong", "csrf": "x" * 43}).status_code == 400
    assert analyst.post("/review/logout").status_code == 400
    assert ctx.store.get_submission(sub.id).status == "review"
    assert "reject" not in audit_actions(ctx, sub.id)


def test_login_post_needs_the_csrf_token(app, keys):
    client = app.test_client()
    client.get("/review/login")
    assert client.post("/review/login", data={"key": keys.analyst["key"]}).status_code == 400


def test_security_headers_on_every_review_response(app, analyst, ctx, keys):
    sub = submit_demo(ctx, keys)
    responses = [analyst.get("/review/"), analyst.get(f"/review/submissions/{sub.id}"),
                 analyst.get("/review/static/review.css"), app.test_client().get("/review/login"),
                 app.test_client().get("/review/"), analyst.get("/review/submissions/sub_nope"),
                 analyst.post("/review/logout")]
    for r in responses:
        for name, value in SECURITY_HEADERS.items():
            assert r.headers.get(name) == value, (r.request.path, name)
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp
    assert "<script" not in responses[1].text and "style=" not in responses[1].text


def test_unknown_submission_is_a_404_page(analyst):
    r = analyst.get("/review/submissions/sub_does_not_exist")
    assert r.status_code == 404 and r.mimetype == "text/html" and "Traceback" not in r.text


# -- language -------------------------------------------------------------------------------------

def test_language_switch_is_remembered(analyst):
    assert '<html lang="ja">' in analyst.get("/review/").text
    en = analyst.get("/review/?lang=en")
    assert '<html lang="en">' in en.text and "Submission queue" in en.text
    assert '<html lang="en">' in analyst.get("/review/").text
    assert "提出キュー" in analyst.get("/review/?lang=ja").text


def test_catalogue_has_every_string_in_both_languages():
    assert set(CATALOGUE["ja"]) == set(CATALOGUE["en"])
    assert all(CATALOGUE["ja"].values()) and all(CATALOGUE["en"].values())


# -- queue ----------------------------------------------------------------------------------------

def test_queue_lists_and_filters(analyst, ctx, keys):
    with_agreement = submit_demo(ctx, keys, victim_ref="CASE-1", tlp="green")
    without = submit_demo(ctx, keys, victim_ref="CASE-X", tlp="amber")
    page = analyst.get("/review/?lang=en").text
    assert with_agreement.id in page and without.id in page
    row = lambda sid, text: re.search(rf"{sid}.*?</tr>", text, re.S).group(0)  # noqa: E731
    assert "agreement-active" in row(with_agreement.id, page) and "agreement-none" in row(without.id, page)
    amber = analyst.get("/review/?tlp=amber").text
    assert without.id in amber and with_agreement.id not in amber
    assert with_agreement.id not in analyst.get("/review/?org=csirt-b").text
    assert without.id in analyst.get("/review/?org=csirt-a&status=review&needs_review=yes").text
    assert without.id not in analyst.get("/review/?needs_review=no").text
    assert without.id not in analyst.get("/review/?status=published").text


# -- the submission page ----------------------------------------------------------------------------

def test_submission_page_shows_originals_and_rule_ids(analyst, ctx, keys):
    sub = submit_demo(ctx, keys)
    page = analyst.get(f"/review/submissions/{sub.id}?lang=en").text
    # The original, with each original value marked by its rule; the draft, with its placeholders.
    assert '<mark data-rule="DI-03" title="DI-03 replaced with [VICTIM-ORG]">ヤマブキ製作所</mark>' in page
    assert '<mark data-rule="DI-05" title="DI-05 replaced with [INTERNAL-IP]">10.20.3.15</mark>' in page
    assert '<mark data-rule="DI-03" title="DI-03 replaced with [VICTIM-ORG]">[VICTIM-ORG]</mark>' in page
    assert '<mark data-rule="DI-07" title="DI-07 replaced with &lt;host&gt;">&lt;host&gt;</mark>' in page
    assert "株式会社ヤマブキ製作所" in page  # analysts see the original
    for rule in ("DI-01", "DI-03", "DI-04", "DI-05", "DI-07", "DI-09"):
        assert f'<span class="rule">{rule}</span>' in page
    # The two panes: the draft pane holds no victim value in clear.
    draft_pane = page.split('id="draft"', 1)[1].split("</pre>", 1)[0]
    assert "ヤマブキ" not in draft_pane and "YMB-FS02" not in draft_pane
    # Undo forms for the undoable entries, keyed as the service names them; release forms for holds.
    private = open_private_report(ctx, ctx.store.get_submission(sub.id))
    for entry, key in zip(private["entries"], entry_keys(private["entries"])):
        if entry["action"].startswith("replaced with"):
            assert f'name="entry" value="{html.escape(key)}"' in page
    assert page.count('action="/review/submissions/%s/release"' % sub.id) == 6  # DI-17 v2: 3 indicators + the 3 infrastructure SCOs they name
    assert "Publication is refused unless an active agreement" not in page  # CASE-1 has one
    assert "An active agreement covers sharing" in page


def test_values_from_a_submission_are_escaped(analyst, ctx, keys):
    bundle = copy.deepcopy(demo("submission.json"))
    for obj in bundle["objects"]:
        if obj["type"] == "malware":
            obj["name"] = XSS
            obj["description"] += ' "><img src=x onerror=alert(2)>'
    sub = submit_demo(ctx, keys, bundle=bundle, victim_ref='<img src=x onerror="alert(3)">')
    page = analyst.get(f"/review/submissions/{sub.id}").text
    assert XSS not in page and "<img" not in page
    assert '"name": "&lt;script&gt;alert(1)&lt;/script&gt;"' in page
    assert "&lt;img src=x onerror=&#34;alert(3)&#34;&gt;" in page
    assert "<img" not in analyst.get("/review/").text


def test_highlighting_escapes_before_marking():
    marks = [Mark("", "<b>", "DI-03", 'DI-03 "x" <y>')]
    out = str(render_text("a<b>c & <b>", marks))
    assert out == ('a<mark data-rule="DI-03" title="DI-03 &#34;x&#34; &lt;y&gt;">&lt;b&gt;</mark>c &amp; '
                   '<mark data-rule="DI-03" title="DI-03 &#34;x&#34; &lt;y&gt;">&lt;b&gt;</mark>')


def test_pretty_json_matches_json_dumps_when_unmarked():
    bundle = demo("submission.json")
    rendered = re.sub(r"</?mark[^>]*>", "", str(render_bundle(bundle, {})))
    assert html.unescape(rendered) == json.dumps(bundle, indent=2, ensure_ascii=False)


# -- actions --------------------------------------------------------------------------------------

def test_add_redaction(analyst, ctx, keys):
    sub = submit_demo(ctx, keys)
    assert "PlugX" in ctx.store.get_submission(sub.id).draft
    r = act(analyst, sub.id, "redact", value="PlugX", field="keywords")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/review/submissions/{sub.id}")
    page = analyst.get(r.headers["Location"]).text
    assert "非特定化を追加し、下書きを再計算しました" in page
    assert "PlugX" not in ctx.store.get_submission(sub.id).draft
    assert '<mark data-rule="DI-03" title="DI-03 replaced with [KEYWORD]">PlugX</mark>' in page
    assert "add-redaction" in audit_actions(ctx, sub.id)


def test_add_redaction_with_a_bad_value_is_a_400(analyst, ctx, keys):
    sub = submit_demo(ctx, keys)
    r = act(analyst, sub.id, "redact", value="not a range", field="ip_ranges")
    assert "選んだ種類として正しい値" in refused(analyst, r, sub.id, 400)
    r = act(analyst, sub.id, "redact", value="x", field="sectors")
    refused(analyst, r, sub.id, 400)


def test_undo_a_redaction(analyst, ctx, keys):
    bundle = copy.deepcopy(demo("submission.json"))
    for obj in bundle["objects"]:
        if obj["type"] == "malware":
            obj["description"] += " Analysed by Mr. Watanabe at the vendor lab."
    sub = submit_demo(ctx, keys, bundle=bundle)
    private = open_private_report(ctx, ctx.store.get_submission(sub.id))
    entries = private["entries"]
    key = next(k for e, k in zip(entries, entry_keys(entries)) if e["rule"] == "DI-10" and e["original"])
    refused(analyst, act(analyst, sub.id, "undo", entry=key, justification="short"), sub.id, 400)
    r = act(analyst, sub.id, "undo", entry=key, justification="a vendor analyst, not the victim")
    assert r.status_code == 303
    assert "Watanabe" in ctx.store.get_submission(sub.id).draft
    assert "undo-redaction" in audit_actions(ctx, sub.id)
    # Undoing a real victim value is refused by the leak gate: 422, nothing changed.
    key = next(k for e, k in zip(entries, entry_keys(entries)) if e.get("original") == "YMB-FS02")
    before = ctx.store.get_submission(sub.id).draft
    r = act(analyst, sub.id, "undo", entry=key, justification="I am sure this is fine to share")
    assert "リークゲートが拒否しました" in refused(analyst, r, sub.id, 422)
    assert ctx.store.get_submission(sub.id).draft == before


def test_change_tlp(analyst, ctx, keys):
    sub = submit_demo(ctx, keys, tlp="green")
    assert act(analyst, sub.id, "tlp", tlp="amber").status_code == 303
    assert ctx.store.get_submission(sub.id).tlp == "amber"
    assert "change-tlp" in audit_actions(ctx, sub.id)
    refused(analyst, act(analyst, sub.id, "tlp", tlp="red"), sub.id, 400)


def test_reject(analyst, ctx, keys):
    sub = submit_demo(ctx, keys)
    refused(analyst, act(analyst, sub.id, "reject", reason=""), sub.id, 400)
    r = act(analyst, sub.id, "reject", reason="duplicate of an earlier report")
    assert r.status_code == 303
    assert ctx.store.get_submission(sub.id).status == "rejected"
    assert "reject" in audit_actions(ctx, sub.id)
    page = analyst.get(f"/review/submissions/{sub.id}").text
    assert 'action="/review/submissions/%s/approve"' % sub.id not in page
    assert "「却下」の状態" in refused(analyst, act(analyst, sub.id, "approve"), sub.id, 409)  # WrongState


def test_release_holds_and_approve_publishes(analyst, ctx, keys):
    sub = submit_demo(ctx, keys, victim_ref="CASE-1")
    release_all(analyst, ctx, sub.id)
    assert audit_actions(ctx, sub.id).count("release-hold") == 6  # DI-17 v2: indicators and SCOs
    r = act(analyst, sub.id, "approve")
    assert r.status_code == 303
    done = ctx.store.get_submission(sub.id)
    assert done.status == "published" and done.publication_id
    assert "approve-publish" in audit_actions(ctx, sub.id)
    page = analyst.get(f"/review/submissions/{sub.id}?lang=en").text
    assert "Approved and published." in page and done.publication_id in page


def test_approve_with_holds_open_is_refused(analyst, ctx, keys):
    sub = submit_demo(ctx, keys, victim_ref="CASE-1")
    r = act(analyst, sub.id, "approve")
    assert "すべての保留（DI-04/DI-17）を解除または解決" in refused(analyst, r, sub.id, 422)
    assert ctx.store.get_submission(sub.id).status == "review"


def test_approve_without_an_agreement_is_refused_and_the_draft_stays(analyst, ctx, keys):
    sub = submit_demo(ctx, keys, victim_ref="CASE-X")
    page = analyst.get(f"/review/submissions/{sub.id}?lang=en").text
    assert "agreement-none" in page and "no agreement of this CSIRT covers this victim reference" in page
    assert "Publication is refused unless an active agreement" in page
    assert "有効な合意" in analyst.get(f"/review/submissions/{sub.id}?lang=ja").text
    release_all(analyst, ctx, sub.id)
    draft = ctx.store.get_submission(sub.id).draft
    r = act(analyst, sub.id, "approve")
    page = refused(analyst, r, sub.id, 422)
    assert "公開は拒否されました: この CSIRT の合意にこの被害組織参照を含むものがありません" in page
    assert "操作は拒否されました" in page
    after = ctx.store.get_submission(sub.id)
    assert after.status == "review" and after.draft == draft and after.publication_id is None
    assert "approve-publish" not in audit_actions(ctx, sub.id)


def test_unknown_action_is_a_404(analyst, ctx, keys):
    sub = submit_demo(ctx, keys)
    assert act(analyst, sub.id, "publish-now").status_code == 404
    assert act(analyst, "sub_nope", "approve").status_code == 404


def test_a_text_submission_is_shown_as_text_with_its_originals_marked(analyst, ctx, keys):
    body = {"text": (ROOT_DEMO / "iocs.txt").read_text(encoding="utf-8"), "victim_profile": demo("profile.json"),
            "tlp": "amber", "victim_ref": "CASE-1"}
    sub = submit(ctx, principal=principal(ctx, keys.submitter), body=body)
    r = analyst.get(f"/review/submissions/{sub.id}")
    assert r.status_code == 200
    original = r.text.split('id="original"', 1)[1].split("</pre>", 1)[0]
    assert "【共有】" in original and '"type": "bundle"' not in original
    # The prose does not reach the converted bundle; the victim-profile values in it are marked.
    assert re.search(r'<mark data-rule="DI-03" title="DI-03 victim profile: hostnames[^"]*">YMB-FS02</mark>', original)
    assert '<mark data-rule="DI-03" title="DI-03 victim profile: people">佐藤 花子</mark>' in original
    assert '<mark data-rule="DI-05" title="DI-05 victim profile: ip_ranges">192.0.2.141</mark>' in original
    assert "ヤマブキ" not in r.text.split('id="draft"', 1)[1].split("</pre>", 1)[0]


def test_a_failed_submission_renders_and_can_be_rejected(analyst, ctx, keys):
    body = {"csv": "type,value\nnot-a-type,whatever\n", "victim_profile": demo("profile.json"), "victim_ref": "CASE-1"}
    sub = submit(ctx, principal=principal(ctx, keys.submitter), body=body)
    r = analyst.get(f"/review/submissions/{sub.id}?lang=en")
    assert r.status_code == 200 and "There is no draft yet." in r.text
    assert f'action="/review/submissions/{sub.id}/approve"' not in r.text
    assert act(analyst, sub.id, "reject", reason="malformed input").status_code == 303


def test_an_unexpected_error_is_a_plain_500_page(analyst, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("ヤマブキ製作所 internal detail")

    monkeypatch.setattr("hub.services.queue.publication_gate", boom)
    r = analyst.get("/review/?lang=en")
    assert r.status_code == 500 and "An internal error occurred" in r.text
    assert "ヤマブキ" not in r.text and "Traceback" not in r.text
    assert r.headers["X-Frame-Options"] == "DENY"
