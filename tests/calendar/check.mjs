// Reads iCalendar files with ical.js (Thunderbird's parser, strict) and prints, as JSON, for each
// VEVENT: SUMMARY, DESCRIPTION, LOCATION, the CN of each ATTENDEE and DTSTART as a UTC instant.
// Used by tests/api/calendar_interop.rs; ical.js comes from `npm ci --prefix tests/browser`.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
const require = createRequire(new URL("../browser/package.json", import.meta.url));
const ICAL = require("ical.js");

const out = {};
for (const path of process.argv.slice(2)) {
  try {
    const root = new ICAL.Component(ICAL.parse(readFileSync(path, "utf8")));
    for (const tz of root.getAllSubcomponents("vtimezone")) {
      ICAL.TimezoneService.register(new ICAL.Timezone(tz));
    }
    out[path] = root.getAllSubcomponents("vevent").map((v) => {
      const event = new ICAL.Event(v);
      return {
        summary: event.summary,
        description: event.description,
        location: event.location,
        cns: v.getAllProperties("attendee").map((a) => a.getParameter("cn")),
        start_utc: event.startDate.toUnixTime(),
      };
    });
  } catch (e) {
    out[path] = { exception: String(e) };
  }
}
process.stdout.write(JSON.stringify(out));
