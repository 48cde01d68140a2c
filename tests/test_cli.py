"""`hub sanitize` as a user runs it: exit codes, messages, files written or not, determinism."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hub.cli import main

from conftest import PROFILE, ROOT, bundle, indicator, sco, sdo

VICTIM_NAME = "株式会社アクメ精工"
GOOD = bundle(
    sdo("identity", 1, name=VICTIM_NAME, identity_class="organization"),
    sdo("malware", 2, name="PlugX", is_family=True, description="C2 at 192.0.2.5, seen at 10.3.2.1"),
    indicator(3, "[ipv4-addr:value = '192.0.2.5'] OR [ipv4-addr:value = '10.3.2.1']"),
    sco("ipv4-addr", 4, value="192.0.2.5"),
)


def write(path, obj) -> str:
    path.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    return str(path)


def sanitize_cli(tmp_path, capsys, input_obj=GOOD, profile=PROFILE, extra=(), raw_input: bytes | None = None):
    inp = tmp_path / "input.json"
    if raw_input is not None:
        inp.write_bytes(raw_input)
    else:
        write(inp, input_obj)
    prof = tmp_path / "profile.json"
    if isinstance(profile, bytes):
        prof.write_bytes(profile)
    else:
        write(prof, profile)
    out = tmp_path / "out.json"
    code = main(["sanitize", str(inp), "--profile", str(prof), "-o", str(out), *extra])
    captured = capsys.readouterr()
    return code, out, captured.err


def test_exit_0_writes_a_valid_bundle_with_tlp_marking(tmp_path, capsys, secret_file):
    code, out, err = sanitize_cli(tmp_path, capsys, extra=["--secret-file", str(secret_file), "--tlp", "green"])
    assert code == 0 and err == ""
    doc = json.loads(out.read_text(encoding="utf-8"))
    from stix2validator import ValidationOptions, validate_parsed_json
    assert validate_parsed_json(doc, ValidationOptions(silent=True)).is_valid
    tlp = [o for o in doc["objects"] if o["type"] == "marking-definition"]
    assert tlp and tlp[0]["name"] == "TLP:GREEN"
    assert VICTIM_NAME not in out.read_text(encoding="utf-8") and "10.3.2.1" not in out.read_text(encoding="utf-8")


def test_reports_public_has_no_original_values_private_has_them(tmp_path, capsys, secret_file):
    pub, priv = tmp_path / "public.json", tmp_path / "private.json"
    code, _out, _err = sanitize_cli(tmp_path, capsys, extra=["--secret-file", str(secret_file), "--report", str(pub),
                                                              "--private-report", str(priv)])
    assert code == 0
    public, private = pub.read_text(encoding="utf-8"), priv.read_text(encoding="utf-8")
    assert "10.3.2.1" not in public and VICTIM_NAME not in public
    assert sdo("identity", 1)["id"] not in public  # no original ids either
    assert "10.3.2.1" in private
    rules = json.loads(public)["summary"]["changes_by_rule"]
    assert rules.get("DI-05") and rules.get("DI-01")


def test_determinism_same_secret_same_bytes(tmp_path, capsys, secret_file):
    outputs = []
    for i in range(2):
        d = tmp_path / str(i)
        d.mkdir()
        code, out, _ = sanitize_cli(d, capsys, extra=["--secret-file", str(secret_file)])
        assert code == 0
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_determinism_across_processes(tmp_path, secret_file):
    inp, prof = tmp_path / "in.json", tmp_path / "p.json"
    write(inp, GOOD)
    write(prof, PROFILE)
    runs = [subprocess.run([sys.executable, "-m", "hub", "sanitize", str(inp), "--profile", str(prof),
                            "--secret-file", str(secret_file)], capture_output=True, cwd=ROOT, check=True).stdout
            for _ in range(2)]
    assert runs[0] == runs[1] and runs[0].startswith(b"{")


def test_stdin_and_stdout(tmp_path, secret_file):
    prof = tmp_path / "p.json"
    write(prof, PROFILE)
    proc = subprocess.run([sys.executable, "-m", "hub", "sanitize", "-", "--profile", str(prof),
                           "--secret-file", str(secret_file), "-o", "-"],
                          input=json.dumps(GOOD).encode(), capture_output=True, cwd=ROOT)
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["type"] == "bundle"


BAD_INPUTS = [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (json.dumps([1, 2]).encode(), "not a STIX bundle"),
    (json.dumps({"type": "report", "id": "bundle--00000000-0000-4000-8000-000000000001"}).encode(), "not a STIX bundle"),
    (json.dumps({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000001", "spec_version": "2.0",
                 "objects": []}).encode(), "STIX 2.0"),
    (json.dumps(bundle({"type": "malware", "id": sdo("malware", 1)["id"], "name": "x",
                        "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z"})).encode(),
     "STIX 2.0"),
    (json.dumps(bundle(indicator(5, "[ipv4-addr:value = '192.0.2.1'"))).encode(), "not a valid STIX 2.1 pattern"),
    (json.dumps(bundle({"type": "malware", "spec_version": "2.1", "id": "malware--nope"})).encode(), "malformed 'id'"),
    (json.dumps(bundle(sdo("relationship", 6, source_ref=5, target_ref="x"))).encode(), "must hold object ids"),
]


@pytest.mark.parametrize("raw,message", BAD_INPUTS)
def test_exit_2_bad_input_one_line_nothing_written(tmp_path, capsys, raw, message):
    code, out, err = sanitize_cli(tmp_path, capsys, raw_input=raw)
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


BAD_PROFILES = [
    ({**PROFILE, "organization_names": []}, "organization_names is required"),
    ({k: v for k, v in PROFILE.items() if k != "organization_names"}, "organization_names is required"),
    ({**PROFILE, "ip_ranges": ["10.0.0.0/33"]}, "ip_ranges[0] is not a valid CIDR"),
    ({**PROFILE, "domains": ["not a domain"]}, "domains[0] is not a domain"),
    ({**PROFILE, "people": "山田 太郎"}, "people must be a list"),
    ({**PROFILE, "region": "Japan"}, "region must be an ISO 3166-1"),
    (b"[1]", "profile: must be a JSON object"),
]


@pytest.mark.parametrize("profile,message", BAD_PROFILES)
def test_exit_2_bad_profile_names_the_field_not_the_value(tmp_path, capsys, profile, message):
    code, out, err = sanitize_cli(tmp_path, capsys, profile=profile)
    assert code == 2 and message in err and not out.exists()
    assert "山田" not in err and "10.0.0.0/33" not in err


def test_exit_2_bad_policy_and_missing_files(tmp_path, capsys):
    pol = tmp_path / "policy.json"
    write(pol, {"k": 0})
    code, _out, err = sanitize_cli(tmp_path, capsys, extra=["--policy", str(pol)])
    assert code == 2 and "k must be a positive integer" in err
    write(pol, {"colour": "red"})
    code, _out, err = sanitize_cli(tmp_path, capsys, extra=["--policy", str(pol)])
    assert code == 2 and "unknown setting" in err
    code = main(["sanitize", str(tmp_path / "missing.json"), "--profile", str(tmp_path / "p.json")])
    assert code == 2 and "cannot read" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["sanitize", "x.json", "--profile", "p.json", "--tlp", "red"])
    assert info.value.code == 2


def test_exit_3_refused_by_leak_gate_writes_nothing(tmp_path, capsys, monkeypatch):
    import sanitizer.scrub as scrub
    from sanitizer.rules import di05_addresses
    monkeypatch.setattr(scrub, "TEXT_DETECTORS", tuple(d for d in scrub.TEXT_DETECTORS if d is not di05_addresses))
    report = tmp_path / "report.json"
    code, out, err = sanitize_cli(tmp_path, capsys, extra=["--report", str(report)])
    assert code == 3 and not out.exists()
    assert "DI-05" in err and "10.3.2.1" not in err and "nothing was written" in err
    refused = json.loads(report.read_text())["refused"]
    assert refused and all("10.3.2.1" not in json.dumps(r) for r in refused)


def test_csv_and_text_inputs_go_through_the_same_sanitiser(tmp_path, capsys, secret_file):
    csv_in = tmp_path / "iocs.csv"
    csv_in.write_text("type,value,description\nipv4,192.0.2.8,C2\nipv4,10.1.1.1,internal pivot\n"
                      "domain,portal.acme-seiko.example,victim portal\ndomain,evil.example.net,C2\n", encoding="utf-8")
    prof = tmp_path / "p.json"
    write(prof, PROFILE)
    out = tmp_path / "o.json"
    code = main(["sanitize", str(csv_in), "--profile", str(prof), "-o", str(out), "--secret-file", str(secret_file),
                 "--now", "2025-03-18T09:00:00Z"])
    assert code == 0
    text = out.read_text(encoding="utf-8")
    assert "192.0.2.8" in text and "evil.example.net" in text
    assert "10.1.1.1" not in text and "acme-seiko" not in text

    txt = tmp_path / "report.txt"
    txt.write_text("C2 は hxxp://evil[.]example[.]net/gate を使用。社内の １０．１．１．１ にも横展開。"
                   "SHA256: " + "e" * 64 + "\n", encoding="utf-8")
    out2 = tmp_path / "o2.json"
    code = main(["sanitize", str(txt), "--profile", str(prof), "-o", str(out2), "--secret-file", str(secret_file),
                 "--now", "2025-03-18T09:00:00Z"])
    assert code == 0
    text2 = out2.read_text(encoding="utf-8")
    assert "http://evil.example.net/gate" in text2 and "e" * 64 in text2 and "10.1.1.1" not in text2


def test_no_secret_warns_that_output_is_not_reproducible(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("HUB_SECRET_FILE", raising=False)
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path / "nodata"))
    code, out, err = sanitize_cli(tmp_path, capsys)
    assert code == 0 and "not reproducible" in err and out.exists()
