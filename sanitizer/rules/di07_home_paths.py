"""DI-07: user names in home paths and host names in UNC paths, in every form (v2).

Home paths: `C:\\Users\\NAME`, `C:\\Documents and Settings\\NAME`, through variables
(`%SystemDrive%\\Users\\NAME`, `%HOMEDRIVE%\\Users\\NAME`), admin shares (`\\\\HOST\\C$\\Users\\NAME`),
WSL / Git Bash / Cygwin mounts (`/mnt/c/Users/NAME`, `/c/Users/NAME`, `/cygdrive/c/Users/NAME`),
Unix homes (`/home/NAME`, `/Users/NAME`, `/export/home/NAME`) and `~NAME`. `%USERPROFILE%` names
nobody and stays.

UNC and share hosts: `\\\\HOST\\share`, `\\\\HOST` alone, `\\\\?\\UNC\\HOST\\`, `\\\\HOST@SSL\\DavWWWRoot`,
`\\\\HOST@SSL@443\\`, `//HOST/share`, `smb://HOST/`, `file://HOST/` (also with JSON-escaped double
backslashes). The host is internal — replaced by `<host>` — when it is not a public DNS name (no
dot, or an internal suffix such as `.local`, `.corp`, `.lan`). A public DNS name is the attacker's
WebDAV/SMB server (`\\\\docs-preview.test@SSL\\DavWWWRoot`) and stays; a victim domain there is
DI-04's, an address DI-05's.
"""
from __future__ import annotations

import re

from ..matching import ProfileIndex
from ..normalize import Folded
from .base import Finding

RULE_ID = "DI-07"
TITLE = "Home-path user names and UNC / share host names (every form)"
ACTION = r"C:\Users\<user>\ , /home/<user>/ , \\<host>\share"
_SEP = r"[\\/]+"
_DRIVE = (r"(?:(?<![a-z0-9])[a-z]:|%systemdrive%|%homedrive%|\$env:systemdrive|(?<![a-z0-9])[a-z]\$"
          r"|(?<![a-z0-9])/mnt/[a-z]|(?<![a-z0-9/])/cygdrive/[a-z]|(?<![a-z0-9./_~-])/[a-z](?=/users/))")
# Folded (lower-case) text. The name segment stops at the next separator or quote.
HOME = re.compile(r"(?:" + _DRIVE + _SEP + r"(?:users|documents and settings)" + _SEP +
                  r"|(?<![a-z0-9._-])/(?:home|users|export/home|var/home)/+)"
                  r"(?P<name>[^\\/\s\"'<>|:*?]+)(?=[\\/\s\"'<>|]|$)")
# Windows profile names may hold spaces ("C:\\Users\\John Smith\\"): up to the next separator.
HOME_SPACED = re.compile(_DRIVE + _SEP + r"(?:users|documents and settings)" + _SEP +
                         r"(?P<name>[^\\/\"'<>|:*?\r\n]+)(?=[\\/])")
TILDE = re.compile(r"(?<![\w~/\\])~(?P<name>[a-z][a-z0-9._-]*)(?=[\\/])")
UNC = re.compile(r"(?:^|(?<=[\s\"'(\[=,;>|\u0080-\uffff]))\\\\+(?:\?\\+unc\\+|\.\\+unc\\+)?(?P<name>[a-z0-9][a-z0-9._$-]*)"
                 r"(?=[\\@\s\"'<>|;,)\]]|$)")
SLASH_SHARE = re.compile(r"(?:(?<![a-z0-9:/])//|\b(?:smb|cifs|file|nfs|afp)://)(?P<name>[a-z0-9][a-z0-9._-]*)"
                         r"(?=[/@:\s\"'<>|;,)\]]|$)")
# Shared profiles and placeholders name nobody.
GENERIC_USERS = {"public", "default", "default user", "all users", "<user>", "%username%", "$user",
                 "${user}", "<username>", "username", "user", "[account]", "*", "%", "$env:username",
                 "%user%", "$(whoami)", "[user]"}
_INTERNAL_SUFFIX = re.compile(r"\.(?:local|localdomain|lan|corp|home|internal|intranet|intra|private|ad|"
                              r"domain|localhost|home\.arpa)$")
_IPV4ISH = re.compile(r"^[0-9.]+$|^[0-9a-f:]+$")
_PLACEHOLDER_HOSTS = {"<host>", "[host]", "?", ".", "localhost", "unc"}


def user_names(text: str):
    """Yield (start, end) of every personal user name in a home path of folded text."""
    rxs = (HOME, HOME_SPACED) if ("users" in text or "home" in text or "documents and" in text) else ()
    if "~" in text:
        rxs += (TILDE,)
    for rx in rxs:
        for m in rx.finditer(text):
            name = m.group("name").strip()
            if name and name not in GENERIC_USERS and not name.startswith(("%", "$", "<", "[")):
                yield m.start("name"), m.end("name")


def internal_host(host: str) -> bool:
    """A share host that names a site inside the victim: no public DNS name (and no address)."""
    host = host.rstrip(".")
    if host in _PLACEHOLDER_HOSTS or _IPV4ISH.match(host):
        return False
    if "." not in host:
        return True
    last = host.rsplit(".", 1)[1]
    return bool(_INTERNAL_SUFFIX.search(host)) or not last.isalpha() or len(last) < 2


def share_hosts(text: str):
    """Yield (start, end) of every internal host written in a UNC or share path of folded text."""
    if "\\" in text:
        for m in UNC.finditer(text):
            if internal_host(m.group("name")):
                yield m.start("name"), m.end("name")
    if "//" in text:
        for m in SLASH_SHARE.finditer(text):
            if internal_host(m.group("name")):
                yield m.start("name"), m.end("name")


def detect(folded: Folded, index: ProfileIndex) -> list[Finding]:
    """Home-directory user names and internal UNC / share host names in folded text."""
    out = []
    for s, e in user_names(folded.text):
        start, end = folded.orig_span(s, e)
        out.append(Finding(start, end, RULE_ID, "home-user", "<user>"))
    for s, e in share_hosts(folded.text):
        start, end = folded.orig_span(s, e)
        out.append(Finding(start, end, RULE_ID, "unc-host", "<host>"))
    return out
