/* The scores page's two charts (ECharts), from the JSON in #tier-chart-data and #rate-chart-data. */
(function () {
  if (!window.echarts) { return; }
  // Tooltips drawn on the canvas: ECharts' HTML tooltip writes style="" attributes into its markup,
  // which the Content-Security-Policy (style-src 'self') refuses.
  var TOOLTIP = "richText";
  var charts = [];
  function data(id) { return JSON.parse(document.getElementById(id).textContent); }
  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var chart = echarts.init(el);
    chart.setOption(option);
    el.setAttribute("data-ready", "1");
    charts.push(chart);
  }
  var tiers = data("tier-chart-data");
  draw("chart-tiers", {
    tooltip: {trigger: "axis", renderMode: TOOLTIP}, grid: {left: 40, right: 16, bottom: 60, top: 20},
    xAxis: {type: "category", data: tiers.labels, axisLabel: {interval: 0, rotate: 30}},
    yAxis: {type: "value", minInterval: 1},
    series: [{name: tiers.series, type: "bar", data: tiers.counts, itemStyle: {color: "#c62828"}}]
  });
  var rate = data("rate-chart-data");
  draw("chart-on-time", {
    tooltip: {trigger: "axis", renderMode: TOOLTIP}, legend: {data: [rate.closed_label, rate.rate_label], bottom: 0},
    grid: {left: 40, right: 48, bottom: 50, top: 20},
    xAxis: {type: "category", data: rate.labels},
    yAxis: [{type: "value", minInterval: 1}, {type: "value", min: 0, max: 100, axisLabel: {formatter: "{value}%"}}],
    series: [
      {name: rate.closed_label, type: "bar", data: rate.closed, itemStyle: {color: "#90a4ae"}},
      {name: rate.rate_label, type: "line", yAxisIndex: 1, data: rate.rates, connectNulls: true, itemStyle: {color: "#c62828"}}
    ]
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
