"""DI-02 v2: when the producer is the victim's own team, its names, abbreviations, domains and
ticket prefixes are victim tokens (declared in the profile, or found on a victim-side producer)."""
from __future__ import annotations

import json
import random
import string

import pytest

from sanitizer import BadInput, VictimProfile

from conftest import PROFILE, bundle, objects_of, run, sdo, text_of


def _team(seed: int) -> tuple[str, str, str]:
    rnd = random.Random(seed)
    abbr = "".join(rnd.choices(string.ascii_uppercase, k=3))
    return f"{abbr}-SIRT", f"{abbr}CIR", f"{abbr.lower()}-sec.example"


@pytest.mark.parametrize("seed", range(4))
def test_di02_declared_inhouse_team_tokens_are_victim_tokens(seed):
    team, prefix, domain = _team(seed)
    profile = {**PROFILE, "inhouse_team_names": [team], "inhouse_domains": [domain], "ticket_prefixes": [prefix]}
    text = (f"{team} tracked it in {prefix}-2024-0{seed}12 and {prefix.lower()}-2024-0409; "
            f"contact soc@{domain}. C2 203.0.113.{seed + 10}.")
    res = run(bundle(sdo("malware", 1, name="HOLLOWREED", is_family=True, description=text)), profile)
    out = objects_of(res, "malware")[0]["description"]
    for leak in (team, prefix, domain):
        assert leak.lower() not in text_of(res).lower()
    assert f"203.0.113.{seed + 10}" in out and "[TICKET]" in out


def test_di02_producer_naming_the_victim_is_the_inhouse_team():
    csirt = sdo("identity", 1, name="アクメ精工 CSIRT", identity_class="group", contact_information="csirt@acme-sirt.example",
                x_opencti_aliases=["AKS-SIRT", "AKSSIRT"], description="AKS-SIRT: in-house CSIRT")
    ind_ref = {"source_name": "AKS-SIRT Jira", "external_id": "AKSIR-2024-0412",
               "url": "https://aks-sirt.atlassian.example/browse/AKSIR-2024-0412"}
    mal = sdo("malware", 2, name="HOLLOWREED", is_family=True, created_by_ref=csirt["id"], labels=["akssirt-internal"],
              description="AKS-SIRT analysis; containment in AKSIR-2024-0409. Reach AKSSIRT via csirt@acme-sirt.example.",
              external_references=[ind_ref])
    rep = sdo("report", 3, name="AKS-SIRT 共有: HOLLOWREED", report_types=["threat-report"], created_by_ref=csirt["id"],
              published="2024-07-01T00:00:00Z", object_refs=[mal["id"]])
    res = run(bundle(csirt, mal, rep))
    text = text_of(res)
    for leak in ("AKS-SIRT", "AKSSIRT", "AKSIR-2024-0409", "AKSIR-2024-0412", "csirt@acme-sirt.example", "アクメ"):
        assert leak.lower() not in text.lower(), leak
    assert "HOLLOWREED" in text


def test_di02_an_outside_csirt_is_not_turned_into_victim_tokens():
    csirt = sdo("identity", 1, name="Example CSIRT", identity_class="organization", x_opencti_aliases=["EXCSIRT"])
    mal = sdo("malware", 2, name="HOLLOWREED", is_family=True, created_by_ref=csirt["id"],
              description="EXCSIRT saw it first", external_references=[
                  {"source_name": "EXCSIRT tracker", "external_id": "EXC-1", "url": "https://jira.excsirt.example/EXC-1"}])
    res = run(bundle(csirt, mal))
    assert objects_of(res, "malware")[0]["description"] == "EXCSIRT saw it first"


@pytest.mark.parametrize("field, value", [("inhouse_team_names", "TKC-SIRT"), ("inhouse_domains", "bad host/x"),
                                          ("ticket_prefixes", "TK CIR"), ("ticket_prefixes", "1234")])
def test_di02_profile_fields_validated_without_echoing_the_value(field, value):
    data = {**PROFILE, field: [value] if field != "inhouse_team_names" else value}
    with pytest.raises(BadInput) as exc:
        VictimProfile.from_dict(data)
    assert field in str(exc.value) and value not in str(exc.value)


def test_di02_extra_tokens_hook_for_the_token_index():
    p = VictimProfile.from_dict({**PROFILE, "inhouse_team_names": ["TKC-SIRT"], "inhouse_domains": ["tkc.example"],
                                 "ticket_prefixes": ["TKCIR-"]})
    assert p.extra_tokens() == (("org", "TKC-SIRT"), ("domain", "tkc.example"), ("ticket-prefix", "TKCIR"))
    e = p.expanded()
    assert "TKC-SIRT" in e.organization_names and "tkc.example" in e.domains and "TKCIR" in e.keywords
    assert json.dumps(p.extra_tokens())


def test_di02_team_abbreviation_in_the_producers_own_text_is_a_token():
    csirt = sdo("identity", 1, name="アクメ精工 セキュリティ室", identity_class="group",
                description="Also known internally as ACMSK-CSIRT; reach ACMSKSOC for containment.")
    mal = sdo("malware", 2, name="HOLLOWREED", is_family=True, created_by_ref=csirt["id"],
              description="ACMSK-CSIRT and ACMSKSOC handled it; C2 203.0.113.7")
    res = run(bundle(csirt, mal))
    out = objects_of(res, "malware")[0]["description"]
    assert "ACMSK" not in text_of(res) and "203.0.113.7" in out
