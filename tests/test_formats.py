"""CSV and plain-text IOC lists -> STIX 2.1 bundle (sanitizer.formats). Real libraries, no mocks."""
from __future__ import annotations

import datetime
import json

import pytest
from stix2validator import ValidationOptions, validate_parsed_json

from sanitizer.errors import BadInput
from sanitizer.formats import csv_to_bundle, text_to_bundle

NOW = datetime.datetime(2024, 5, 1, 12, 30, 45, 123456, tzinfo=datetime.timezone.utc)

SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA512 = (
    "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
    "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
)
SSDEEP = "3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C"


def assert_valid(bundle: dict) -> None:
    result = validate_parsed_json(bundle, ValidationOptions(silent=True))
    assert result.is_valid, [str(e) for e in result.errors]


def patterns(bundle: dict) -> set[str]:
    return {o["pattern"] for o in bundle["objects"] if o["type"] == "indicator"}


def summary(bundle: dict) -> set[tuple[str, str]]:
    """(type, name) of every object: what an analyst would see in a list."""
    return {(o["type"], o["name"]) for o in bundle["objects"]}


def only(bundle: dict) -> dict:
    assert len(bundle["objects"]) == 1, bundle["objects"]
    return bundle["objects"][0]


# --- CSV: one row of each type ---------------------------------------------------------

@pytest.mark.parametrize(
    "row, pattern",
    [
        ("ipv4,192.0.2.1", "[ipv4-addr:value = '192.0.2.1']"),
        ("ipv4,192.0.2.0/24", "[ipv4-addr:value = '192.0.2.0/24']"),
        ("ipv6,2001:DB8:0:0::1", "[ipv6-addr:value = '2001:db8::1']"),
        ("domain,Evil.Example.NET.", "[domain-name:value = 'evil.example.net']"),
        ("url,https://evil.example.net/gate.php?id=1",
         "[url:value = 'https://evil.example.net/gate.php?id=1']"),
        ("email,Bad.Actor@Example.org", "[email-addr:value = 'Bad.Actor@example.org']"),
        (f"md5,{MD5.upper()}", f"[file:hashes.'MD5' = '{MD5}']"),
        (f"sha1,{SHA1}", f"[file:hashes.'SHA-1' = '{SHA1}']"),
        (f"sha256,{SHA256}", f"[file:hashes.'SHA-256' = '{SHA256}']"),
        (f"sha512,{SHA512}", f"[file:hashes.'SHA-512' = '{SHA512}']"),
        (f"ssdeep,{SSDEEP}", f"[file:hashes.'SSDEEP' = '{SSDEEP}']"),
        ("filename,invoice.pdf.exe", "[file:name = 'invoice.pdf.exe']"),
        ("mutex,Global\\{abc}'x", "[mutex:name = 'Global\\\\{abc}\\'x']"),
        ("registry-key,HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\evil",
         "[windows-registry-key:key = "
         "'HKEY_LOCAL_MACHINE\\\\Software\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Run\\\\evil']"),
        ('user-agent,"Mozilla/5.0 (Windows NT 10.0; Win64; x64)"',
         "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = "
         "'Mozilla/5.0 (Windows NT 10.0; Win64; x64)']"),
        ("asn,AS64500", "[autonomous-system:number = 64500]"),
    ],
)
def test_csv_indicator_types(row, pattern):
    bundle = csv_to_bundle(row + "\n", now=NOW)
    obj = only(bundle)
    assert obj["type"] == "indicator"
    assert obj["pattern"] == pattern
    assert obj["pattern_type"] == "stix"
    assert obj["indicator_types"] == ["malicious-activity"]
    assert obj["spec_version"] == "2.1"
    assert obj["created"] == obj["modified"] == "2024-05-01T12:30:45.000Z"
    assert obj["valid_from"] == "2024-05-01T12:30:45Z"
    assert "description" not in obj
    assert_valid(bundle)


def test_csv_indicator_name_and_asn_name():
    bundle = csv_to_bundle("ip,192.0.2.1\nasn,64500\n", now=NOW)
    assert summary(bundle) == {
        ("indicator", "ipv4-addr 192.0.2.1"),
        ("indicator", "autonomous-system AS64500"),
    }


def test_csv_cve_becomes_vulnerability():
    obj = only(csv_to_bundle("cve,cve-2021-44228\n", now=NOW))
    assert obj["type"] == "vulnerability"
    assert obj["name"] == "CVE-2021-44228"
    assert obj["external_references"] == [{"source_name": "cve", "external_id": "CVE-2021-44228"}]


