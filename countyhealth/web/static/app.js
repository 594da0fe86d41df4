// CountyHealth pages: charts from data attributes (ECharts), focus after htmx swaps.
// No inline scripts anywhere (Content-Security-Policy: script-src 'self').
(function () {
  "use strict";

  function loadECharts(done) {
    if (window.echarts) { done(); return; }
    var existing = document.querySelector("script[data-echarts]");
    if (existing) { existing.addEventListener("load", done); return; }
    var script = document.createElement("script");
    script.src = "/static/vendor/echarts.min.js";
    script.setAttribute("data-echarts", "");
    script.addEventListener("load", done);
    document.head.appendChild(script);
  }

  // <div class="chart" data-chart='{"title": "...", "unit": "mmHg", "series": [{"name": "...",
  //   "points": [["2026-01-02T08:00:00+08:00", 132], ...]}], "bands": [[90, 140]]}'>
  function drawChart(el) {
    if (el.getAttribute("data-drawn")) { return; }
    var spec = JSON.parse(el.getAttribute("data-chart"));
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      aria: { enabled: true, label: { description: el.getAttribute("aria-label") || spec.title } },
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 32, bottom: 32 },
      xAxis: { type: "time" },
      yAxis: { type: "value", name: spec.unit || "", scale: true },
      series: spec.series.map(function (s) {
        return { name: s.name, type: "line", showSymbol: true, data: s.points };
      })
    });
    el.setAttribute("data-drawn", "1");
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function drawCharts(root) {
    var charts = (root || document).querySelectorAll("[data-chart]");
    if (!charts.length) { return; }
    loadECharts(function () { charts.forEach(drawChart); });
  }

  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSettle", function (event) {
    drawCharts(event.target);
    // After a swap of the page's content, keyboard and screen-reader users start at its top.
    if (event.target && event.target.id === "main") { event.target.focus(); }
  });
})();
