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
  var fmt = new Intl.DateTimeFormat("en-GB", {
    weekday: "short", day: "numeric", month: "short", year: "numeric",
    hour: "numeric", minute: "2-digit", hour12: true, timeZone: zone, timeZoneName: "short"
  });
  function render(root) {
    var nodes = root.querySelectorAll('time[data-local-time][data-zone-known="0"]');
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      var when = new Date(node.getAttribute("datetime"));
      if (isNaN(when.getTime())) continue;
      node.textContent = fmt.format(when).replace(" am", " am").replace(" pm", " pm");
      node.setAttribute("data-zone-known", "1");
      var group = node.getAttribute("data-group-zone");
      var sibling = node.nextElementSibling;
      if (group && group === zone && sibling && sibling.hasAttribute("data-group-time")) {
        sibling.hidden = true;
      }
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
