"""One or more tests per de-identification rule, named after its id (test_di_NN_...)."""
from __future__ import annotations

import uuid

import pytest

from sanitizer import LeakRefused, Policy
from sanitizer.rules import RULES
from sanitizer.stixmeta import TLP2_IDS

from conftest import PROFILE, bundle, indicator, objects_of, run, sco, sdo, sid, text_of

VICTIM = sdo("identity", 1, name="株式会社アクメ精工", identity_class="organization",
             description="Acme Seiko Co., Ltd. 本社", contact_information="soc@acme-seiko.example")
CSIRT = sdo("identity", 2, name="Example CSIRT", identity_class="organization")
MALWARE = sdo("malware", 3, name="PlugX", is_family=True, created_by_ref=CSIRT["id"])


# ---------------------------------------------------------------- DI-01
def test_di_01_victim_identity_is_generalised_everywhere_it_is_referenced():
    targets = sdo("relationship", 4, relationship_type="targets", source_ref=MALWARE["id"], target_ref=VICTIM["id"])
    sighting = sdo("sighting", 5, sighting_of_ref=MALWARE["id"], where_sighted_refs=[VICTIM["id"]])
    res = run(bundle(VICTIM, CSIRT, MALWARE, targets, sighting))
    identities = objects_of(res, "identity")
    general = [i for i in identities if i["name"].startswith("Organisation")]
    assert len(general) == 1 and general[0]["description"].startswith("組織")
    assert objects_of(res, "relationship")[0]["target_ref"] == general[0]["id"]
    assert objects_of(res, "sighting")[0]["where_sighted_refs"] == [general[0]["id"]]
    assert "アクメ" not in text_of(res) and "acme" not in text_of(res).lower()


def test_di_01_identity_named_only_in_text_is_the_victim_and_sector_classes_are_not():
    sector = sdo("identity", 6, name="Japanese manufacturers", identity_class="class", sectors=["manufacturing"])
    rel = sdo("relationship", 7, relationship_type="targets", source_ref=MALWARE["id"], target_ref=sector["id"])
    res = run(bundle(VICTIM, CSIRT, MALWARE, sector, rel))
    names = {i["name"] for i in objects_of(res, "identity")}
    assert "Japanese manufacturers" in names  # a sector is not a victim
    assert not any("アクメ" in n for n in names)


def test_di_01_policy_drop_removes_victim_and_its_targets_relationship():
    targets = sdo("relationship", 4, relationship_type="targets", source_ref=MALWARE["id"], target_ref=VICTIM["id"])
    res = run(bundle(VICTIM, CSIRT, MALWARE, targets), policy=Policy(victim_identity="drop"))
    assert not objects_of(res, "relationship")
    assert all(not i["name"].startswith("Organisation") for i in objects_of(res, "identity"))


# ---------------------------------------------------------------- DI-02
def test_di_02_producer_replaced_by_hub_identity():
    res = run(bundle(CSIRT, MALWARE))
    (mal,) = objects_of(res, "malware")
    hub = [i for i in objects_of(res, "identity") if i["id"] == mal["created_by_ref"]]
    assert hub and hub[0]["name"] == Policy().hub_name
    assert "Example CSIRT" not in text_of(res)


def test_di_02_attribution_keeps_the_submitter_named():
    res = run(bundle(CSIRT, MALWARE), policy=Policy(attribution=True))
    (mal,) = objects_of(res, "malware")
    creator = [i for i in objects_of(res, "identity") if i["id"] == mal["created_by_ref"]]
    assert creator[0]["name"] == "Example CSIRT"


# ---------------------------------------------------------------- DI-03
@pytest.mark.parametrize("written", [
    "ＡＣＭＥ ＳＥＩＫＯ", "acme seiko", "ACME-SEIKO", "acmeseiko", "ｱｸﾒｾｲｺｳ", "アクメ精工", "ACMESK",
    "hxxps://portal[.]acme-seiko[.]example/x", "C:\\Users\\Public\\ACME-MES\\cfg.ini", "ACM-FS01", "t.yamada",
    "山田　太郎", "Yamada Taro", "taro.yamada",
])
def test_di_03_profile_tokens_in_any_spelling_are_replaced(written):
    mal = sdo("malware", 3, name="PlugX", is_family=True, description=f"seen at {written} during triage")
    res = run(bundle(mal))
    desc = objects_of(res, "malware")[0]["description"]
    assert desc.startswith("seen at ") and written not in desc
    assert "[" in desc  # a placeholder stands where the token was


