#!/usr/bin/python3
"""Reads iCalendar files with three independent parsers and prints what each saw, as JSON.

libical (through GObject introspection): restriction_check, the per-method rules of RFC 5546, and
every X-LIC-ERROR it adds. vobject and Python icalendar: SUMMARY, DESCRIPTION, LOCATION, the CN of
each ATTENDEE and DTSTART as a UTC instant. Used by tests/api/calendar_interop.rs; needs Debian's
python3-gi, gir1.2-ical-3.0, python3-vobject and python3-icalendar.
"""
import json
import sys

import gi

gi.require_version("ICalGLib", "3.0")
from gi.repository import ICalGLib  # noqa: E402
import icalendar  # noqa: E402
import vobject  # noqa: E402


def libical(text):
    comp = ICalGLib.Component.new_from_string(text)
    if comp is None:
        return ["libical could not parse the object"]
    ICalGLib.restriction_check(comp)
    errors = []

    def walk(c):
        p = c.get_first_property(ICalGLib.PropertyKind.XLICERROR_PROPERTY)
        while p is not None:
            errors.append(p.as_ical_string().strip())
            p = c.get_next_property(ICalGLib.PropertyKind.XLICERROR_PROPERTY)
        child = c.get_first_component(ICalGLib.ComponentKind.ANY_COMPONENT)
        while child is not None:
            walk(child)
            child = c.get_next_component(ICalGLib.ComponentKind.ANY_COMPONENT)

    walk(comp)
    return errors


def with_vobject(text):
    cal = vobject.readOne(text)
    events = []
    for ev in cal.vevent_list if hasattr(cal, "vevent_list") else []:
        start = ev.dtstart.value
        events.append({
            "summary": ev.summary.value,
            "description": ev.description.value if hasattr(ev, "description") else None,
            "location": ev.location.value if hasattr(ev, "location") else None,
            "cns": [a.params["CN"][0] for a in getattr(ev, "attendee_list", []) if "CN" in a.params],
            "start_utc": int(start.timestamp()),
        })
    return events


def with_icalendar(text):
    cal = icalendar.Calendar.from_ical(text)
    events = []
    for ev in cal.walk("VEVENT"):
        attendees = ev.get("ATTENDEE", [])
        if not isinstance(attendees, list):
            attendees = [attendees]
        events.append({
            "summary": str(ev.get("SUMMARY")),
            "description": str(ev.get("DESCRIPTION")) if ev.get("DESCRIPTION") is not None else None,
            "location": str(ev.get("LOCATION")) if ev.get("LOCATION") is not None else None,
            "cns": [str(a.params["CN"]) for a in attendees if "CN" in a.params],
            "start_utc": int(ev.decoded("DTSTART").timestamp()),
        })
    return events


def main():
    out = {}
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        result = {}
        for name, check in (("libical", libical), ("vobject", with_vobject), ("icalendar", with_icalendar)):
            try:
                result[name] = check(text)
            except Exception as e:  # report, never crash: the test prints it
                result[name] = {"exception": f"{type(e).__name__}: {e}"}
        out[path] = result
    json.dump(out, sys.stdout, ensure_ascii=False)


main()
