// Draws every <canvas data-chart="ID"> from the JSON in <script type="application/json" id="ID">.
// The numbers come from the server; this file only draws them.
(function () {
  "use strict";
  if (typeof window.Chart === "undefined") {
    return; // the tables beside each chart still hold every figure
  }
  var COLORS = ["#6b7280", "#1d4ed8", "#b45309", "#047857", "#7e22ce", "#be123c"];

  // Draws a dataset's "intervals" ([low, high] per bar) as error bars over its bars.
  var errorBars = {
    id: "errorBars",
    afterDatasetsDraw: function (chart) {
      var context = chart.ctx;
      var scale = chart.scales.y;
      chart.data.datasets.forEach(function (dataset, index) {
        if (!dataset.intervals) { return; }
        chart.getDatasetMeta(index).data.forEach(function (bar, i) {
          var interval = dataset.intervals[i];
          if (!interval || interval[0] === null || interval[1] === null) { return; }
          var top = scale.getPixelForValue(interval[1]);
          var bottom = scale.getPixelForValue(interval[0]);
          context.save();
          context.strokeStyle = "#111827";
          context.lineWidth = 1.5;
          context.beginPath();
          context.moveTo(bar.x, top); context.lineTo(bar.x, bottom);
          context.moveTo(bar.x - 5, top); context.lineTo(bar.x + 5, top);
          context.moveTo(bar.x - 5, bottom); context.lineTo(bar.x + 5, bottom);
          context.stroke();
          context.restore();
        });
      });
    }
  };

  function formatters(spec) {
    if (spec.unit === "percent") {
      var percent = new Intl.NumberFormat(spec.locale, { style: "percent", maximumFractionDigits: 1 });
      return { short: percent, full: percent };
    }
    return {
      short: new Intl.NumberFormat(spec.locale, {
        style: "currency", currency: spec.currency, notation: "compact", maximumFractionDigits: 1
      }),
      full: new Intl.NumberFormat(spec.locale, { style: "currency", currency: spec.currency })
    };
  }

  function draw(canvas) {
    var spec = JSON.parse(document.getElementById(canvas.dataset.chart).textContent);
    var format = formatters(spec);
    var datasets = spec.datasets.map(function (dataset, index) {
      var color = COLORS[(index + (spec.unit === "percent" ? 1 : 0)) % COLORS.length];
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
      ticks: { callback: function (value) { return format.short.format(value); } }
    };
    new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      plugins: [errorBars],
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
                var text = item.dataset.label + ": " + format.full.format(item.parsed[valueAxis]);
                var interval = item.dataset.intervals && item.dataset.intervals[item.dataIndex];
                if (interval && interval[0] !== null && interval[1] !== null) {
                  text += " (95%: " + format.full.format(interval[0]) + " to " + format.full.format(interval[1]) + ")";
                }
                return text;
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