def test_di_03_tokens_in_dictionary_keys_and_file_names():
    f = sco("file", 10, name="ACME-MES_export.xlsx", hashes={"SHA-256": "a" * 64})
    reg = sco("windows-registry-key", 11, key="HKEY_CURRENT_USER\\Software\\AcmeSeiko\\Agent")
    res = run(bundle(f, reg))
    out = text_of(res)
    assert "ACME-MES" not in out and "AcmeSeiko" not in out
    assert objects_of(res, "file")[0]["hashes"]["SHA-256"] == "a" * 64


def test_di_03_short_tokens_match_only_as_words():
    profile = {**PROFILE, "organization_names": ["NEC"]}
    mal = sdo("malware", 3, name="Loader", is_family=True, description="opens a connection to NEC servers")
    res = run(bundle(mal), profile=profile)
    assert objects_of(res, "malware")[0]["description"] == "opens a connection to [VICTIM-ORG] servers"


# ---------------------------------------------------------------- DI-04
def test_di_04_victim_domains_subdomains_defanged_and_idna():
    profile = {**PROFILE, "domains": ["acme-seiko.example", "アクメ.example"]}
    objs = [
        sco("domain-name", 20, value="vpn.acme-seiko.example"),
        sco("domain-name", 21, value="xn--cck0a4k.example"),  # IDNA form of アクメ.example
        sco("domain-name", 22, value="c2.attacker.example"),
        sco("url", 23, value="https://mail.acme-seiko.example/owa"),
        sdo("malware", 3, name="X", is_family=True,
            description="beacons to vpn[.]acme-seiko[.]example and c2.attacker.example"),
    ]
    res = run(bundle(*objs), profile=profile)
    values = {o["value"] for o in res.bundle["objects"] if "value" in o}
    assert values == {"c2.attacker.example"}
    desc = objects_of(res, "malware")[0]["description"]
    assert desc == "beacons to [VICTIM-DOMAIN] and c2.attacker.example"


def test_di_04_lookalike_attacker_hosts_are_removed_and_held_for_review():
    objs = [sco("domain-name", 20, value="acme-seiko-login.example.net"),
            sco("domain-name", 21, value="login.acmeseik0.example.com"),
            sco("domain-name", 22, value="neutral-redirect.example.org"),
            indicator(30, "[domain-name:value = 'acme-seiko-login.example.net'] OR "
                          "[domain-name:value = 'neutral-redirect.example.org']")]
    res = run(bundle(*objs))
    assert {o["value"] for o in objects_of(res, "domain-name")} == {"neutral-redirect.example.org"}
    assert objects_of(res, "indicator")[0]["pattern"] == "[domain-name:value = 'neutral-redirect.example.org']"
    assert any("DI-04" in h["rules"] for h in res.report.holds)


# ---------------------------------------------------------------- DI-05
@pytest.mark.parametrize("addr,kept", [
    ("198.51.100.97", False), ("198.51.100.104", True), ("198.51.100.95", True),  # /29 boundaries
    ("10.1.2.3", False), ("172.20.0.1", False), ("192.168.1.1", False), ("127.0.0.1", False),
    ("169.254.1.1", False), ("100.64.3.4", False), ("192.0.2.10", True), ("203.0.113.5", True),
])
def test_di_05_ipv4_ranges_and_non_routable(addr, kept):
    res = run(bundle(sco("ipv4-addr", 40, value=addr), indicator(41, f"[ipv4-addr:value = '{addr}']")))
    assert bool(objects_of(res, "ipv4-addr")) is kept
    assert bool(objects_of(res, "indicator")) is kept


@pytest.mark.parametrize("addr,kept", [
    ("2001:db8:a:1::5", False), ("2001:db8:a:2::5", True), ("fd00::1", False), ("fe80::1", False),
    ("::1", False), ("::ffff:10.0.0.1", False), ("2001:db8::53", True),
])
def test_di_05_ipv6_ranges_and_non_routable(addr, kept):
    res = run(bundle(sco("ipv6-addr", 40, value=addr)))
    assert bool(objects_of(res, "ipv6-addr")) is kept


