"""DI-07 v2: internal share hosts and home-path user names in every form are replaced; attacker
hosts with public DNS names in the same forms stay. Checked with a parser written here."""
from __future__ import annotations

import json
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import bundle, indicator, objects_of, run, sco, sdo, text_of

HOST_FORMS = [
    "\\\\{h}\\share\\x", "\\\\{h}", "net view \\\\{h};", "\\\\?\\UNC\\{h}\\backup", "\\\\{h}@SSL\\DavWWWRoot\\a",
    "\\\\{h}@SSL@443\\DavWWWRoot", "//{h}/scan/tmp", "smb://{h}/backup", "file://{h}/pub/x",
    "\\\\{h}\\C$\\Windows",
]
USER_FORMS = [
    "C:\\Users\\{u}\\AppData", "%SystemDrive%\\Users\\{u}\\Downloads", "/mnt/c/Users/{u}/Documents",
    "/c/Users/{u}/.ssh/id_ed25519", "/cygdrive/c/Users/{u}/Desktop", "~{u}/.aws/credentials",
    "C:\\Documents and Settings\\{u}\\Desktop", "\\\\FS9\\C$\\Users\\{u}\\Documents", "/home/{u}/.bashrc",
    "d:/users/{u}/x",
]


def share_hosts_in(text: str) -> set[str]:
    """Independent reader: the host of every UNC / share spelling, lower-cased."""
    t = text.replace("\\\\\\\\", "\\\\").lower()
    hosts = set()
    for m in re.finditer(r"\\\\(?:\?\\unc\\)?([^\\/@\s;,'\"]+)", t):
        hosts.add(m.group(1))
    for m in re.finditer(r"(?:smb|file|cifs)://([^/\s@:]+)|(?<![:/])//([^/\s@:]+)", t):
        hosts.add(m.group(1) or m.group(2))
    return hosts


def users_in(text: str) -> set[str]:
    t = text.replace("\\\\", "\\").lower()
    found = set(re.findall(r"(?:users|documents and settings|home)[\\/]([^\\/\s\"]+)", t))
    found |= set(re.findall(r"(?<![\w/])~([a-z][\w.-]*)/", t))
    return found


def _desc(text: str) -> dict:
    return sdo("malware", 3, name="X", is_family=True, description=text)


@pytest.mark.parametrize("form", HOST_FORMS)
def test_di_07_internal_share_host_replaced_in_every_form(form):
    text = form.format(h="SNG-NAS07")
    out = objects_of(run(bundle(_desc(f"copied from {text} today"))), "malware")[0]["description"]
    assert "sng-nas07" not in out.lower() and "<host>" in out, out


@pytest.mark.parametrize("form", HOST_FORMS)
def test_di_07_attacker_host_with_public_name_kept_in_every_form(form):
    text = form.format(h="docs-preview.test")
    out = objects_of(run(bundle(_desc(f"fetched from {text} today"))), "malware")[0]["description"]
    assert out == f"fetched from {text} today"


@pytest.mark.parametrize("form", USER_FORMS)
def test_di_07_home_user_replaced_in_every_form(form):
    text = form.format(u="k.mibu")
    d = sco("directory", 60, path=text)
    res = run(bundle(d, _desc(f"opened {text}")))
    assert "k.mibu" not in text_of(res)
    assert "<user>" in objects_of(res, "malware")[0]["description"]


def test_di_07_generic_profile_paths_and_variables_stay():
    text = ("%USERPROFILE%\\AppData\\Roaming\\Mozilla and C:\\Users\\Public\\Downloads and "
            "%LOCALAPPDATA%\\Microsoft\\EdgeUpdate and C:\\Windows\\System32 and PROGRA~1\\x")
    out = objects_of(run(bundle(_desc(text))), "malware")[0]["description"]
    assert out == text


def test_di_07_json_escaped_double_backslashes_and_patterns():
    text = "\\\\\\\\SNG-FS02\\\\C$\\\\Users\\\\r.mori\\\\Documents"
    ind = indicator(41, "[directory:path = '\\\\\\\\SNG-WEB3@SSL\\\\DavWWWRoot'] OR [ipv4-addr:value = '192.0.2.1']")
    res = run(bundle(_desc(text), ind))
    out = text_of(res).lower()
    assert "sng-fs02" not in out and "r.mori" not in out and "sng-web3" not in out
    assert "192.0.2.1" in out


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10 ** 6))
def test_di_07_generated_hosts_and_users_never_survive_attacker_hosts_do(seed):
    rnd = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    host = rnd.choice(["", "srv-", "pc"]) + "".join(rnd.choice(letters) for _ in range(5)) + str(rnd.randint(1, 99))
    user = rnd.choice(letters) + "." + "".join(rnd.choice(letters) for _ in range(6))
    public = "".join(rnd.choice(letters) for _ in range(7)) + rnd.choice([".test", ".example", ".net"])
    host_cased = "".join(c.upper() if rnd.random() < 0.5 else c for c in host)
    parts = [rnd.choice(HOST_FORMS).format(h=host_cased), rnd.choice(USER_FORMS).format(u=user),
             rnd.choice(HOST_FORMS).format(h=public)]
    text = " ; ".join(parts)
    out = objects_of(run(bundle(_desc(text))), "malware")[0]["description"]
    assert host not in share_hosts_in(out) and host not in out.lower()
    assert user not in users_in(out) and user not in out.lower()
    assert public in share_hosts_in(out) or public in out.lower()
    json.dumps(out)
