/*
 * circlecare — questionnaire charts.
 *
 * Reads chart descriptions from <script type="application/json"> blocks written by Django's
 * json_script (data, never executed) and draws each into the <canvas class="measures-chart">
 * that names it with data-source and data-index. Every chart has a table with the same figures
 * next to it, so nothing here is needed to read the scores.
 *
 * Clinician charts also get: severity bands (shaded), the clinical-range line (dashed) and the
 * reliable-change band around the baseline (a lighter stripe): a score outside that stripe has
 * changed reliably.
 */
(function () {
  "use strict";

  var cache = {};

  function source(id) {
    if (!(id in cache)) {
      var node = document.getElementById(id);
      try {
        cache[id] = node ? JSON.parse(node.textContent) : [];
      } catch (e) {
        cache[id] = [];
      }
    }
    return cache[id];
  }

  var BAND_SHADES = ["rgba(14,92,97,0.04)", "rgba(14,92,97,0.08)", "rgba(14,92,97,0.12)",
    "rgba(14,92,97,0.16)", "rgba(14,92,97,0.20)"];

  var guides = {
    id: "measuresGuides",
    beforeDatasetsDraw: function (chart) {
      var spec = chart.config.options.measures || {};
      var area = chart.chartArea;
      var y = chart.scales.y;
      var ctx = chart.ctx;
      ctx.save();
      (spec.bands || []).forEach(function (band, i) {
        var shade = spec.higherIsWorse ? i : (spec.bands.length - 1 - i);
        var top = y.getPixelForValue(Math.min(band.high + 0.5, spec.max));
        var bottom = y.getPixelForValue(Math.max(band.low - 0.5, spec.min));
        ctx.fillStyle = BAND_SHADES[Math.min(shade, BAND_SHADES.length - 1)];
        ctx.fillRect(area.left, top, area.right - area.left, bottom - top);
      });
      if (typeof spec.baseline === "number" && typeof spec.reliableChange === "number") {
        // A change of exactly the threshold is reliable, so a score there lies outside the
        // stripe, not on its edge (scores are whole numbers, as the bands' half-steps assume).
        var reach = spec.reliableChange - 0.5;
        var hi = y.getPixelForValue(Math.min(spec.baseline + reach, spec.max));
        var lo = y.getPixelForValue(Math.max(spec.baseline - reach, spec.min));
        ctx.fillStyle = "rgba(90,90,160,0.14)";
        ctx.fillRect(area.left, hi, area.right - area.left, lo - hi);
      }
      if (typeof spec.caseness === "number") {
        var cy = y.getPixelForValue(spec.caseness);
        ctx.strokeStyle = "rgba(150,60,30,0.8)";
        ctx.setLineDash([6, 4]);
        ctx.beginPath();
        ctx.moveTo(area.left, cy);
        ctx.lineTo(area.right, cy);
        ctx.stroke();
      }
      ctx.restore();
    }
  };

  function draw(canvas) {
    if (typeof window.Chart !== "function") {
      return;
    }
    var list = source(canvas.getAttribute("data-source"));
    var spec = list[Number(canvas.getAttribute("data-index"))];
    if (!spec || !spec.values || !spec.values.length) {
      return;
    }
    // The chart is a picture of the table beside it; screen readers use the table.
    canvas.setAttribute("aria-hidden", "false");
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: spec.labels,
        datasets: [{
          label: spec.name + (spec.unit ? " (%)" : ""),
          data: spec.values,
          borderColor: "#0e5c61",
          backgroundColor: "#0e5c61",
          pointRadius: 4,
          tension: 0
        }]
      },
      options: {
        measures: spec,
        animation: false,
        maintainAspectRatio: false,
        scales: {
          y: { min: spec.min, max: spec.max, ticks: { precision: 0 } }
        },
        plugins: { legend: { display: false } }
      },
      plugins: [guides]
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("canvas.measures-chart"), draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
