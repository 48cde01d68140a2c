"""DI-19: the victim's identifiers in cloud, directory and business systems go (in every place of
the bundle once found next to victim context); the attacker's identifiers of the same kinds stay."""
from __future__ import annotations

import random
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import bundle, indicator, objects_of, run, sco, sdo, text_of
from sanitizer.rules.di19_victim_ids import corporate_number_valid

VICTIM = sdo("identity", 1, name="株式会社アクメ精工", identity_class="organization")
MAL = sdo("malware", 3, name="X", is_family=True)


def _report(text: str, n: int = 9) -> dict:
    return sdo("report", n, name="r", report_types=["threat-report"], published="2025-03-18T00:00:00Z",
               object_refs=[MAL["id"]], description=text)


def _out(*objs) -> str:
    return text_of(run(bundle(MAL, *objs)))


def _guid(rnd: random.Random) -> str:
    return str(uuid.UUID(int=rnd.getrandbits(128), version=4))


def test_di_19_cloud_ids_next_to_the_victim_go_attacker_ones_stay():
    text = ("Consent was granted in the Acme Seiko tenant 3c9f1e27-8b4d-4a61-9f0e-5d2a7c6b1e48 "
            "(acmesk.onmicrosoft.com) to the attacker app e8a3f2c1-54b7-4d09-a6e1-3b9c0f7d2a85, published from "
            "tenant 0b7c4d9e-1f26-4a83-b5e0-9d2c6a4f8e13. Keys for Acme Seiko account 482915730614 "
            "(role arn:aws:iam::482915730614:role/prod-backup) were used; snapshots went to the attacker account "
            "731864205597; Azure subscription a41d6e0b-27c3-4f95-b8e2-6c0f93d7a512 of アクメ精工 was listed.")
    out = _out(_report(text))
    for gone in ("3c9f1e27-8b4d-4a61-9f0e-5d2a7c6b1e48", "acmesk.onmicrosoft.com", "482915730614",
                 "a41d6e0b-27c3-4f95-b8e2-6c0f93d7a512", "prod-backup"):
        assert gone not in out, gone
    for kept in ("e8a3f2c1-54b7-4d09-a6e1-3b9c0f7d2a85", "0b7c4d9e-1f26-4a83-b5e0-9d2c6a4f8e13", "731864205597"):
        assert kept in out, kept


def test_di_19_victim_tenant_removed_everywhere_once_found():
    url = sco("url", 20, value="https://login.microsoftonline.com/3c9f1e27-8b4d-4a61-9f0e-5d2a7c6b1e48/oauth2/"
                               "authorize?client_id=e8a3f2c1-54b7-4d09-a6e1-3b9c0f7d2a85")
    ind = indicator(41, f"[url:value = '{url['value']}'] OR [domain-name:value = 'consent-app.test']")
    rep = _report("The victim tenant 3c9f1e27-8b4d-4a61-9f0e-5d2a7c6b1e48 was phished.")
    out = _out(url, ind, rep)
    assert "3c9f1e27" not in out
    assert objects_of(run(bundle(MAL, url, ind, rep)), "indicator")[0]["pattern"] == \
        "[domain-name:value = 'consent-app.test']"


def test_di_19_directory_names_dn_spn_and_down_level_logon():
    text = ("In Acme Seiko's AD (ad.acmsk.invalid, NetBIOS ACMSK, realm AD.ACMSK.INVALID) the actor kerberoasted "
            "MSSQLSvc/sql02.ad.acmsk.invalid:1433 and bound as CN=svc-backup,OU=Service Accounts,DC=ad,DC=acmsk,"
            "DC=invalid from Acme Seiko asset ACM-PC-30917.")
    acct = sco("user-account", 21, account_login="ACMSK\\svc-backup", account_type="windows-domain")
    proc = sco("process", 22, pid=4, command_line="runas /user:ACMSK\\svc-backup cmd")
    res = run(bundle(MAL, _report(text), acct, proc))
    out = text_of(res).lower()
    for gone in ("ad.acmsk.invalid", "acmsk", "svc-backup", "dc=ad,dc=acmsk", "acm-pc-30917"):
        assert gone not in out, gone
    assert "kerberoasted" in out


def test_di_19_bank_accounts_victim_goes_mule_stays():
    rep = _report("The payee moved from アクメ精工's account (みずなぎ銀行 本店 普通 3082716) to "
                  "ひばり信用組合 本店 普通 5519043.")
    infra = sdo("infrastructure", 30, name="BEC", infrastructure_types=["exfiltration"],
                description="Mule account for the fake invoice: ひばり信用組合 本店 普通 5519043.")
    out = _out(rep, infra)
    assert "3082716" not in out
    assert out.count("5519043") == 2