@pytest.mark.parametrize(
    "value, url",
    [
        ("T1566.001", "https://attack.mitre.org/techniques/T1566/001/"),
        ("t1059", "https://attack.mitre.org/techniques/T1059/"),
    ],
)
def test_csv_technique_becomes_attack_pattern(value, url):
    obj = only(csv_to_bundle(f"attack-technique,{value}\n", now=NOW))
    tid = value.upper()
    assert obj["type"] == "attack-pattern"
    assert obj["name"] == tid
    assert obj["external_references"] == [
        {"source_name": "mitre-attack", "external_id": tid, "url": url}
    ]


# --- CSV: layout -----------------------------------------------------------------------

def test_csv_header_comments_blank_lines_and_quoted_description():
    text = (
        "\ufeffType,VALUE,Description\r\n"
        "# exported from the case tracker, \"draft\r\n"
        "\r\n"
        "ip,192.0.2.1,\"C2, primary\"\r\n"
        "   # indented comment\r\n"
        "domain,evil.example.net,\"first line\r\n"
        "# not a comment: inside quotes\r\n"
        "\r\n"
        "last line\"\r\n"
        "sha256," + SHA256 + ",,\r\n"
    )
    bundle = csv_to_bundle(text, now=NOW)
    descriptions = {o["name"]: o.get("description") for o in bundle["objects"]}
    assert descriptions == {
        "ipv4-addr 192.0.2.1": "C2, primary",
        "domain-name evil.example.net": "first line\r\n# not a comment: inside quotes\r\n\r\nlast line",
        f"file SHA-256 {SHA256}": None,
    }
    assert_valid(bundle)


def test_csv_header_only_on_first_record():
    # A later "type,value" row is data, and "type" is not a known type.
    with pytest.raises(BadInput, match=r"^CSV row 2: unknown type in column 1"):
        csv_to_bundle("ip,192.0.2.1\ntype,value\n", now=NOW)


@pytest.mark.parametrize(
    "alias, kind_pattern",
    [
        ("ip", "ipv4-addr"), ("IPv4", "ipv4-addr"), ("ipv4-addr", "ipv4-addr"),
        ("ipv6", "ipv6-addr"), ("IPV6-ADDR", "ipv6-addr"),
        ("domain", "domain-name"), ("domain-name", "domain-name"), ("Hostname", "domain-name"),
        ("fqdn", "domain-name"),
        ("url", "url"), ("URI", "url"),
        ("email", "email-addr"), ("email-addr", "email-addr"), ("email_addr", "email-addr"),
        ("md5", "file:hashes.'MD5'"), ("sha1", "file:hashes.'SHA-1'"),
        ("SHA-1", "file:hashes.'SHA-1'"), ("sha256", "file:hashes.'SHA-256'"),
        ("sha-256", "file:hashes.'SHA-256'"), ("sha512", "file:hashes.'SHA-512'"),
        ("ssdeep", "file:hashes.'SSDEEP'"),
        ("file", "file:name"), ("filename", "file:name"),
        ("mutex", "mutex:name"),
        ("registry", "windows-registry-key"), ("Registry-Key", "windows-registry-key"),
        ("user-agent", "User-Agent"), ("User_Agent", "User-Agent"),
        ("asn", "autonomous-system"),
        ("ｉｐｖ４", "ipv4-addr"),  # full-width type cell
    ],
)
def test_csv_type_aliases(alias, kind_pattern):
    values = {
        "ipv4-addr": "192.0.2.1", "ipv6-addr": "2001:db8::1", "domain-name": "evil.example.net",
        "url": "http://evil.example.net/a", "email-addr": "a@example.org",
        "file:hashes.'MD5'": MD5, "file:hashes.'SHA-1'": SHA1, "file:hashes.'SHA-256'": SHA256,
        "file:hashes.'SHA-512'": SHA512, "file:hashes.'SSDEEP'": SSDEEP,
        "file:name": "a.exe", "mutex:name": "m", "windows-registry-key": "HKCU\\Software\\x",
        "User-Agent": "Mozilla/5.0 (X11)", "autonomous-system": "AS64500",
    }
    obj = only(csv_to_bundle(f"{alias},{values[kind_pattern]}\n", now=NOW))
    assert kind_pattern in obj["pattern"]


@pytest.mark.parametrize("alias", ["cve", "CVE", "vulnerability"])
def test_csv_cve_aliases(alias):
    assert only(csv_to_bundle(f"{alias},CVE-2024-3094\n", now=NOW))["type"] == "vulnerability"


@pytest.mark.parametrize("alias", ["attack", "technique", "attack-technique", "TTP"])
def test_csv_technique_aliases(alias):
    assert only(csv_to_bundle(f"{alias},T1059.003\n", now=NOW))["type"] == "attack-pattern"


