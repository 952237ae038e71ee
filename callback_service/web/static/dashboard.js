/* Trend chart (ECharts, vendored). Without the library the tables still carry every figure. */
(function () {
  "use strict";
  var el = document.getElementById("trend-chart");
  var dataEl = document.getElementById("trend-data");
  if (!el || !dataEl || !window.echarts) { return; }
  var data = JSON.parse(dataEl.textContent);
  var names = JSON.parse(el.dataset.seriesLabels);
  var chart = window.echarts.init(el, null, { renderer: "canvas" });
  chart.setOption({
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 48, right: 56, top: 36, bottom: 28 },
    xAxis: { type: "category", data: data.labels },
    yAxis: [
      { type: "value", minInterval: 1 },
      { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } }
    ],
    series: [
      { name: names.reports, type: "bar", data: data.reports, itemStyle: { color: "#9cc0e8" } },
      { name: names.reached, type: "bar", data: data.reached, itemStyle: { color: "#2f6fb3" } },
      { name: names.problems, type: "line", data: data.problems, itemStyle: { color: "#c0392b" } },
      { name: names.satisfaction, type: "line", yAxisIndex: 1, data: data.satisfaction, connectNulls: true,
        itemStyle: { color: "#1e7b4f" } }
    ]
  });
  el.dataset.ready = "1";
  window.addEventListener("resize", function () { chart.resize(); });
})();