def test_di_19_victim_identity_values_go_everywhere():
    victim = sdo("identity", 1, name="株式会社アクメ精工", identity_class="organization",
                 description="法人番号 5040001098315。EDR 顧客ID (CID) 8E41C7A2D90F4B3E96A5C1F07B2D4E68。東証 6501")
    rep = _report("Telemetry of CID 8E41C7A2D90F4B3E96A5C1F07B2D4E68 and corp no. 5040001098315 shows the loader.")
    tgt = sdo("relationship", 31, relationship_type="targets", source_ref=MAL["id"], target_ref=victim["id"])
    out = _out(victim, rep, tgt)
    assert "8E41C7A2D90F4B3E96A5C1F07B2D4E68".lower() not in out.lower() and "5040001098315" not in out


def test_di_19_corporate_number_check_digit():
    assert corporate_number_valid("5040001098315")
    assert not corporate_number_valid("5040001098316")
    assert not corporate_number_valid("504000109831")


def test_di_19_licence_key_and_ticker_next_to_victim():
    rep = _report("Acme Seiko licence key ABCDE-12345-FGHIJ-67890-KLMNO was reused; アクメ精工 (東証 7012) "
                  "was named in the ransom note. The attacker's stolen licence key ZZZZZ-11111-YYYYY-22222 was sold.")
    out = _out(rep)
    assert "ABCDE-12345" not in out and "7012" not in out
    assert "ZZZZZ-11111-YYYYY-22222" in out


def test_di_19_property_naming_the_victim_side():
    rep = _report("The loader checks tenant 11111111-2222-4333-8444-555555555555 before running.")
    rep["x_victim_tenant"] = "11111111-2222-4333-8444-555555555555"
    out = _out(rep)
    assert "11111111-2222-4333-8444-555555555555" not in out


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10 ** 6))
def test_di_19_generated_victim_and_attacker_cloud_ids(seed):
    rnd = random.Random(seed)
    v_tenant, a_tenant = _guid(rnd), _guid(rnd)
    v_acct, a_acct = str(rnd.randrange(10 ** 11, 10 ** 12)), str(rnd.randrange(10 ** 11, 10 ** 12))
    victim_name = rnd.choice(["Acme Seiko", "アクメ精工", "ACME SEIKO", "ｱｸﾒ精工"])
    sentences = [
        f"{victim_name} {rnd.choice(['tenant', 'directory', 'subscription'])} {v_tenant} was enumerated",
        f"{rnd.choice(['AWS account', 'account'])} {v_acct} of {victim_name} was accessed",
        f"the attacker {rnd.choice(['tenant', 'subscription'])} {a_tenant} hosted the app",
        f"data went to the attacker account {a_acct}",
    ]
    rnd.shuffle(sentences)
    out = _out(_report(". ".join(sentences) + "."))
    assert v_tenant not in out and v_acct not in out
    assert a_tenant in out and a_acct in out


@pytest.mark.parametrize("spn,host", [
    ("MSSQLSvc/SQL02:1433", "sql02"), ("cifs/FS01.corp.local", "fs01.corp.local"), ("TERMSRV/jump-03", "jump-03"),
])
def test_di_19_spn_hosts_of_internal_servers_go(spn, host):
    out = _out(_report(f"The actor requested a ticket for {spn} and later logged on to {host.upper()}."))
    assert host not in out.lower(), out


def test_di_19_http_versions_and_urls_are_not_spns():
    text = "Beacon over HTTP/1.1 to https://cdn.attacker.test/host/x and ldap/ directory listing."
    assert objects_of(run(bundle(MAL, _report(text))), "report")[0]["description"] == text


def test_di_19_account_holder_of_the_victim_goes_mule_holder_stays():
    rep = _report("アクメ精工 の給与口座（口座名義 ヤマダ タロウ）から送金された。"
                  "Mule account holder: クレセント トレーディング (attacker-controlled).")
    out = _out(rep)
    assert "ヤマダ" not in out
    assert "クレセント トレーディング" in out


def test_di_19_host_slash_words_in_prose_are_not_spns():
    text = "Adversaries may abuse host/domain controllers; see cifs/share enumeration and ldap/global catalog."
    out = _out(_report(text))
    assert objects_of(run(bundle(MAL, _report(text))), "report")[0]["description"] == text and "domain" in out