@pytest.mark.parametrize(
    "row, pattern",
    [
        ("ip,１９２．０．２．１", "[ipv4-addr:value = '192.0.2.1']"),
        ("ip,192[.]0[.]2[.]1", "[ipv4-addr:value = '192.0.2.1']"),
        ("ip,192.0.2(.)1", "[ipv4-addr:value = '192.0.2.1']"),
        ("domain,evil[.]example[.]net", "[domain-name:value = 'evil.example.net']"),
        ("domain,ｅｖｉｌ．ｅｘａｍｐｌｅ．ｎｅｔ", "[domain-name:value = 'evil.example.net']"),
        ("url,hxxp://evil[.]example[.]net/a", "[url:value = 'http://evil.example.net/a']"),
        ("url,hxxps[:]//evil[.]example[.]net/a", "[url:value = 'https://evil.example.net/a']"),
        ("email,bad[@]example[.]org", "[email-addr:value = 'bad@example.org']"),
        ("email,bad[at]example[.]org", "[email-addr:value = 'bad@example.org']"),
        (f"md5,  {MD5}  ", f"[file:hashes.'MD5' = '{MD5}']"),
        ("asn,ＡＳ６４５００", "[autonomous-system:number = 64500]"),
    ],
)
def test_csv_full_width_and_defanged_values(row, pattern):
    assert patterns(csv_to_bundle(row, now=NOW)) == {pattern}


def test_csv_full_width_cve_and_technique():
    bundle = csv_to_bundle("cve,ＣＶＥ－２０２１－４４２２８\ntechnique,Ｔ１０５９\n", now=NOW)
    assert summary(bundle) == {("vulnerability", "CVE-2021-44228"), ("attack-pattern", "T1059")}


def test_csv_exact_match_strings_are_not_rewritten():
    # No NFKC and no refanging for file names / mutexes: half-width katakana and
    # bracketed dots are part of the real indicator.
    bundle = csv_to_bundle("filename,ｾｯﾄｱｯﾌﾟ[.]exe\nmutex,Local\\x(.)y\n", now=NOW)
    assert patterns(bundle) == {
        "[file:name = 'ｾｯﾄｱｯﾌﾟ[.]exe']",
        "[mutex:name = 'Local\\\\x(.)y']",
    }
    assert_valid(bundle)


def test_csv_duplicates_are_merged_keeping_first_description():
    bundle = csv_to_bundle(
        "ip,192.0.2.1\nip,192[.]0[.]2[.]1,seen in phishing\nipv4-addr,１９２．０．２．１,later\n",
        now=NOW,
    )
    assert only(bundle)["description"] == "seen in phishing"


# --- CSV: errors (row and column named, value never echoed) ---------------------------

SECRET = "203.0.113.77"  # stands in for a victim value


@pytest.mark.parametrize(
    "text, message",
    [
        (f"ip,192.0.2.1\nip,{SECRET}x\n", "CSV row 2: invalid ipv4 value in column 2"),
        (f"type,value\n# c\n\nipv6,{SECRET}\n", "CSV row 4: invalid ipv6 value in column 2"),
        (f"domain,ws-{SECRET}\n", "CSV row 1: invalid domain value in column 2"),
        (f"url,not a url {SECRET}\n", "CSV row 1: invalid url value in column 2"),
        (f"email,{SECRET}\n", "CSV row 1: invalid email value in column 2"),
        (f"md5,{SECRET}\n", "CSV row 1: invalid md5 value in column 2"),
        (f"sha256,{MD5}{SECRET}\n", "CSV row 1: invalid sha256 value in column 2"),
        (f"ssdeep,{SECRET}\n", "CSV row 1: invalid ssdeep value in column 2"),
        (f"cve,CVE-21-{SECRET}\n", "CSV row 1: invalid cve value in column 2"),
        (f"technique,T{SECRET}\n", "CSV row 1: invalid attack-technique value in column 2"),
        (f"filename,C:\\Users\\{SECRET}\\a.exe\n", "CSV row 1: invalid filename value in column 2"),
        (f"registry-key,Software\\{SECRET}\n", "CSV row 1: invalid registry-key value in column 2"),
        (f"asn,AS{SECRET}\n", "CSV row 1: invalid asn value in column 2"),
        (f"mutex,{SECRET}\x00\n", "CSV row 1: invalid mutex value in column 2"),
        ("ip,\n", "CSV row 1: invalid ipv4 value in column 2"),
        (f"{SECRET},ipv4\n", "CSV row 1: unknown type in column 1 (expected one of: ipv4, ipv6, "),
        (f",{SECRET}\n", "CSV row 1: empty type in column 1"),
        (f"{SECRET}\n", "CSV row 1: expected at least 2 columns"),
        (f"ip,{SECRET},a,b\n", "CSV row 1: expected at most 3 columns"),
        (f'ip,192.0.2.1\nip,"{SECRET}\n\n', "CSV row 2: unterminated quoted field"),
    ],
)
def test_csv_bad_rows(text, message):
    with pytest.raises(BadInput) as info:
        csv_to_bundle(text, now=NOW)
    msg = str(info.value)
    assert msg.startswith(message)
    assert "\n" not in msg
    assert SECRET not in msg and "113.77" not in msg


