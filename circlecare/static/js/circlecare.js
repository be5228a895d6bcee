/*
 * circlecare — small progressive enhancements.
 *
 * Every page works without this file. It is loaded with `defer` after htmx and
 * does these things:
 *   1. sends Django's CSRF token with htmx requests;
 *   2. moves keyboard focus to a form's error summary when one is shown, or else to
 *      the place on the page a redirect named ("#next-step"), read out with the messages
 *      the redirect left, or else to those messages ("Your password is changed");
 *   3. tells people, calmly, when an htmx request could not be completed;
 *   4. when a swap replaces the control that had focus, moves focus to what
 *      came in its place, so the keyboard and the screen reader are not sent
 *      back to the top of the page and the new message is read out;
 *   5. warns a signed-in person two minutes before an idle sign-out, with one
 *      button to stay signed in (WCAG 2.2.1);
 *   6. lets the keyboard scroll a table too wide for the screen: its scroll box
 *      becomes a named stop in the tab order while, and only while, it scrolls;
 *   7. on a phone, folds the site's menu behind one "Menu" button, so that it does
 *      not fill the first screen of every page.
 */
(function () {
  "use strict";

  // Run ``fn`` once the page is parsed (now, if it already is: the file loads with defer).
  function whenReady(fn) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", fn);
    } else {
      fn();
    }
  }

  // Nothing has focus yet: it is still on the page itself, where loading left it.
  function focusUnplaced() {
    var active = document.activeElement;
    return !active || active === document.body || active === document.documentElement;
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function focusErrorSummary(root) {
    var scope = root && root.querySelector ? root : document;
    var summary = scope.querySelector(".error-summary");
    if (!summary && scope.classList && scope.classList.contains("error-summary")) {
      summary = scope;
    }
    if (summary) {
      if (!summary.hasAttribute("tabindex")) {
        summary.setAttribute("tabindex", "-1");
      }
      summary.focus();
      return true;
    }
    return false;
  }

  // A message left by a redirect ("Your agreements are signed") sits in a region that was
  // already there when the page loaded, which screen readers may not announce: focus reads it.
  // Focus that a form's errors, an autofocus control or the person already placed is left alone.
  function focusMessages() {
    var box = document.getElementById("messages");
    if (!box || !box.querySelector(".notice") || document.querySelector("[autofocus]")) {
      return;
    }
    if (focusUnplaced()) {
      box.focus();
    }
  }

  // A page opened at a place on it ("…/groups/7/#next-step", where signing the agreements
  // leads) is scrolled there, but keyboard focus and the screen reader stay at the top. Focus
  // goes to that place instead, and any message the redirect left is read out with it.
  function focusTarget() {
    var id = "";
    try {
      id = decodeURIComponent(window.location.hash.slice(1));
    } catch (error) {
      return false; // not a place on this page
    }
    var target = id ? document.getElementById(id) : null;
    if (!target || target.id === "messages" || document.querySelector("[autofocus]")) {
      return false;
    }
    if (!focusUnplaced()) {
      return false;
    }
    var box = document.getElementById("messages");
    if (box && box.querySelector(".notice")) {
      var described = target.getAttribute("aria-describedby");
      target.setAttribute("aria-describedby", described ? described + " messages" : "messages");
    }
    if (!target.hasAttribute("tabindex")) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus();
    return document.activeElement === target;
  }

  function showRequestProblem(text) {
    var region = document.getElementById("request-status");
    if (!region) {
      return;
    }
    region.textContent = "";
    var notice = document.createElement("p");
    notice.className = "notice notice-warning";
    notice.textContent = text;
    region.appendChild(notice);
  }

  function clearRequestProblem() {
    var region = document.getElementById("request-status");
    if (region && region.firstChild) {
      region.textContent = "";
    }
  }

  // 1. CSRF: Django reads the token from the X-CSRFToken header.
  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token && event.detail && event.detail.headers) {
      event.detail.headers["X-CSRFToken"] = token;
    }
  });

  // 2. Error summaries: on page load, and after htmx swaps in a form. Without one, the place
  // the previous step led to takes focus, or else its message.
  function onReady() {
    if (!focusErrorSummary(document) && !focusTarget()) {
      focusMessages();
    }
  }
  whenReady(onReady);

  // htmx fires afterSwap on each element it swapped in; for an outerHTML swap the
  // request's target (event.detail.target) has already left the page.
  document.addEventListener("htmx:afterSwap", function (event) {
    clearRequestProblem();
    var swapped = event.target;
    if (swapped && swapped.querySelector && swapped.querySelector(".error-summary")) {
      focusErrorSummary(swapped);
      return;
    }
    focusSwappedContent(swapped);
  });

  // 4. Focus that fell back to the page (its control was swapped out) goes to the
  // message that replaced it, or else to the new content itself.
  function focusSwappedContent(swapped) {
    var active = document.activeElement;
    if (active && active !== document.body && document.documentElement.contains(active)) {
      return;
    }
    if (!swapped || !swapped.isConnected || !swapped.querySelector) {
      return;
    }
    var message = swapped.querySelector('[role="alert"], [role="status"]');
    var target = message || swapped;
    if (!target.hasAttribute("tabindex")) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus();
  }

  // 5. Idle sign-out warning. The server signs people out after a stretch with no
  // request; typing is not a request, so a long journal entry could be lost.
  // Another tab may keep the session alive, so before warning or saying "signed out"
  // the page asks the server how long is left (asking is not activity there).
  function idleWarning() {
    var dialog = document.getElementById("idle-warning");
    if (!dialog || typeof dialog.showModal !== "function") {
      return;
    }
    var limit = parseInt(dialog.getAttribute("data-idle-seconds"), 10) * 1000;
    var lead = Math.min(120000, limit / 2);
    var statusUrl = dialog.getAttribute("data-status-url");
    var warnTimer = null;
    var outTimer = null;
    var deadline = 0;
    var signedOut = false;
    var closingQuietly = false;

    function showWarning() {
      if (!signedOut && !dialog.open) {
        dialog.showModal();
      }
    }

    function showSignedOut() {
      clearTimeout(warnTimer);
      clearTimeout(outTimer);
      signedOut = true;
      var text = document.getElementById("idle-warning-text");
      if (text) {
        text.textContent = text.getAttribute("data-signed-out");
      }
      var button = dialog.querySelector("button");
      if (button) {
        button.textContent = "Close";
      }
      if (!dialog.open) {
        dialog.showModal();
      }
    }

    // Warn `lead` before the sign-out expected in `left` ms, and check again then.
    function schedule(left) {
      clearTimeout(warnTimer);
      clearTimeout(outTimer);
      deadline = Date.now() + left;
      if (left > lead) {
        warnTimer = setTimeout(check, left - lead);
      } else {
        showWarning();
      }
      outTimer = setTimeout(check, Math.max(left, 1000));
    }

    function check() {
      var asked = statusUrl
        ? fetch(statusUrl, {
            credentials: "same-origin",
            cache: "no-store",
            headers: { Accept: "application/json" },
          }).then(function (response) {
            if (!response.ok) {
              throw new Error("status " + response.status);
            }
            return response.json();
          })
        : Promise.reject(new Error("no status URL"));
      asked.then(
        function (status) {
          if (!status.signed_in) {
            showSignedOut();
            return;
          }
          var left = status.seconds_left * 1000;
          if (left > lead && dialog.open) {
            // Someone is active in another tab: no need to ask here.
            closingQuietly = true;
            dialog.close();
          }
          schedule(left);
        },
        function () {
          // The server could not be asked: go by this page's own reckoning.
          if (Date.now() >= deadline) {
            showSignedOut();
          } else {
            showWarning();
          }
        }
      );
    }

    // Closing the warning (the button, or Escape) counts as "stay signed in".
    dialog.addEventListener("close", function () {
      if (signedOut) {
        return;
      }
      if (closingQuietly) {
        closingQuietly = false;
        return;
      }
      var url = dialog.getAttribute("data-keep-alive-url");
      var restart = function () {
        schedule(limit);
      };
      fetch(url, { credentials: "same-origin", cache: "no-store" }).then(restart, restart);
    });
    // Any htmx request is activity the server has seen.
    document.addEventListener("htmx:afterRequest", function () {
      if (!signedOut) {
        schedule(limit);
      }
    });
    schedule(limit);
  }

  whenReady(idleWarning);

  // 6. A table wider than a phone scrolls sideways inside its .table-wrap. Someone without a
  // pointer can scroll it only if the box can take focus, so it does while it overflows, named
  // after the table (its caption, else the section's heading). Checked again on resize and swaps.
  function tableName(wrap) {
    var caption = wrap.querySelector("caption");
    if (caption && caption.textContent.trim()) {
      return caption.textContent.trim();
    }
    var section = wrap.closest("section");
    var heading = section && section.querySelector("h2, h3");
    return heading ? heading.textContent.trim() : "Table";
  }

  function scrollableTables() {
    var wraps = document.querySelectorAll(".table-wrap");
    for (var i = 0; i < wraps.length; i++) {
      var wrap = wraps[i];
      if (wrap.scrollWidth > wrap.clientWidth + 1) {
        if (!wrap.hasAttribute("tabindex")) {
          wrap.setAttribute("tabindex", "0");
          wrap.setAttribute("role", "region");
          wrap.setAttribute("aria-label", tableName(wrap) + " (scrolls sideways)");
          wrap.setAttribute("data-scroll-stop", "");
        }
      } else if (wrap.hasAttribute("data-scroll-stop")) {
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("role");
        wrap.removeAttribute("aria-label");
        wrap.removeAttribute("data-scroll-stop");
      }
    }
  }
  whenReady(scrollableTables);
  var resizing = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(scrollableTables, 150);
  });
  document.addEventListener("htmx:afterSettle", scrollableTables);

  // 7. The site's menu on a narrow screen: behind its "Menu" button, which says whether it is
  // open (aria-expanded). Escape closes it and gives focus back to the button. On a wider
  // screen, and without this file, the menu is shown as it is. (The meeting room folds its menu
  // into a <details> of its own, and is left alone.)
  function siteMenu() {
    var toggle = document.querySelector(".site-menu-toggle");
    var nav = document.getElementById("site-nav");
    if (!toggle || !nav || nav.closest("details")) {
      return;
    }
    var narrow = window.matchMedia("(max-width: 47.99rem)");
    var header = toggle.parentElement;
    function show(open) {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("is-folded", !open);
    }
    function fit() {
      toggle.hidden = !narrow.matches;
      header.classList.toggle("has-menu-toggle", narrow.matches);
      show(!narrow.matches);
    }
    toggle.addEventListener("click", function () {
      show(toggle.getAttribute("aria-expanded") !== "true");
    });
    nav.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && narrow.matches) {
        show(false);
        toggle.focus();
      }
    });
    narrow.addEventListener("change", fit);
    fit();
  }
  whenReady(siteMenu);

  // 3. Failed requests: htmx leaves the page unchanged, so say so.
  document.addEventListener("htmx:sendError", function () {
    showRequestProblem(
      "We couldn't reach circlecare just now. Please check your connection and try again."
    );
  });

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail && event.detail.xhr;
    if (xhr && xhr.status >= 500) {
      showRequestProblem(
        "Something went wrong on our side. Please try again in a moment."
      );
    }
  });
})();
