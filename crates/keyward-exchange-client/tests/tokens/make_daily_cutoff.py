"""Writes tests/data/daily_cutoff.json: for each case, the first HH:MM in an IANA zone strictly
after an issue time, computed with Python's zoneinfo (a reading of the tz database independent of
jiff's). A wall time in a DST gap is read with fold=0 (the offset before the gap), one that
happens twice with fold=0 (the first), which is what jiff's "compatible" disambiguation does.

Run: python make_daily_cutoff.py > ../data/daily_cutoff.json
"""
import datetime as dt
import json
import sys
from importlib.metadata import version
from zoneinfo import ZoneInfo

CASES = [
    # zone, cutoff (hour, minute), issued (local wall time, fold=0), what it shows
    ("Asia/Kolkata", (3, 30), (2026, 3, 10, 10, 0), "after the cutoff: the next day's"),
    ("Asia/Kolkata", (3, 30), (2026, 3, 10, 2, 0), "before the cutoff: the same day's"),
    ("Asia/Kolkata", (3, 30), (2026, 3, 10, 3, 30), "at the cutoff: the next day's"),
    ("Asia/Kolkata", (3, 30), (2026, 12, 31, 23, 59), "across the year boundary"),
    ("Asia/Kolkata", (0, 0), (2026, 2, 28, 18, 45), "midnight, across a month end"),
    ("America/New_York", (3, 30), (2026, 3, 7, 12, 0), "across the spring-forward day (23 h)"),
    ("America/New_York", (2, 30), (2026, 3, 7, 12, 0), "a cutoff in the spring-forward gap"),
    ("America/New_York", (1, 30), (2026, 10, 31, 12, 0), "a cutoff in the fall-back overlap: the first"),
    ("America/New_York", (9, 0), (2026, 10, 31, 20, 0), "across the fall-back day (25 h)"),
    ("America/New_York", (16, 0), (2026, 7, 1, 15, 59), "summer time, same day"),
]


def ms(t):
    return int(t.timestamp() * 1000)


def main():
    out = []
    for zone, (hour, minute), issued, what in CASES:
        tz = ZoneInfo(zone)
        issued_at = dt.datetime(*issued, tzinfo=tz)
        day = issued_at.date()
        while True:
            cutoff = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
            if cutoff > issued_at:
                break
            day += dt.timedelta(days=1)
        out.append(
            {
                "what": what,
                "zone": zone,
                "hour": hour,
                "minute": minute,
                "issued_ms": ms(issued_at),
                "expires_ms": ms(cutoff),
                "expires_utc": cutoff.astimezone(dt.timezone.utc).isoformat(),
            }
        )
    doc = {"generator": f"Python {sys.version.split()[0]} zoneinfo, tzdata {version('tzdata')}", "cases": out}
    print(json.dumps(doc, indent=1))


main()
