"""The redaction report: every kept object classified, public form free of original values."""
from __future__ import annotations

import json

from sanitizer.classify import COMMUNICATION, CONTEXT, MALWARE, TTP, VULNERABILITY

from conftest import bundle, indicator, run, sco, sdo


def test_every_kept_object_is_classified_into_the_four_classes():
    mal = sdo("malware", 1, name="PlugX", is_family=True)
    ap = sdo("attack-pattern", 2, name="Spearphishing", external_references=[
        {"source_name": "mitre-attack", "external_id": "T1566.001"}])
    vuln = sdo("vulnerability", 3, name="CVE-2024-3400")
    ip = sco("ipv4-addr", 4, value="192.0.2.1")
    f = sco("file", 5, name="a.dll", hashes={"SHA-256": "d" * 64})
    ind_net = indicator(6, "[ipv4-addr:value = '192.0.2.1']")
    ind_file = indicator(7, "[file:hashes.'SHA-256' = '" + "d" * 64 + "']")
    yara = sdo("indicator", 8, pattern="rule x { condition: true }", pattern_type="yara",
               valid_from="2025-03-18T00:00:00Z")
    rel = sdo("relationship", 9, relationship_type="uses", source_ref=mal["id"], target_ref=ap["id"])
    res = run(bundle(mal, ap, vuln, ip, f, ind_net, ind_file, yara, rel))
    by_type = {}
    for o in res.bundle["objects"]:
        by_type.setdefault(o["type"], []).append(res.report.classes[o["id"]])
    assert by_type["malware"] == [MALWARE] and by_type["attack-pattern"] == [TTP]
    assert by_type["vulnerability"] == [VULNERABILITY] and by_type["ipv4-addr"] == [COMMUNICATION]
    assert by_type["file"] == [MALWARE] and by_type["relationship"] == [TTP]
    assert sorted(by_type["indicator"]) == sorted([COMMUNICATION, MALWARE, MALWARE])
    assert by_type["marking-definition"] == [CONTEXT]
    assert set(res.report.classes) == {o["id"] for o in res.bundle["objects"]}


def test_public_report_holds_no_original_value_or_id_private_does():
    ind = indicator(10, "[ipv4-addr:value = '10.9.9.9'] OR [domain-name:value = 'c2.attacker.example']",
                    description="pivot from 10.9.9.9 owned by 山田 太郎")
    res = run(bundle(ind))
    public = json.dumps(res.report.public(), ensure_ascii=False)
    private = json.dumps(res.report.private(), ensure_ascii=False)
    for secret in ("10.9.9.9", "山田", ind["id"]):
        assert secret not in public
        assert secret in private
    assert res.report.public()["holds"] and "original" not in res.report.public()["holds"][0]
    rules = {e["rule"] for e in res.report.public()["entries"]}
    assert {"DI-03", "DI-05", "DI-12"} <= rules


def test_entries_say_what_was_written_and_what_became_of_their_object():
    """`replacement` is the text written in place of the original (placeholder or coarsened
    time), `state` what became of the object; review and highlighting read these, not the prose."""
    ind = indicator(11, "[domain-name:value = 'c2.attacker.example']",
                    description="pivot from 10.9.9.9 owned by 山田 太郎", valid_until="2025-06-30T13:14:15Z")
    victim = sdo("identity", 12, name="株式会社アクメ精工", identity_class="organization")
    account = sco("user-account", 13, user_id="t.yamada")
    res = run(bundle(ind, victim, account))
    kept_ids = {o["id"] for o in res.bundle["objects"]}
    entries = res.report.private()["entries"]
    assert entries and all(e["state"] in ("kept", "replaced", "dropped") for e in entries)  # none pending
    draft_ind = next(o for o in res.bundle["objects"] if o["type"] == "indicator")
    replaced = [e for e in entries if e["path"] == "description" and e["replacement"] is not None]
    assert replaced and all(e["state"] == "kept" and e["object"] == draft_ind["id"] for e in replaced)
    for e in replaced:  # the placeholder is in the draft where the original was
        assert e["replacement"] in draft_ind["description"] and e["original"] not in draft_ind["description"]
    coarsened = [e for e in entries if e["rule"] == "DI-09" and e["path"] == "valid_until"]
    assert coarsened and coarsened[0]["replacement"] == draft_ind["valid_until"] != "2025-06-30T13:14:15Z"
    dropped = [e for e in entries if e["state"] == "dropped"]
    assert dropped and all(e["object"] not in kept_ids and e["replacement"] is None for e in dropped)
    for e in entries:
        if e["state"] == "kept":
            assert e["object"] in kept_ids
    public = res.report.public()["entries"]
    assert all({"rule", "object", "path", "action", "class", "replacement", "state"} == set(e) for e in public)
    assert "10.9.9.9" not in json.dumps(public) and "山田" not in json.dumps(public, ensure_ascii=False)
