/*
 * circlecare — the after-meeting check-in's sliders show their value beside the label, and
 * tell screen readers the number in words ("7 of 10").
 */
(function () {
  "use strict";

  function wire(input) {
    var out = document.createElement("output");
    out.className = "slider-value";
    out.setAttribute("for", input.id);
    input.insertAdjacentElement("afterend", out);
    function update() {
      out.textContent = input.value + " of 10";
      input.setAttribute("aria-valuetext", input.value + " of 10");
    }
    input.addEventListener("input", update);
    update();
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll('.questionnaire input[type="range"]'), wire);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
