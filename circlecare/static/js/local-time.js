/* Show meeting times in the visitor's own time zone before we know it on the server.
   The server marks such times with data-zone-known="0" (it rendered them in UTC). We re-render
   them with the browser's zone and remember that zone in a cookie for the next page. */
(function () {
  "use strict";
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    return;
  }
  if (!zone) return;
  var cookie = "tz=" + encodeURIComponent(zone);
  if (("; " + document.cookie + ";").indexOf("; " + cookie + ";") === -1) {
    document.cookie = cookie + "; path=/; max-age=31536000; SameSite=Lax";
  }
  // The server's own format, "Tue 10 Mar 2026, 7:00 pm EDT": day and month in British order,
  // and the zone's abbreviation where either British or US English has one ("BST", "PST")
  // rather than an offset ("GMT-8"). The clock is named as "h12" (1 to 12): British English
  // with hour12 alone counts 0 to 11, which writes noon as "0:00 pm".
  var parts = new Intl.DateTimeFormat("en-GB", {
    weekday: "short", day: "numeric", month: "short", year: "numeric",
    hour: "numeric", minute: "2-digit", hourCycle: "h12", timeZone: zone
  });
  var nameFormats = {};
  function part(list, type) {
    for (var i = 0; i < list.length; i++) if (list[i].type === type) return list[i].value;
    return "";
  }
  function zoneAbbreviation(when, inZone) {
    inZone = inZone || zone;
    var names = nameFormats[inZone] || (nameFormats[inZone] = ["en-GB", "en-US"].map(function (locale) {
      return new Intl.DateTimeFormat(locale, { timeZone: inZone, timeZoneName: "short" });
    }));
    var first = part(names[0].formatToParts(when), "timeZoneName");
    if (!/^GMT[+-]/.test(first)) return first;
    var second = part(names[1].formatToParts(when), "timeZoneName");
    return /^GMT[+-]/.test(second) ? first : second;
  }
  // The group's own time beside the visitor's, as the server writes it (schedule.format_for_viewer):
  // "7:00 pm in New York", with the group's day when it differs ("3:30 am on Sun 14 Mar in
  // Chicago"), and nothing when both clocks read the same.
  function clockAndDate(when, inZone) {
    var p = new Intl.DateTimeFormat("en-GB", {
      weekday: "short", day: "numeric", month: "short", year: "numeric",
      hour: "numeric", minute: "2-digit", hourCycle: "h12", timeZone: inZone
    }).formatToParts(when);
    return {
      clock: part(p, "hour") + ":" + part(p, "minute") + " " + part(p, "dayPeriod").toLowerCase(),
      day: part(p, "weekday") + " " + part(p, "day") + " " + part(p, "month"),
      date: part(p, "year") + " " + part(p, "month") + " " + part(p, "day")
    };
  }
  function groupNote(when, group, place) {
    var theirs = clockAndDate(when, group), mine = clockAndDate(when, zone);
    var sameClock = theirs.clock === mine.clock && theirs.date === mine.date &&
      zoneAbbreviation(when, group) === zoneAbbreviation(when);
    if (group === zone || sameClock) return null;
    return "(" + theirs.clock + (theirs.date === mine.date ? "" : " on " + theirs.day) +
      " in " + place + ")";
  }
  var fmt = {
    format: function (when) {
      var p = parts.formatToParts(when);
      return part(p, "weekday") + " " + part(p, "day") + " " + part(p, "month") + " " +
        part(p, "year") + ", " + part(p, "hour") + ":" + part(p, "minute") + " " +
        part(p, "dayPeriod").toLowerCase() + " " + zoneAbbreviation(when);
    }
  };
  function render(root) {
    var nodes = root.querySelectorAll('time[data-local-time][data-zone-known="0"]');
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      var when = new Date(node.getAttribute("datetime"));
      if (isNaN(when.getTime())) continue;
      node.textContent = fmt.format(when);
      node.setAttribute("data-zone-known", "1");
      var group = node.getAttribute("data-group-zone");
      var place = node.getAttribute("data-group-place");
      if (!group || !place) continue;
      var sibling = node.nextElementSibling;
      if (!(sibling && sibling.hasAttribute("data-group-time"))) {
        sibling = document.createElement("span");
        sibling.className = "muted";
        sibling.setAttribute("data-group-time", "");
        node.insertAdjacentText("afterend", " ");
        node.parentNode.insertBefore(sibling, node.nextSibling.nextSibling);
      }
      var note = groupNote(when, group, place);
      sibling.hidden = note === null;
      if (note !== null) sibling.textContent = note;
    }
  }
  function start() { render(document); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
  document.addEventListener("htmx:afterSwap", function (event) { render(event.target); });
})();
