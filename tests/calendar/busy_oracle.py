"""Busy times of calendar files by an independent expander (recurring-ical-events on the Python
icalendar library), with the same rules as samordna: cancelled events and events marked free are
not busy; floating times and all-day dates are in X-WR-TIMEZONE or Swedish time; FREEBUSY periods
count unless FBTYPE=FREE. Prints {file: {"busy": [[start, end], ...]} | {"error": "..."}} with UTC
times as "YYYY-MM-DDTHH:MM:SS", cut to the window.

usage: busy_oracle.py FROM TO FILE...   (FROM and TO as YYYY-MM-DD, UTC)
"""
import datetime as dt
import json
import sys
import zoneinfo

import icalendar
import recurring_ical_events

UTC = dt.timezone.utc


def utc(value, default):
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=default)
        return value.astimezone(UTC)
    return dt.datetime.combine(value, dt.time(), tzinfo=default).astimezone(UTC)


def busy(path, start, end):
    calendars = icalendar.Calendar.from_ical(open(path, "rb").read(), multiple=True)
    out = []
    for cal in calendars:
        try:
            default = zoneinfo.ZoneInfo(str(cal.get("X-WR-TIMEZONE", "Europe/Stockholm")))
        except Exception:
            default = zoneinfo.ZoneInfo("Europe/Stockholm")
        for ev in recurring_ical_events.of(cal, components=["VEVENT"]).between(start, end):
            flag = lambda name: str(ev.get(name, "")).strip().upper()
            if (flag("STATUS") == "CANCELLED" or flag("TRANSP") == "TRANSPARENT"
                    or flag("X-MICROSOFT-CDO-BUSYSTATUS") == "FREE"):
                continue
            s = utc(ev["DTSTART"].dt, default)
            e = utc(ev["DTEND"].dt, default) if "DTEND" in ev else s
            out.append((s, e))
        for fb in cal.walk("VFREEBUSY"):
            props = fb.get("FREEBUSY", [])
            for prop in props if isinstance(props, list) else [props]:
                if str(prop.params.get("FBTYPE", "BUSY")).upper() == "FREE":
                    continue
                for period in prop.to_ical().decode().split(","):
                    a, b = period.split("/")
                    s = icalendar.vDDDTypes.from_ical(a)
                    s = utc(s, default)
                    if b.lstrip("+-").startswith("P"):
                        e = s + icalendar.vDuration.from_ical(b)
                    else:
                        e = utc(icalendar.vDDDTypes.from_ical(b), default)
                    out.append((s, e))
    cut = [(max(s, start), min(e, end)) for s, e in out]
    fmt = "%Y-%m-%dT%H:%M:%S"
    return [[s.strftime(fmt), e.strftime(fmt)] for s, e in sorted(cut) if e > s]


def main():
    start = dt.datetime.fromisoformat(sys.argv[1]).replace(tzinfo=UTC)
    end = dt.datetime.fromisoformat(sys.argv[2]).replace(tzinfo=UTC)
    result = {}
    for path in sys.argv[3:]:
        try:
            result[path] = {"busy": busy(path, start, end)}
        except Exception as e:  # a file the expander refuses
            result[path] = {"error": f"{type(e).__name__}: {e}"}
    json.dump(result, sys.stdout)


main()
