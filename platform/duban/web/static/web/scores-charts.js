/* The scores page's two charts (ECharts), from the JSON in #tier-chart-data and #rate-chart-data. */
(function () {
  if (!window.echarts) { return; }
  function data(id) { return JSON.parse(document.getElementById(id).textContent); }
  var draw = window.dubanChart;  // app.js: drawn, marked ready, resized, tooltips on the canvas
  var tiers = data("tier-chart-data");
  draw("chart-tiers", {
    tooltip: {trigger: "axis"}, grid: {left: 40, right: 16, bottom: 60, top: 20},
    xAxis: {type: "category", data: tiers.labels, axisLabel: {interval: 0, rotate: 30}},
    yAxis: {type: "value", minInterval: 1},
    series: [{name: tiers.series, type: "bar", data: tiers.counts, itemStyle: {color: "#c62828"}}]
  });
  var rate = data("rate-chart-data");
  draw("chart-on-time", {
    tooltip: {trigger: "axis"}, legend: {data: [rate.closed_label, rate.rate_label], bottom: 0},
    grid: {left: 40, right: 48, bottom: 50, top: 20},
    xAxis: {type: "category", data: rate.labels},
    yAxis: [{type: "value", minInterval: 1}, {type: "value", min: 0, max: 100, axisLabel: {formatter: "{value}%"}}],
    series: [
      {name: rate.closed_label, type: "bar", data: rate.closed, itemStyle: {color: "#90a4ae"}},
      {name: rate.rate_label, type: "line", yAxisIndex: 1, data: rate.rates, connectNulls: true, itemStyle: {color: "#c62828"}}
    ]
  });
})();