def test_di_05_addresses_in_text_are_labelled():
    mal = sdo("malware", 3, name="X", is_family=True,
              description="C2 192.0.2.10, pivot 10.1.2.3, victim 198.51.100.98, defanged 10[.]9[.]8[.]7")
    res = run(bundle(mal))
    assert objects_of(res, "malware")[0]["description"] == (
        "C2 192.0.2.10, pivot [INTERNAL-IP], victim [VICTIM-IP], defanged [INTERNAL-IP]")


# ---------------------------------------------------------------- DI-06
def test_di_06_recipients_and_victim_addresses_removed_sender_kept():
    sender = sco("email-addr", 50, value="lure@attacker.example", display_name="HR Desk")
    victim = sco("email-addr", 51, value="t.yamada@acme-seiko.example", display_name="山田 太郎")
    other = sco("email-addr", 52, value="someone@gmail.example")
    private = sco("email-addr", 53, value="acme.private@mail.example")
    msg = sco("email-message", 54, is_multipart=False, from_ref=sender["id"], to_refs=[victim["id"], other["id"]],
              cc_refs=[private["id"]], subject="請求書", body="山田様 ...")
    res = run(bundle(sender, victim, other, private, msg))
    assert {o["value"] for o in objects_of(res, "email-addr")} == {"lure@attacker.example"}
    (m,) = objects_of(res, "email-message")
    assert "to_refs" not in m and "cc_refs" not in m and "body" not in m
    assert m["from_ref"] == objects_of(res, "email-addr")[0]["id"]


def test_di_06_addresses_in_text_and_url_encoded():
    mal = sdo("malware", 3, name="X", is_family=True,
              description="mail soc@acme-seiko.example or acme.private@mail.example; "
                          "kit https://phish.example/?u=t.yamada%40acme-seiko.example")
    out = objects_of(run(bundle(mal)), "malware")[0]["description"]
    assert "acme-seiko" not in out and "acme.private" not in out and "t.yamada" not in out
    assert out.startswith("mail [VICTIM-EMAIL] or [VICTIM-EMAIL]; kit https://phish.example/?u=")


# ---------------------------------------------------------------- DI-07
def test_di_07_home_paths_and_unc_hosts():
    d1 = sco("directory", 60, path="C:\\Users\\kenji\\AppData\\Roaming")
    d2 = sco("directory", 61, path="/home/ops/.ssh")
    d3 = sco("directory", 62, path="C:\\Users\\Public\\Downloads")
    mal = sdo("malware", 3, name="X", is_family=True,
              description="copied to \\\\FILESRV9\\share and /Users/alice/Library/x")
    res = run(bundle(d1, d2, d3, mal))
    paths = sorted(o["path"] for o in objects_of(res, "directory"))
    assert paths == ["/home/<user>/.ssh", "C:\\Users\\<user>\\AppData\\Roaming", "C:\\Users\\Public\\Downloads"]
    assert objects_of(res, "malware")[0]["description"] == (
        "copied to \\\\<host>\\share and /Users/<user>/Library/x")


# ---------------------------------------------------------------- DI-08
def test_di_08_user_accounts_dropped_from_objects_and_patterns():
    acct = sco("user-account", 70, user_id="1001", account_login="ops")
    proc = sco("process", 71, pid=42, creator_user_ref=acct["id"])
    ind = indicator(72, "[user-account:account_login = 'ops'] OR [ipv4-addr:value = '192.0.2.7']")
    res = run(bundle(acct, proc, ind))
    assert not objects_of(res, "user-account")
    assert "creator_user_ref" not in objects_of(res, "process")[0]
    assert objects_of(res, "indicator")[0]["pattern"] == "[ipv4-addr:value = '192.0.2.7']"


