// Draws every <canvas data-chart="ID"> from the JSON in <script type="application/json" id="ID">.
// The numbers come from the server; this file only draws them.
(function () {
  "use strict";
  if (typeof window.Chart === "undefined") {
    return; // the tables beside each chart still hold every figure
  }
  var COLORS = ["#6b7280", "#1d4ed8", "#b45309", "#047857", "#7e22ce", "#be123c"];

  function draw(canvas) {
    var spec = JSON.parse(document.getElementById(canvas.dataset.chart).textContent);
    var short = new Intl.NumberFormat(spec.locale, {
      style: "currency", currency: spec.currency, notation: "compact", maximumFractionDigits: 1
    });
    var full = new Intl.NumberFormat(spec.locale, { style: "currency", currency: spec.currency });
    var datasets = spec.datasets.map(function (dataset, index) {
      var color = COLORS[index % COLORS.length];
      return Object.assign({ backgroundColor: color, borderColor: color }, dataset);
    });
    var valueAxis = spec.horizontal ? "x" : "y";
    if (spec.horizontal) {
      var perLabel = 18 + 14 * spec.datasets.length;
      canvas.parentElement.style.height = Math.max(220, 60 + spec.labels.length * perLabel) + "px";
    }
    var scales = {};
    scales[valueAxis] = {
      beginAtZero: true,
      ticks: { callback: function (value) { return short.format(value); } }
    };
    new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: spec.horizontal ? "y" : "x",
        locale: spec.locale,
        scales: scales,
        plugins: {
          legend: { position: "bottom" },
          tooltip: {
            callbacks: {
              label: function (item) {
                return item.dataset.label + ": " + full.format(item.parsed[valueAxis]);
              }
            }
          }
        }
      }
    });
    canvas.dataset.rendered = "true";
  }

  document.querySelectorAll("canvas[data-chart]").forEach(draw);
})();
