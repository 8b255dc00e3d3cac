// Draws every <figure class="chart" data-chart="ID"> from the JSON in #ID (see
// rapport/core/charts.py), on load and after every htmx swap. The table beside each chart
// holds the same figures, so a page without JavaScript loses nothing but the drawing.
(function () {
  "use strict";
  var TONES = { good: "#16a34a", bad: "#dc2626", warn: "#f59e0b" };
  var PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#9ca3af"];

  function format(value, unit) {
    if (value === null || value === undefined) return "–";
    var text = Number(value).toLocaleString(undefined, { maximumFractionDigits: 2 });
    if (unit === "%") return text + " %";
    return unit ? text + " " + unit : text;
  }

  function draw(figure) {
    if (figure.dataset.drawn || typeof window.Chart === "undefined") return;
    var data = document.getElementById(figure.dataset.chart);
    var canvas = figure.querySelector("canvas");
    if (!data || !canvas) return;
    var spec = JSON.parse(data.textContent);
    var round = spec.kind === "doughnut";
    var datasets = spec.series.map(function (s, i) {
      var colour = TONES[s.tone] || PALETTE[i % PALETTE.length];
      return {
        label: s.name,
        data: s.values,
        backgroundColor: round ? spec.labels.map(function (_, j) { return PALETTE[j % PALETTE.length]; }) : colour,
        borderColor: colour,
        borderWidth: spec.kind === "line" ? 2 : 0,
        tension: 0.2,
        spanGaps: true,
      };
    });
    var axes = round ? {} : {
      x: { stacked: !!spec.stacked, ticks: { autoSkip: true, maxRotation: 45 } },
      y: { stacked: !!spec.stacked, beginAtZero: true, ticks: { callback: function (v) { return format(v, spec.unit); } } },
    };
    figure.dataset.drawn = "1";
    new window.Chart(canvas, {
      type: spec.kind,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        indexAxis: spec.horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: spec.horizontal && !round ? { x: axes.y, y: axes.x } : axes,
        plugins: {
          legend: { display: datasets.length > 1 || round, position: "bottom" },
          tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.label + ": " + format(ctx.raw, spec.unit); } } },
        },
      },
    });
  }

  function drawAll(root) {
    (root || document).querySelectorAll("figure.chart[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSettle", function (event) { drawAll(event.target); });
})();