# ---------------------------------------------------------------- DI-09
def test_di_09_timestamps_coarsened_and_order_kept():
    sight = sdo("sighting", 80, sighting_of_ref=MALWARE["id"], first_seen="2025-03-14T02:13:45Z",
                last_seen="2025-03-15T23:59:59.123Z", created="2025-03-18T09:10:11.123Z",
                modified="2025-03-19T01:02:03.456Z")
    ind = indicator(81, "[ipv4-addr:value = '192.0.2.7'] START t'2025-03-14T02:13:45Z' STOP t'2025-03-14T05:00:00Z'",
                    valid_until="2025-04-01T12:00:00Z",
                    description="first seen 2025-03-14 02:13:45, mail at 2025/03/14 11:13:45 JST")
    res = run(bundle(CSIRT, MALWARE, sight, ind))
    (s,) = objects_of(res, "sighting")
    assert (s["first_seen"], s["last_seen"]) == ("2025-03-14T00:00:00Z", "2025-03-15T00:00:00Z")
    assert (s["created"], s["modified"]) == ("2025-03-18T00:00:00.000Z", "2025-03-19T00:00:00.000Z")
    (i,) = objects_of(res, "indicator")
    assert i["pattern"].endswith("START t'2025-03-14T00:00:00Z' STOP t'2025-03-15T00:00:00Z'")
    assert i["valid_until"] == "2025-04-02T00:00:00Z"
    assert i["description"] == "first seen 2025-03-14, mail at 2025-03-14"


def test_di_09_month_granularity():
    sight = sdo("sighting", 80, sighting_of_ref=MALWARE["id"], first_seen="2025-03-14T02:13:45Z")
    (s,) = objects_of(run(bundle(MALWARE, sight), policy=Policy(time_granularity="month")), "sighting")
    assert s["first_seen"] == "2025-03-01T00:00:00Z"


# ---------------------------------------------------------------- DI-10
def test_di_10_generic_detectors_and_notes_dropped():
    mal = sdo("malware", 3, name="X", is_family=True,
              description="call 053-555-0142; SID S-1-5-21-1004336348-1177238915-682003330-512; "
                          "MAC 00:1a:2b:3c:4d:5e; office 静岡県浜松市中区1-2-3; C2 192.0.2.9")
    note = sdo("note", 90, content="山田 太郎 opened it", object_refs=[mal["id"]])
    res = run(bundle(mal, note))
    assert not objects_of(res, "note")
    assert objects_of(res, "malware")[0]["description"] == (
        "call [PHONE]; SID [SID]; MAC [MAC]; office [ADDRESS]; C2 192.0.2.9")


# ---------------------------------------------------------------- DI-11
def test_di_11_external_references_public_kept_internal_dropped():
    refs = [
        {"source_name": "mitre-attack", "external_id": "T1566.001", "url": "https://attack.mitre.org/techniques/T1566/001/"},
        {"source_name": "cve", "external_id": "CVE-2024-3400"},
        {"source_name": "vendor blog", "url": "https://blog.security-vendor.example/plugx"},
        {"source_name": "itsm", "external_id": "INC0031337", "url": "https://itsm.acme-seiko.example/i/1"},
        {"source_name": "jira", "external_id": "SEC-12", "url": "https://corp.atlassian-jira.example/SEC-12"},
        {"source_name": "redmine", "url": "http://192.168.10.40/redmine/issues/2231"},
        {"source_name": "case", "external_id": "IR-2025-007"},
        {"source_name": "wiki", "url": "https://wiki.intra.local/x"},
    ]
    mal = sdo("malware", 3, name="X", is_family=True, external_references=refs)
    (m,) = objects_of(run(bundle(mal)), "malware")
    assert [r["source_name"] for r in m["external_references"]] == ["mitre-attack", "cve", "vendor blog"]


