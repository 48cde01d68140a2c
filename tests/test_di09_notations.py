"""DI-09 v2: date-times precise to the second in every notation; structured timestamps stay valid
STIX timestamps (extension properties included); digit-only attacker artefacts are not times."""
from __future__ import annotations

import logging
import random
import re
from datetime import datetime, timedelta, timezone

import pytest
from stix2validator import ValidationOptions, validate_parsed_json

from conftest import bundle, indicator, objects_of, run, sco, sdo, text_of

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


def _era(dt: datetime) -> tuple[str, str, int]:
    if dt >= datetime(2019, 5, 1, tzinfo=timezone.utc):
        return "令和", "R", dt.year - 2018
    return "平成", "H", dt.year - 1988


def notations(dt: datetime) -> list[str]:
    """The same instant (UTC) written the ways logs, mail, prose and Japanese documents write it."""
    mon, month = MONTHS[dt.month - 1][:3], MONTHS[dt.month - 1]
    era, short, ey = _era(dt)
    h12 = dt.hour % 12 or 12
    ampm = "午後" if dt.hour >= 12 else "午前"
    return [
        dt.strftime("%Y-%m-%dT%H:%M:%SZ"), dt.strftime("%Y-%m-%d %H:%M:%S"), dt.strftime("%Y/%m/%d %H:%M:%S UTC"),
        f"[{dt.day:02d}/{mon}/{dt.year}:{dt:%H:%M:%S} +0000]",                         # Apache / nginx
        f"{mon} {dt.day:>2} {dt:%H:%M:%S} host sshd[42]: Accepted",                    # syslog
        f"{dt.day:02d}-{mon}-{dt.year} {dt:%H:%M:%S} UTC",                             # PHP error log
        f"{dt:%a}, {dt.day} {mon} {dt.year} {dt:%H:%M:%S} +0000",                      # RFC 2822
        f"on {dt.day} {month} {dt.year} at {dt:%H:%M:%S}",                             # English prose
        f"{month} {dt.day}, {dt.year} {dt:%H:%M:%S}",
        f"{dt.year}年{dt.month}月{dt.day}日 {dt.hour}時{dt.minute:02d}分{dt.second:02d}秒",
        f"{dt.month}月{dt.day}日 {ampm}{h12}時{dt.minute:02d}分{dt.second:02d}秒",
        f"{era}{ey}年{dt.month}月{dt.day}日 {dt:%H:%M:%S}", f"{short}{ey}.{dt.month}.{dt.day} {dt:%H:%M:%S}",
        dt.strftime("%Y:%m:%d %H:%M:%S"),                                              # EXIF
        dt.strftime("%Y%m%dT%H%M%SZ"),                                                 # compact ISO
        f"{dt:%Y-%m-%d} に侵入。同日 {dt:%H:%M:%S} に外部送信",                           # a time next to a date
        f"first seen {dt:%Y-%m-%d}; the same day at {dt:%H:%M:%S} it beaconed",
        f"https://c2.example/a.js?ts={int(dt.timestamp())}",                           # epoch in a URL
        f"request id {int(dt.timestamp() * 1_000_000) + 123}",                         # epoch µs in an id
        f"https://team.slack.example/archives/C01/p{int(dt.timestamp())}123456",        # Slack permalink
    ]


def leaked_times(text: str, dt: datetime) -> list[str]:
    """Independent check: every way the time of day (or the epoch) of dt could still be written."""
    h12 = dt.hour % 12 or 12
    needles = [f"{dt:%H:%M:%S}", f"{dt.hour}:{dt:%M:%S}", f"{dt.hour}時{dt.minute:02d}分{dt.second:02d}秒",
               f"{h12}時{dt.minute:02d}分{dt.second:02d}秒", f"{dt:%H%M%S}z", str(int(dt.timestamp()))]
    low = text.lower()
    return [n for n in needles if n.lower() in low]


def _sanitised_description(text: str) -> str:
    res = run(bundle(sdo("malware", 1, name="ZEPHYRMOTH", is_family=True, description=text)))
    return objects_of(res, "malware")[0].get("description", "")


@pytest.mark.parametrize("i", range(len(notations(datetime(2024, 11, 2, 9, 5, 10, tzinfo=timezone.utc)))))
@pytest.mark.parametrize("dt", [datetime(2024, 11, 2, 9, 5, 10, tzinfo=timezone.utc),
                                datetime(2025, 2, 22, 22, 7, 51, tzinfo=timezone.utc),
                                datetime(2018, 7, 14, 18, 4, 55, tzinfo=timezone.utc)])
def test_di09_every_notation_loses_its_time_of_day(dt, i):
    written = notations(dt)[i]
    out = _sanitised_description(f"観測: {written} (攻撃者の通信)")
    assert not leaked_times(out, dt), (i, out)