def test_csv_unknown_type_lists_every_type():
    with pytest.raises(BadInput) as info:
        csv_to_bundle("foo,bar\n", now=NOW)
    assert str(info.value) == (
        "CSV row 1: unknown type in column 1 (expected one of: ipv4, ipv6, domain, url, email, "
        "md5, sha1, sha256, sha512, ssdeep, cve, attack-technique, filename, mutex, registry-key, "
        "user-agent, asn)"
    )
    assert "foo" not in str(info.value) and "bar" not in str(info.value)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "CSV: empty input"),
        (" \r\n\t\n", "CSV: empty input"),
        ("\ufeff", "CSV: empty input"),
        ("type,value,description\n", "CSV: no IOC rows"),
        ("# only a comment\n\n", "CSV: no IOC rows"),
    ],
)
def test_csv_empty(text, message):
    with pytest.raises(BadInput, match=f"^{message}$"):
        csv_to_bundle(text, now=NOW)


# --- plain text ------------------------------------------------------------------------

JAPANESE_REPORT = f"""\
【インシデント概要】
攻撃者は C2 として hxxp://evil[.]example[.]net/a を使用し、（c2.example.org）にも接続した。
送信元アドレスは attacker[@]example[.]com、１９２．０．２．１０へ通信、198.51.100[.]7 も確認。
IPv6 では 2001:db8::5 へ通信。時刻は 12:34:56、バージョン番号は v2。
添付ファイル invoice.pdf.exe と setup.exe を実行させる。
ハッシュ：{MD5}、{SHA1}、
{SHA256}。
CVE-2021-44228 を悪用し、T1566.001 と T1059 を使用（参考 https://attack.mitre.org/techniques/T1105/）。
永続化：HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\updater に登録。
UA は Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 を使用。
"""

JAPANESE_EXPECTED = {
    ("indicator", "url http://evil.example.net/a"),
    # Reference links are URLs too: the extractor cannot tell them from C2 (review can).
    ("indicator", "url https://attack.mitre.org/techniques/T1105/"),
    ("indicator", "domain-name c2.example.org"),
    ("indicator", "email-addr attacker@example.com"),
    ("indicator", "ipv4-addr 192.0.2.10"),
    ("indicator", "ipv4-addr 198.51.100.7"),
    ("indicator", "ipv6-addr 2001:db8::5"),
    ("indicator", f"file MD5 {MD5}"),
    ("indicator", f"file SHA-1 {SHA1}"),
    ("indicator", f"file SHA-256 {SHA256}"),
    ("indicator", "windows-registry-key "
                  "HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\updater"),
    ("indicator", "user-agent Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                  "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"),
    ("vulnerability", "CVE-2021-44228"),
    ("attack-pattern", "T1566.001"),
    ("attack-pattern", "T1059"),
}


def test_text_japanese_report():
    bundle = text_to_bundle(JAPANESE_REPORT, now=NOW)
    # Exact: nothing spurious - no domain for a URL host, an e-mail domain or setup.exe,
    # no T1105 from a URL path, no IPv4 from "Chrome/120.0.0.0", no IPv6 from a time.
    assert summary(bundle) == JAPANESE_EXPECTED
    assert_valid(bundle)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("C2は hxxp://evil[.]example[.]net/a を使用", {"[url:value = 'http://evil.example.net/a']"}),
        ("C2はhxxp://evil[.]example[.]net/aを使用", {"[url:value = 'http://evil.example.net/a']"}),
        ("１９２．０．２．１０へ通信", {"[ipv4-addr:value = '192.0.2.10']"}),
        ("接続先:evil.example.net/gate.phpへ", {"[url:value = 'evil.example.net/gate.php']"}),
        # ioc_fanger alone would turn these into "(evil.example.n@" and "@tacker@...".
        ("接続先（evil.example.net）", {"[domain-name:value = 'evil.example.net']"}),
        ("sender (attacker@example.com) and [c2.example.at]",
         {"[email-addr:value = 'attacker@example.com']", "[domain-name:value = 'c2.example.at']"}),
        ("user(at)example[.]com", {"[email-addr:value = 'user@example.com']"}),
        ("Mozilla/5.0 (Linux; Android 10; Tablet)を使用",
         {"[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = "
          "'Mozilla/5.0 (Linux; Android 10; Tablet)']"}),
        ("ASN: AS64500 経由", {"[autonomous-system:number = 64500]"}),
        (f"ssdeep {SSDEEP}", {f"[file:hashes.'SSDEEP' = '{SSDEEP}']"}),
        (f"SHA512 {SHA512}", {f"[file:hashes.'SHA-512' = '{SHA512}']"}),
        # A host that also appears on its own is a domain indicator as well.
        ("http://evil.example.net/x と evil.example.net",
         {"[url:value = 'http://evil.example.net/x']", "[domain-name:value = 'evil.example.net']"}),
    ],
)
def test_text_snippets(text, expected):
    assert patterns(text_to_bundle(text, now=NOW)) == expected


