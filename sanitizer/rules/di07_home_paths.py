"""DI-07: user names in home paths and host names in UNC paths."""
from __future__ import annotations

import re

from ..matching import ProfileIndex
from ..normalize import Folded
from .base import Finding

RULE_ID = "DI-07"
TITLE = "Home-path user names and UNC host names"
ACTION = r"C:\Users\<user>\ , /home/<user>/ , \\<host>\share"
# Folded (lower-case) text. The name segment stops at the next separator or quote.
HOME = re.compile(r"(?:(?<![a-z0-9])[a-z]:[\\/]+(?:users|documents and settings)[\\/]+"
                  r"|(?<![a-z0-9._-])/(?:home|users|export/home|var/home)/+)"
                  r"(?P<name>[^\\/\s\"'<>|:*?]+)(?=[\\/\s\"'<>|]|$)")
# Windows profile names may hold spaces ("C:\\Users\\John Smith\\"): up to the next separator.
HOME_SPACED = re.compile(r"(?<![a-z0-9])[a-z]:[\\/]+(?:users|documents and settings)[\\/]+"
                         r"(?P<name>[^\\/\"'<>|:*?\r\n]+)(?=[\\/])")
UNC = re.compile(r"(?<![\\a-z0-9])\\\\+(?P<name>[a-z0-9][a-z0-9._$-]*)(?=\\)")
# Shared profiles and placeholders name nobody.
GENERIC_USERS = {"public", "default", "default user", "all users", "<user>", "%username%", "$user",
                 "${user}", "<username>", "username", "user", "[account]", "*", "%"}


def user_names(text: str):
    """Yield (start, end) of every personal user name in a home path of folded text."""
    for rx in (HOME, HOME_SPACED):
        for m in rx.finditer(text):
            name = m.group("name").strip()
            if name and name not in GENERIC_USERS:
                yield m.start("name"), m.end("name")


def detect(folded: Folded, index: ProfileIndex) -> list[Finding]:
    """Home-directory user names and UNC host names in folded text."""
    out = []
    for s, e in user_names(folded.text):
        start, end = folded.orig_span(s, e)
        out.append(Finding(start, end, RULE_ID, "home-user", "<user>"))
    for m in UNC.finditer(folded.text):
        if m.group("name") not in ("<host>", "[host]", "?", "."):
            start, end = folded.orig_span(m.start("name"), m.end("name"))
            out.append(Finding(start, end, RULE_ID, "unc-host", "<host>"))
    return out