def test_di09_generated_datetimes_in_every_notation_seeded():
    rnd = random.Random(20241102)
    start = datetime(2001, 1, 1, tzinfo=timezone.utc)
    for _ in range(25):
        dt = start + timedelta(seconds=rnd.randrange(0, 38 * 365 * 86400))
        if dt.hour == dt.minute == dt.second == 0:
            continue
        text = "\n".join(f"{n} ログ" for n in notations(dt))
        out = _sanitised_description(text)
        assert not leaked_times(out, dt), (dt, out)


def test_di09_prose_keeps_the_day():
    out = _sanitised_description("The implant was installed on 2 November 2024 at 09:05:10 JST.")
    assert "2024-11-02" in out and "09:05:10" not in out
    out = _sanitised_description("令和6年11月2日 午後3時05分10秒 に設置")
    assert "2024-11-02" in out and "3時05分10秒" not in out
    out = _sanitised_description("R6.11.2 15:05:10 キャッシュ削除")
    assert "2024-11-02" in out


@pytest.mark.parametrize("artefact", ["Local\\20231105120000", "Global\\20240702153018", "Local\\1719934218",
                                      "Global\\{20240101-1200}-1700000000"])
def test_di09_p2_digit_only_mutexes_are_not_timestamps(artefact):
    res = run(bundle(sco("mutex", 1, name=artefact),
                     indicator(2, "[mutex:name = '" + artefact.replace("\\", "\\\\") + "']")))
    assert objects_of(res, "mutex")[0]["name"] == artefact
    assert artefact.replace("\\", "\\\\") in objects_of(res, "indicator")[0]["pattern"]


def test_di09_fiscal_year_and_version_are_not_timestamps():
    for text in ("令和7年度_予算要求資料.docx", "jquery@3.7.1/dist/jquery.min.js", "build 20240101"):
        assert _sanitised_description(text) == text


def _validator_errors(res) -> list[str]:
    logging.getLogger("stix2validator").setLevel(logging.CRITICAL)
    r = validate_parsed_json(res.bundle, ValidationOptions(version="2.1", strict=False))
    return [str(e) for e in getattr(r, "errors", [])] or ([] if r.is_valid else ["invalid"])


def test_di09_extension_and_language_content_timestamps_stay_stix_timestamps():
    pe = sco("file", 1, name="winupd.exe", hashes={"SHA-256": "7" * 64},
             extensions={"windows-pebinary-ext": {"pe_type": "exe", "time_date_stamp": "2025-02-19T08:41:27Z"}})
    rep = sdo("report", 2, name="r", report_types=["threat-report"], published="2025-02-26T04:31:27Z",
              object_refs=[pe["id"]], created="2025-02-26T04:31:27.614Z", modified="2025-02-26T04:31:27.614Z")
    lc = sdo("language-content", 3, object_ref=rep["id"], object_modified="2025-02-26T04:31:27.614Z",
             contents={"en": {"name": "skimmer 2025-02-22 13:07:51"}})
    res = run(bundle(pe, rep, lc))
    (f,) = objects_of(res, "file")
    assert f["extensions"]["windows-pebinary-ext"]["time_date_stamp"] == "2025-02-19T00:00:00Z"
    (out_lc,) = objects_of(res, "language-content")
    (out_rep,) = objects_of(res, "report")
    assert out_lc["object_modified"] == out_rep["modified"] == "2025-02-26T00:00:00.000Z"
    assert "13:07:51" not in text_of(res)
    assert not _validator_errors(res)


def test_di09_url_epoch_parameter_removed_host_and_path_kept():
    url = sco("url", 1, value="https://jsdeliver-cdn.example/npm/jquery@3.7.1/dist/jquery.min.js?v=1740229931")
    res = run(bundle(url))
    (u,) = objects_of(res, "url")
    assert u["value"] == "https://jsdeliver-cdn.example/npm/jquery@3.7.1/dist/jquery.min.js"


def test_di09_gate_names_still_work_for_every_notation():
    from sanitizer.normalize import fold_str
    from sanitizer.rules import di09_timestamps as d

    dt = datetime(2024, 11, 2, 9, 5, 10, tzinfo=timezone.utc)
    for written in notations(dt):
        assert d.OTHER_TS.search(fold_str(f"x {written} y")) or d.TEXT_TS.search(fold_str(written)), written
    assert not d.OTHER_TS.search(fold_str("2024-11-02T00:00:00.000Z Local\\20231105120000"))
    assert d.parse_stix_timestamp("2024-11-02T09:05:10Z") == dt and "object_modified" in d.FLOOR_PROPS
    assert re.fullmatch(r"\d+", d.precise_datetimes("ts=1700000000")[0][2])


def test_di09_message_id_with_a_sending_time_is_a_timestamp_but_a_mutex_is_not():
    out = _sanitised_description("Message-ID: <20131031123417.u1BKfrXh004925@mail-gw-01.example> mutex Local\\20131031123417")
    assert "123417.u1" not in out and "Local\\20131031123417" in out