def test_text_techniques_unknown_to_ioc_finder_and_word_boundaries():
    bundle = text_to_bundle("T9999 と T1059.003を使用、XT1234 や T12345 は無視", now=NOW)
    assert summary(bundle) == {("attack-pattern", "T9999"), ("attack-pattern", "T1059.003")}


def test_text_file_names_are_not_domains():
    with pytest.raises(BadInput, match="^text: no indicators of compromise found$"):
        text_to_bundle("添付 invoice.pdf.exe、setup.exe、run.bat、payload.dll を確認", now=NOW)


@pytest.mark.parametrize("text", ["", "   \n\u3000\n"])
def test_text_empty(text):
    with pytest.raises(BadInput, match="^text: empty input$"):
        text_to_bundle(text, now=NOW)


def test_text_without_iocs():
    with pytest.raises(BadInput, match="^text: no indicators of compromise found$"):
        text_to_bundle("本日は特に異常なし。次回は 12:00 に確認します。", now=NOW)


# --- determinism, timestamps, validator ------------------------------------------------

CSV_SAMPLE = (
    "type,value,description\n"
    "ip,192.0.2.1,C2\n"
    "domain,evil[.]example[.]net\n"
    f"sha256,{SHA256}\n"
    "cve,CVE-2021-44228\n"
    "ttp,T1566.001\n"
    "user-agent,\"Mozilla/5.0 (X11; it's \\ odd)\"\n"
)


@pytest.mark.parametrize(
    "convert, text", [(csv_to_bundle, CSV_SAMPLE), (text_to_bundle, JAPANESE_REPORT)]
)
def test_deterministic_and_valid(convert, text):
    first = json.dumps(convert(text, now=NOW), sort_keys=True)
    second = json.dumps(convert(text, now=NOW), sort_keys=True)
    assert first == second
    bundle = json.loads(first)
    assert bundle["type"] == "bundle" and bundle["id"].startswith("bundle--")
    assert all(o["spec_version"] == "2.1" for o in bundle["objects"])
    assert_valid(bundle)
    later = convert(text, now=NOW + datetime.timedelta(days=1))
    assert later["id"] != bundle["id"]
    # Object ids depend on the content only, not on the time.
    assert [o["id"] for o in later["objects"]] == [o["id"] for o in bundle["objects"]]


def test_csv_row_order_does_not_matter():
    rows = CSV_SAMPLE.splitlines()[1:]
    shuffled = "\n".join(reversed(rows)) + "\n"
    assert json.dumps(csv_to_bundle(shuffled, now=NOW), sort_keys=True) == json.dumps(
        csv_to_bundle(CSV_SAMPLE, now=NOW), sort_keys=True
    )


def test_csv_sample_patterns_escaped():
    assert "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = " \
           "'Mozilla/5.0 (X11; it\\'s \\\\ odd)']" in patterns(csv_to_bundle(CSV_SAMPLE, now=NOW))


def test_now_in_another_timezone_is_converted_to_utc():
    jst = datetime.timezone(datetime.timedelta(hours=9))
    obj = only(csv_to_bundle("ip,192.0.2.1\n", now=datetime.datetime(2024, 5, 2, 1, 2, 3, tzinfo=jst)))
    assert obj["created"] == "2024-05-01T16:02:03.000Z"
    assert obj["valid_from"] == "2024-05-01T16:02:03Z"


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        csv_to_bundle("ip,192.0.2.1\n", now=datetime.datetime(2024, 5, 1))
