"""Consent-gated sharing: the publication gate over NDA agreements, on SQLite and PostgreSQL,
and the `hub agreement` commands."""
from __future__ import annotations

import json
from datetime import date

import pytest

from hub.services.agreements import publication_gate
from hub.cli import main
from hub.store import open_store
from hub.store.base import Agreement

from taxii_fixtures import pg_database

ALL = ("NDA-01", "NDA-02", "NDA-03", "NDA-04", "NDA-05")
TODAY = date(2025, 6, 1)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
        s.migrate()
        yield s
        return
    with pg_database() as url:
        s = open_store(url)
        s.migrate()
        yield s
        s.close()


def setup(store):
    store.add_org("csirt-a", "csirt")
    store.add_org("csirt-b", "csirt")


@pytest.mark.parametrize("agreement,ref,org,status,allowed", [
    (None, "CASE-1", "csirt-a", "none", False),
    (Agreement("csirt-a", "CASE-1", "2025-01-01", None, ALL), "CASE-1", "csirt-a", "active", True),
    (Agreement("csirt-a", "CASE-1", "2025-01-01", "2026-01-01", ALL), "CASE-1", "csirt-a", "active", True),
    (Agreement("csirt-a", "CASE-1", "2024-01-01", "2025-05-31", ALL), "CASE-1", "csirt-a", "expired", False),
    (Agreement("csirt-a", "CASE-1", "2025-01-01", None, ALL, "2025-05-01"), "CASE-1", "csirt-a", "withdrawn", False),
    (Agreement("csirt-a", "CASE-1", "2025-01-01", None, ALL, "2025-07-01"), "CASE-1", "csirt-a", "active", True),
    (Agreement("csirt-b", "CASE-1", "2025-01-01", None, ALL), "CASE-1", "csirt-a", "none", False),  # other CSIRT's
    (Agreement("csirt-a", "CASE-1", "2025-07-01", None, ALL), "CASE-1", "csirt-a", "not-yet-valid", False),
    (Agreement("csirt-a", "CASE-1", "2025-01-01", None, ("NDA-01", "NDA-02")), "CASE-1", "csirt-a",
     "missing-clause", False),
    (Agreement("csirt-a", "CASE-2", "2025-01-01", None, ALL), "CASE-1", "csirt-a", "none", False),
    (None, None, "csirt-a", "none", False),
])
def test_publication_gate_matrix(store, agreement, ref, org, status, allowed):
    setup(store)
    if agreement:
        store.add_agreement(agreement)
    decision = publication_gate(store, org, ref, TODAY)
    assert (decision.status, decision.allowed) == (status, allowed)
    assert decision.message


def test_withdrawal_is_recorded_and_stops_publication(store):
    setup(store)
    store.add_agreement(Agreement("csirt-a", "CASE-9", "2025-01-01", None, ALL))
    assert publication_gate(store, "csirt-a", "CASE-9", TODAY).allowed
    store.withdraw_agreement("csirt-a", "CASE-9", "2025-06-01")
    assert publication_gate(store, "csirt-a", "CASE-9", TODAY).status == "withdrawn"


def test_agreement_commands(tmp_path, capsys):
    d = str(tmp_path / "hub")
    assert main(["init", "--data-dir", d, "--json"]) == 0
    assert main(["org", "add", "csirt-a", "--type", "csirt", "--data-dir", d, "--json"]) == 0
    capsys.readouterr()
    assert main(["agreement", "add", "--org", "csirt-a", "--victim-ref", "CASE-7", "--signed-on", "2025-01-10",
                 "--data-dir", d, "--json"]) == 0
    added = json.loads(capsys.readouterr().out)["agreement"]
    assert added["clauses"][0] == "NDA-01" and "NDA-03" in added["clauses"]
    assert main(["agreement", "add", "--org", "csirt-a", "--victim-ref", "CASE-7", "--signed-on", "2025-01-10",
                 "--data-dir", d]) == 2
    assert "already has an agreement" in capsys.readouterr().err
    for bad, message in ((["--signed-on", "10/01/2025"], "--signed-on must be a date"),
                         (["--signed-on", "2025-01-10", "--clauses", "NDA-99"], "unknown clause id"),
                         (["--signed-on", "2025-01-10", "--expires", "2024-01-01"], "--expires is before")):
        assert main(["agreement", "add", "--org", "csirt-a", "--victim-ref", "CASE-8", *bad, "--data-dir", d]) == 2
        assert message in capsys.readouterr().err
    assert main(["agreement", "withdraw", "CASE-7", "--on", "2025-03-01", "--data-dir", d, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["agreement"]["withdrawn_on"] == "2025-03-01"
    assert main(["agreement", "list", "--data-dir", d, "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["agreements"]) == 1


@pytest.mark.parametrize("lang,fmt", [("ja", "md"), ("en", "md"), ("ja", "html"), ("en", "html")])
def test_hub_nda_render_writes_every_clause_with_the_parties(tmp_path, capsys, lang, fmt):
    from nda_templates.render import CLAUSE_IDS

    out = tmp_path / f"nda.{fmt}"
    assert main(["nda", "render", "--lang", lang, "--party-a", "Sakura IR <K.K.>", "--party-b", "株式会社サンプル精機",
                 "--format", fmt, "--effective-date", "2026-04-01", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert all(f"[{c}]" in text for c in CLAUSE_IDS)
    assert "株式会社サンプル精機" in text and "{{" not in text and "{%" not in text
    assert ("Sakura IR &lt;K.K.&gt;" in text) if fmt == "html" else ("Sakura IR <K.K.>" in text)


def test_hub_nda_render_bad_input_exit_2(capsys):
    assert main(["nda", "render", "--lang", "en", "--party-a", " ", "--party-b", "X", "-o", "-"]) == 2
    assert "party_a" in capsys.readouterr().err