# ---------------------------------------------------------------- DI-12
@pytest.mark.parametrize("pattern,expected", [
    ("[ipv4-addr:value = '192.0.2.1' OR ipv4-addr:value = '10.0.0.5']", "[ipv4-addr:value = '192.0.2.1']"),
    ("[email-message:from_ref.value = 'x@attacker.example' AND email-message:to_refs[*].value = 'a@b.example']",
     "[email-message:from_ref.value = 'x@attacker.example']"),
    ("[domain-name:value = 'c2.example'] FOLLOWEDBY [domain-name:value = 'files.acme-seiko.example']",
     "[domain-name:value = 'c2.example']"),
    ("([ipv4-addr:value = '192.0.2.1'] AND [ipv4-addr:value = '192.168.0.1']) WITHIN 60 SECONDS",
     "([ipv4-addr:value = '192.0.2.1']) WITHIN 60 SECONDS"),
    ("[ipv4-addr:value IN ('192.0.2.1', '10.0.0.1', '192.0.2.2')]", "[ipv4-addr:value IN ('192.0.2.1', '192.0.2.2')]"),
    ("[file:name = 'x.exe' AND file:parent_directory_ref.path = 'C:\\\\Users\\\\kenji\\\\Desktop']",
     "[file:name = 'x.exe' AND file:parent_directory_ref.path LIKE 'C:\\\\Users\\\\%\\\\Desktop']"),
    ("[url:value = 'https://kit.example/?e=t.yamada%40acme-seiko.example' OR url:value = 'https://kit.example/a']",
     "[url:value LIKE 'https://kit.example/%' OR url:value = 'https://kit.example/a']"),  # DI-14 v2: host kept
    ("[network-traffic:dst_port = 4444 AND network-traffic:dst_ref.value = '192.0.2.1']",
     "[network-traffic:dst_port = 4444 AND network-traffic:dst_ref.value = '192.0.2.1']"),
])
def test_di_12_pattern_rewrite(pattern, expected):
    (i,) = objects_of(run(bundle(indicator(100, pattern))), "indicator")
    assert i["pattern"] == expected


def test_di_12_indicator_dropped_when_nothing_is_left_and_relationship_follows():
    ind = indicator(100, "[ipv4-addr:value = '10.0.0.1'] OR [domain-name:value = 'acme-seiko.example']")
    rel = sdo("relationship", 101, relationship_type="indicates", source_ref=ind["id"], target_ref=MALWARE["id"])
    res = run(bundle(MALWARE, ind, rel))
    assert not objects_of(res, "indicator") and not objects_of(res, "relationship")
    assert any(e.rule == "DI-12" and "dropped" in e.action for e in res.report.entries)


# ---------------------------------------------------------------- DI-13
def test_di_13_ids_regenerated_refs_rewritten_tlp_kept():
    ip = sco("ipv4-addr", 110, value="192.0.2.1")
    dom = sco("domain-name", 111, value="c2.example", resolves_to_refs=[ip["id"]])
    ind = indicator(112, "[ipv4-addr:value = '192.0.2.1']", object_marking_refs=[TLP2_IDS["green"]])
    rel = sdo("relationship", 113, relationship_type="indicates", source_ref=ind["id"], target_ref=MALWARE["id"])
    res = run(bundle(CSIRT, MALWARE, ip, dom, ind, rel))
    out = text_of(res)
    for o in (CSIRT, MALWARE, ind, rel):
        assert o["id"].split("--")[1] not in out
    assert res.bundle["id"] != bundle()["id"]
    ids = {o["id"] for o in res.bundle["objects"]}
    for o in res.bundle["objects"]:
        for key in ("source_ref", "target_ref", "created_by_ref"):
            if key in o:
                assert o[key] in ids
    import stix2
    expected = stix2.IPv4Address(value="192.0.2.1").id  # the spec's UUIDv5 from the value
    assert objects_of(res, "ipv4-addr")[0]["id"] == expected
    assert objects_of(res, "domain-name")[0]["resolves_to_refs"] == [expected]
    assert all(TLP2_IDS["green"] in o.get("object_marking_refs", []) for o in objects_of(res, "indicator"))


def test_di_13_sco_id_follows_sanitised_value():
    d = sco("directory", 120, path="C:\\Users\\kenji\\Temp")
    res = run(bundle(d))
    import stix2
    assert objects_of(res, "directory")[0]["id"] == stix2.Directory(path="C:\\Users\\<user>\\Temp").id


def test_di_13_keyed_ids_depend_on_secret_and_dangling_sightings_dropped():
    sight = sdo("sighting", 130, sighting_of_ref=indicator(131, "[ipv4-addr:value = '10.0.0.1']")["id"])
    ind = indicator(131, "[ipv4-addr:value = '10.0.0.1']")
    a = run(bundle(MALWARE, ind, sight), secret=b"a" * 32)
    b = run(bundle(MALWARE, ind, sight), secret=b"b" * 32)
    assert not objects_of(a, "sighting")  # its indicator had only a victim comparison
    assert objects_of(a, "malware")[0]["id"] != objects_of(b, "malware")[0]["id"]


