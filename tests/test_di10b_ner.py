"""DI-10b: the optional NER pass. With GiNZA installed (CI: pip install -e '.[ner]'), unknown
Japanese person / organisation names become holds (value only in the private report); attacker
and public entities do not. Without it (or with the policy off) everything else works and the
report says the pass did not run."""
from __future__ import annotations

import json

import pytest

from sanitizer import Policy
from sanitizer.policy import Policy as PolicyCls

from conftest import bundle, objects_of, run, sdo

PROSE = ("ヨルガラスは北斗物流株式会社の取引先を装ったメールで届いた。送信者は大和田健一郎と名乗り、"
         "Microsoftの更新を偽装した。攻撃者グループ白銀蜘蛛はツール影踏みを併用した。")
MAL = sdo("malware", 1, name="ヨルガラス", is_family=True, description=PROSE)
ACTOR = sdo("intrusion-set", 2, name="白銀蜘蛛")
TOOL = sdo("tool", 3, name="影踏み")


def test_di10b_without_ner_everything_else_works_and_the_report_says_so():
    res = run(bundle(MAL, ACTOR, TOOL))
    assert objects_of(res, "malware")[0]["name"] == "ヨルガラス"
    public = res.report.public()
    assert public["ner"] == "not-run" and not [h for h in public["holds"] if h.get("kind") == "ner"]


def test_di10b_policy_switch_is_validated():
    assert PolicyCls.from_dict({"ner": True}).ner is True
    with pytest.raises(Exception, match="ner"):
        PolicyCls.from_dict({"ner": "yes"})


def test_di10b_ginza_names_become_holds_never_changes():
    pytest.importorskip("ja_ginza")
    res = run(bundle(MAL, ACTOR, TOOL), policy=Policy(ner=True))
    assert res.report.ner == "ran"
    without = objects_of(run(bundle(MAL, ACTOR, TOOL)), "malware")[0]["description"]
    assert objects_of(res, "malware")[0]["description"] == without  # a hold, never a silent change
    private = [h for h in res.report.private()["holds"] if h.get("kind") == "ner"]
    held = " ".join(h["original"] for h in private)
    assert "北斗物流" in held and "大和田" in held
    assert "白銀蜘蛛" not in held and "影踏み" not in held and "Microsoft" not in held
    public = json.dumps(res.report.public(), ensure_ascii=False)
    assert "北斗物流" not in public and "大和田" not in public
    assert all(h["rules"] == ["DI-10b"] for h in private)


@pytest.mark.parametrize("prose, unknown, attacker", [
    ("攻撃メールは東雲商事の鷲尾美咲を名乗って送られ、添付のマクロが黒潮ローダを展開した。", ["鷲尾美咲"], "黒潮ローダ"),
    ("侵入後、攻撃者は青葉電設株式会社のVPN装置を経由し、門脇大輔のアカウントで横展開した。ツールは夜鷹。",
     ["青葉電設", "門脇大輔"], "夜鷹"),
    ("瑞穂フーズの情報システム課に対し、乙部千尋と名乗る人物から請求書を装うメールが届いた。", ["瑞穂フーズ", "乙部千尋"],
     "請求書"),
])
def test_di10b_variants_hold_unknown_names_not_attacker_entities(prose, unknown, attacker):
    pytest.importorskip("ja_ginza")
    tool = sdo("tool", 5, name=attacker)
    res = run(bundle(sdo("malware", 4, name="KUROSHIO", is_family=True, description=prose), tool),
              policy=Policy(ner=True))
    held = " ".join(h["original"] for h in res.report.private()["holds"] if h.get("kind") == "ner")
    for name in unknown:
        assert name in held
    assert attacker not in held
    assert not any(n in json.dumps(res.report.public(), ensure_ascii=False) for n in unknown)


from test_web import analyst, app, ctx, keys, principal  # noqa: E402,F401 - the web tests' hub fixtures


def test_di10b_hub_with_ner_on_shows_the_name_to_analysts_only(analyst, ctx, keys):  # noqa: F811
    pytest.importorskip("ja_ginza")
    import dataclasses

    from hub.services.submissions import submit

    stix = bundle(sdo("malware", 4, name="KUROSHIO", is_family=True,
                      description="攻撃メールは乙部千尋と名乗る人物から届き、添付のマクロが展開された。"))
    body = {"bundle": stix, "victim_profile": {"organization_names": ["ミナトベ精機"]}, "tlp": "amber",
            "victim_ref": "CASE-NER"}
    sub = submit(dataclasses.replace(ctx, ner=True), principal=principal(ctx, keys.submitter), body=body)
    assert "乙部千尋" not in sub.report and '"ner":"ran"' in sub.report.replace(" ", "")
    page = analyst.get(f"/review/submissions/{sub.id}").text
    holds = page.split('class="grid holds"', 1)[1].split("</table>", 1)[0]
    assert "DI-10b" in holds and "乙部千尋" in holds  # the analyst sees what the NER pass found
