"""DI-11 v2: external_id only for public catalogues; case/ticket numbers internal even from a public
organisation; collaboration and case-tool links dropped wherever they are hosted."""
from __future__ import annotations

import pytest

from sanitizer.rules import di11_external_references as di11

from conftest import bundle, objects_of, run, sdo, text_of


def _refs(*refs):
    res = run(bundle(sdo("attack-pattern", 1, name="Exploit Public-Facing Application", external_references=list(refs))))
    return objects_of(res, "attack-pattern")[0].get("external_references", []), res


@pytest.mark.parametrize("ref", [
    {"source_name": "mitre-attack", "external_id": "T1190", "url": "https://attack.mitre.org/techniques/T1190/"},
    {"source_name": "cve", "external_id": "CVE-2024-3400"},
    {"source_name": "capec", "external_id": "CAPEC-66"},
    {"source_name": "cwe", "external_id": "CWE-89"},
    {"source_name": "JVN", "external_id": "JVNVU#93718420"},
    {"source_name": "nvd", "external_id": "CVE-2024-3400", "url": "https://nvd.nist.gov/vuln/detail/CVE-2024-3400"},
])
def test_di11_public_catalogue_ids_kept(ref):
    kept, _res = _refs(ref)
    assert kept == [ref]


@pytest.mark.parametrize("ref", [
    {"source_name": "JPCERT/CC", "external_id": "JPCERT-IR#2024-51873"},
    {"source_name": "JPCERT/CC", "external_id": "JPCERT-IR#2024-51873", "description": "incident report"},
    {"source_name": "IPA", "external_id": "J-CRAT-2024-0031"},
    {"source_name": "CISA", "external_id": "CASE-77120"},
])
def test_di11_case_numbers_from_public_organisations_are_internal(ref):
    kept, res = _refs(ref)
    assert all("external_id" not in r for r in kept)
    assert ref["external_id"] not in text_of(res)


def test_di11_public_advisory_url_kept_without_its_internal_id():
    ref = {"source_name": "Vendor advisory", "external_id": "INC-4411", "url": "https://security.vendor.example/adv/1"}
    kept, _res = _refs(ref)
    assert kept == [{"source_name": "Vendor advisory", "url": "https://security.vendor.example/adv/1"}]


@pytest.mark.parametrize("ref", [
    {"source_name": "Slack", "url": "https://tkc-ir.slack.com/archives/C07QX3N2B4K/p1719385520339219"},
    {"source_name": "chat", "url": "https://team-x.slack.example/archives/C01/p1700000000123456"},
    {"source_name": "Microsoft Teams", "url": "https://teams.microsoft.com/l/message/19:abc@thread.tacv2/1"},
    {"source_name": "share", "url": "https://app.box.com/s/7fqk2m9x4w1z0c8d3v6b"},
    {"source_name": "doc", "url": "https://drive.google.com/file/d/1AbCdEf/view"},
    {"source_name": "doc", "url": "https://contoso-my.sharepoint.com/:w:/g/personal/x/EaBc"},
    {"source_name": "kintone", "url": "https://acme.cybozu.com/k/12/show#record=4"},
    {"source_name": "ticket", "url": "https://tkc.backlog.jp/view/SECOPS-318", "external_id": "SECOPS-318"},
    {"source_name": "wiki", "url": "https://corp.atlassian.net/wiki/spaces/SEC/pages/1"},
    {"source_name": "MISP", "url": "https://misp.soc.partner.example/events/view/2284"},
    {"source_name": "OpenCTI", "url": "https://opencti.partner.invalid/dashboard/analyses/reports/6d0f3c"},
    {"source_name": "TheHive", "url": "https://10.61.4.20:9000/cases/~41021464/details"},
    {"source_name": "case", "url": "https://thehive.partner.example/cases/1"},
])
def test_di11_collaboration_and_case_tool_links_dropped(ref):
    kept, res = _refs(ref, {"source_name": "cve", "external_id": "CVE-2024-3400"})
    assert kept == [{"source_name": "cve", "external_id": "CVE-2024-3400"}]
    assert ref["url"] not in text_of(res)


@pytest.mark.parametrize("url", ["https://attack.mitre.org/techniques/T1190/", "https://docs.microsoft.com/x",
                                 "https://en.wikipedia.org/wiki/Emotet", "https://github.com/org/repo",
                                 "https://sandbox.example.org/report/1"])
def test_di11_public_urls_are_not_tool_links(url):
    assert not di11.is_private_url(url)


def test_di11_ticket_prefix_only_for_internal_ids():
    assert di11.ticket_prefix({"source_name": "TKC Jira", "external_id": "TKCIR-2024-0412"}) == "TKCIR"
    assert di11.ticket_prefix({"source_name": "cve", "external_id": "CVE-2024-3400"}) is None
