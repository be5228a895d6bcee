"""static/js/local-time.js, run under Node with the few DOM calls it makes stood in for.

The script rewrites, in the visitor's own zone, the times the server wrote in UTC before it knew
that zone. Its text must read as the server's own (``schedule.format_local`` and
``format_for_viewer``) would for that zone. No browser is needed for that: Node has the same
``Intl`` as the browsers and takes its zone from ``TZ``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from circlecare.meetings.schedule import format_for_viewer, format_local, place_of

SCRIPT = Path(__file__).resolve().parent.parent / "circlecare" / "static" / "js" / "local-time.js"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")

# A <time> node and the group-time <span> after it, with only what the script uses.
HARNESS = """
const fs = require("fs");
const [script, iso, group, place] = process.argv.slice(1);
function element(attrs) {
  return {
    attrs: Object.assign({}, attrs), textContent: "", hidden: false,
    getAttribute(name) { return name in this.attrs ? this.attrs[name] : null; },
    setAttribute(name, value) { this.attrs[name] = String(value); },
    hasAttribute(name) { return name in this.attrs; },
  };
}
const note = element({"data-group-time": ""});
const time = element({
  "datetime": iso, "data-local-time": "", "data-zone-known": "0",
  "data-group-zone": group, "data-group-place": place,
});
time.nextElementSibling = note;
global.document = {
  cookie: "", readyState: "complete",
  querySelectorAll() { return [time]; },
  addEventListener() {},
};
eval(fs.readFileSync(script, "utf8"));
console.log(JSON.stringify({time: time.textContent, note: note.hidden ? null : note.textContent}));
"""


def rendered(moment: datetime, viewer_zone: str, group_zone: str) -> dict[str, str | None]:
    assert NODE is not None
    place = place_of(group_zone)
    done = subprocess.run(
        [NODE, "-e", HARNESS, str(SCRIPT), moment.isoformat(), group_zone, place],
        env={**os.environ, "TZ": viewer_zone},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    result: dict[str, str | None] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize(
    ("moment", "viewer_zone", "group_zone"),
    [
        # The twelve o'clock hours, which a 12-hour clock reads as 12, not 0: noon and a quarter
        # past midnight where the visitor is, and noon where the group is.
        (datetime(2026, 3, 10, 23, 0, tzinfo=UTC), "Pacific/Chatham", "America/New_York"),
        (datetime(2026, 3, 10, 23, 0, tzinfo=UTC), "Pacific/Pago_Pago", "Europe/London"),
        (datetime(2026, 3, 10, 4, 15, tzinfo=UTC), "America/New_York", "Asia/Kathmandu"),
        (datetime(2026, 3, 10, 12, 0, tzinfo=UTC), "America/New_York", "Europe/London"),
        (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), "America/Phoenix", "America/New_York"),
    ],
)
def test_the_browser_writes_a_time_as_the_server_does(
    moment: datetime, viewer_zone: str, group_zone: str
) -> None:
    got = rendered(moment, viewer_zone, group_zone)
    _, theirs = format_for_viewer(moment, viewer_zone, group_zone)
    # The clock and the day; zone abbreviations come from different databases (ICU, tzdata).
    assert got["time"] is not None
    assert got["time"].rsplit(" ", 1)[0] == format_local(moment, viewer_zone).rsplit(" ", 1)[0]
    assert got["note"] == (f"({theirs})" if theirs else None)
