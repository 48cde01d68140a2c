"""Shared fixtures: a small victim profile, a bundle builder, paths to shared test material."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from sanitizer import Policy, VictimProfile, sanitize

ROOT = Path(__file__).resolve().parents[1]
# Test material carried in the repository (a copy of the project's shared corpus and of real STIX
# bundles published by others, with their provenance and licences), so a clone anywhere can run the suite.
SHARED = ROOT / "tests" / "data"
SECRET = b"test-secret-0123456789abcdef"

PROFILE = {
    "organization_names": ["株式会社アクメ精工", "アクメ精工", "アクメセイコウ", "Acme Seiko", "ACMESK"],
    "domains": ["acme-seiko.example"],
    "ip_ranges": ["198.51.100.96/29", "2001:db8:a:1::/64"],
    "hostnames": ["ACM-FS01"],
    "people": ["山田 太郎", "Taro Yamada"],
    "accounts": ["t.yamada"],
    "email_addresses": ["t.yamada@acme-seiko.example", "acme.private@mail.example"],
    "keywords": ["ACME-MES"],
    "sector": "manufacturing",
    "region": "JP",
}


def sid(t: str, n: int) -> str:
    """A deterministic id of type t."""
    return f"{t}--{uuid.UUID(int=n, version=4)}"


def sdo(t: str, n: int, **props) -> dict:
    """A minimal SDO/SRO of type t."""
    return {"type": t, "spec_version": "2.1", "id": sid(t, n), "created": "2025-03-18T09:00:00.000Z",
            "modified": "2025-03-18T09:00:00.000Z", **props}


def sco(t: str, n: int, **props) -> dict:
    """A minimal SCO of type t."""
    return {"type": t, "spec_version": "2.1", "id": sid(t, n), **props}


def indicator(n: int, pattern: str, **props) -> dict:
    """An indicator with a STIX pattern."""
    return sdo("indicator", n, pattern=pattern, pattern_type="stix", valid_from="2025-03-18T00:00:00Z",
               indicator_types=["malicious-activity"], **props)


def bundle(*objects: dict) -> dict:
    """A bundle of the given objects."""
    return {"type": "bundle", "id": sid("bundle", 999), "objects": list(objects)}


def run(b: dict, profile: dict | None = None, policy: Policy | None = None, secret: bytes = SECRET):
    """Sanitise with the test profile; return the Result."""
    return sanitize(b, VictimProfile.from_dict(profile or PROFILE), policy or Policy(), secret=secret)


def text_of(result) -> str:
    """The output as text (for 'does X appear anywhere' assertions)."""
    return result.to_json().decode("utf-8")


def objects_of(result, t: str) -> list[dict]:
    """Output objects of one type."""
    return [o for o in result.bundle["objects"] if o["type"] == t]


@pytest.fixture
def profile_file(tmp_path):
    p = tmp_path / "profile.json"
    p.write_text(json.dumps(PROFILE, ensure_ascii=False), encoding="utf-8")
    return p


@pytest.fixture
def secret_file(tmp_path):
    p = tmp_path / "secret.key"
    p.write_bytes(SECRET)
    return p


# After the whole suite: every object in every TLP collection passes stix2-validator (issue 12).
from tlp_collections_check import pytest_sessionfinish  # noqa: E402,F401  (a hook, found by name)