def test_di_13_original_ids_quoted_in_text_are_replaced():
    mal = sdo("malware", 3, name="X", is_family=True, description=f"see {CSIRT['id']} and {VICTIM['id']}")
    res = run(bundle(CSIRT, VICTIM, mal))
    desc = objects_of(res, "malware")[0]["description"]
    assert CSIRT["id"].split("--")[1] not in desc and VICTIM["id"].split("--")[1] not in desc


# ---------------------------------------------------------------- DI-14
def test_di_14_payloads_dropped():
    art = sco("artifact", 140, payload_bin="aGVsbG8=", mime_type="text/plain")
    proc = sco("process", 141, pid=7, command_line="net use \\\\ACM-FS01 /user:t.yamada pw", cwd="/tmp")
    att = sco("file", 142, name="invoice.zip", hashes={"SHA-256": "b" * 64})
    msg = sco("email-message", 143, is_multipart=True, subject="invoice",
              body_multipart=[{"body": "Dear Yamada", "content_type": "text/plain"},
                              {"body_raw_ref": att["id"], "content_type": "application/zip"}])
    res = run(bundle(art, proc, att, msg))
    assert not objects_of(res, "artifact")
    assert "command_line" not in objects_of(res, "process")[0]
    (m,) = objects_of(res, "email-message")
    assert m["body_multipart"] == [{"body_raw_ref": objects_of(res, "file")[0]["id"], "content_type": "application/zip"}]


# ---------------------------------------------------------------- DI-15
def test_di_15_custom_content_dropped():
    mal = sdo("malware", 3, name="X", is_family=True, x_acme_config={"proxy": "10.0.0.1"},
              extensions={"extension-definition--11111111-1111-4111-8111-111111111111": {"extension_type": "property-extension", "secret": 1}})
    custom = {"type": "x-acme-ticket", "spec_version": "2.1", "id": sid("x-acme-ticket", 150),
              "created": "2025-03-18T09:00:00.000Z", "modified": "2025-03-18T09:00:00.000Z"}
    res = run(bundle(mal, custom))
    (m,) = objects_of(res, "malware")
    assert "x_acme_config" not in m and "extensions" not in m
    assert not objects_of(res, "x-acme-ticket")
    assert {e.rule for e in res.report.entries} >= {"DI-15"}


# ---------------------------------------------------------------- DI-16
def test_di_16_sector_only_when_k_members_share_it():
    targets = sdo("relationship", 4, relationship_type="targets", source_ref=MALWARE["id"], target_ref=VICTIM["id"])
    few = run(bundle(VICTIM, MALWARE, targets), policy=Policy(sector_member_counts={"manufacturing": 2}))
    many = run(bundle(VICTIM, MALWARE, targets), policy=Policy(sector_member_counts={"manufacturing": 5}))
    unknown = run(bundle(VICTIM, MALWARE, targets))
    gen = lambda r: [i for i in objects_of(r, "identity") if i["name"].startswith("Organisation")][0]  # noqa: E731
    assert "sectors" not in gen(few) and "sectors" not in gen(unknown)
    assert gen(many)["sectors"] == ["manufacturing"]
    assert gen(many)["name"] == "Organisation in the manufacturing sector (JP)"
    assert gen(many)["description"] == "製造業の組織（日本）"


# ---------------------------------------------------------------- DI-17
def test_di_17_unique_infrastructure_held_until_k_reporters():
    ind = indicator(170, "[domain-name:value = 'c2.attacker.example']")
    held = run(bundle(ind))
    assert [h["rules"] for h in held.report.holds] == [["DI-17"]]
    known = run(bundle(ind), policy=Policy(known_reporter_counts={"c2.attacker.example": 3}))
    assert known.report.holds == []
    hashes_only = run(bundle(indicator(171, "[file:hashes.MD5 = '" + "c" * 32 + "']")))
    assert hashes_only.report.holds == []


# ---------------------------------------------------------------- DI-18
def test_di_18_leak_gate_refuses_what_a_broken_detector_missed(monkeypatch):
    import sanitizer.scrub as scrub
    from sanitizer.rules import di03_profile_tokens
    # Simulate a detector regression: DI-03 finds nothing. The gate must still refuse.
    monkeypatch.setattr(scrub, "TEXT_DETECTORS", tuple(d for d in scrub.TEXT_DETECTORS if d is not di03_profile_tokens))
    mal = sdo("malware", 3, name="X", is_family=True, description="targeted Acme Seiko")
    with pytest.raises(LeakRefused) as info:
        run(bundle(mal))
    assert info.value.hits[0].rule == "DI-03"
    assert "Acme" not in str(info.value) and "description" in str(info.value)


def test_di_18_placeholders_are_not_leaks_even_when_a_token_is_spelled_inside():
    profile = {**PROFILE, "domains": ["victim.example"], "hostnames": ["host"]}
    mal = sdo("malware", 3, name="X", is_family=True, description="the victim host was at victim.example")
    res = run(bundle(mal), profile=profile)
    assert objects_of(res, "malware")[0]["description"] == "the [VICTIM-ORG] [HOST] was at [VICTIM-DOMAIN]"


def test_di_18_leak_gate_checks_uncoarsened_timestamps_and_ids():
    from sanitizer.matching import ProfileIndex
    from sanitizer.profile import VictimProfile
    from sanitizer.rules import di18_leak_gate
    index = ProfileIndex(VictimProfile.from_dict(PROFILE))
    leaky = {"type": "bundle", "id": sid("bundle", 1), "objects": [
        {"type": "sighting", "id": sid("sighting", 2), "first_seen": "2025-03-14T02:13:45Z",
         "description": "ref " + str(uuid.UUID(int=77, version=4))}]}
    hits = di18_leak_gate.scan(leaky, index, frozenset({str(uuid.UUID(int=77, version=4))}))
    assert {h.rule for h in hits} == {"DI-09", "DI-13"}


# ---------------------------------------------------------------- registry
def test_every_rule_is_registered_once_and_has_a_test_named_after_it():
    assert sorted(RULES) == [f"DI-{n:02d}" for n in range(1, 20)]
    names = [n for n in globals() if n.startswith("test_di_")]
    for rule_id in RULES:
        prefix = "test_" + rule_id.lower().replace("-", "_") + "_"
        assert any(n.startswith(prefix) for n in names), f"no test for {rule_id}"
    for module in RULES.values():
        assert module.TITLE and module.ACTION


def test_di_13_scos_that_become_identical_are_emitted_once():
    a = sco("directory", 180, path="C:\\Users\\kenji\\Temp")
    b = sco("directory", 181, path="C:\\Users\\yuki\\Temp")
    res = run(bundle(a, b))
    assert [o["path"] for o in objects_of(res, "directory")] == ["C:\\Users\\<user>\\Temp"]


@pytest.mark.parametrize("text,expected", [
    ("上長の村井 恵子にも転送", "上長の[PERSON]にも転送"),
    ("浅野信也が対応した", "[PERSON]が対応した"),
    ("佐藤様宛てのメール", "[PERSON]様宛てのメール"),
    ("田中部長の端末", "[PERSON]部長の端末"),
    ("山田工業所のサーバを経由", "山田工業所のサーバを経由"),
    ("forwarded to Mr. Kenta Mori and Sato-san", "forwarded to [PERSON] and [PERSON]"),
    ("the dropper is the main module", "the dropper is the main module"),
    ("攻撃者は PlugX を使用", "攻撃者は PlugX を使用"),
])
def test_di_10_unlisted_person_names(text, expected):
    mal = sdo("malware", 3, name="X", is_family=True, description=text)
    assert objects_of(run(bundle(mal)), "malware")[0]["description"] == expected


# ---------------------------------------------------------------- DI-19 (more in test_di19_victim_ids.py)
def test_di_19_victim_tenant_goes_attacker_tenant_stays():
    rep = sdo("report", 95, name="r", report_types=["threat-report"], published="2025-03-18T00:00:00Z",
              object_refs=[MALWARE["id"]],
              description="Acme Seiko tenant 11111111-2222-4333-8444-555555555555 granted consent to the "
                          "attacker app from tenant 66666666-7777-4888-9999-000000000000.")
    out = objects_of(run(bundle(MALWARE, rep)), "report")[0]["description"]
    assert "11111111-2222-4333-8444-555555555555" not in out and "[VICTIM-ID]" in out
    assert "66666666-7777-4888-9999-000000000000" in out
