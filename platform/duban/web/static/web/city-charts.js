/* The city portal's four comparison charts (ECharts), from the JSON in #comparison-charts. */
(function () {
  if (!window.echarts) { return; }
  // Tooltips drawn on the canvas: ECharts' HTML tooltip writes style="" attributes into its markup,
  // which the Content-Security-Policy (style-src 'self') refuses.
  var TOOLTIP = "richText";
  var d = JSON.parse(document.getElementById("comparison-charts").textContent);
  var charts = [];
  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var chart = echarts.init(el);
    chart.setOption(option);
    el.setAttribute("data-ready", "1");
    charts.push(chart);
  }
  var axis = {type: "category", data: d.names, axisLabel: {interval: 0, rotate: d.names.length > 8 ? 40 : 0}};
  draw("chart-scores", {
    tooltip: {trigger: "axis", renderMode: TOOLTIP}, legend: {bottom: 0}, grid: {left: 44, right: 16, top: 20, bottom: 60},
    xAxis: axis, yAxis: {type: "value", scale: true},
    series: [{name: d.scores.own_label, type: "bar", data: d.scores.own, itemStyle: {color: "#90a4ae"}},
             {name: d.scores.reference_label, type: "bar", data: d.scores.reference, itemStyle: {color: "#c62828"}}]
  });
  draw("chart-box", {
    tooltip: {trigger: "item", renderMode: TOOLTIP}, grid: {left: 44, right: 16, top: 20, bottom: 40},
    xAxis: axis, yAxis: {type: "value", scale: true},
    series: [{name: d.box.label, type: "boxplot", data: d.box.data, itemStyle: {borderColor: "#c62828"}}]
  });
  draw("chart-rates", {
    tooltip: {trigger: "axis", renderMode: TOOLTIP, valueFormatter: function (v) { return v == null ? "—" : v + "%"; }},
    legend: {bottom: 0}, grid: {left: 44, right: 16, top: 20, bottom: 60},
    xAxis: axis, yAxis: {type: "value", min: 0, max: 100, axisLabel: {formatter: "{value}%"}},
    series: d.rates.series.map(function (s) { return {name: s.label, type: "bar", data: s.data}; })
  });
  draw("chart-trend", {
    tooltip: {trigger: "axis", renderMode: TOOLTIP}, legend: {bottom: 0, type: "scroll"}, grid: {left: 44, right: 16, top: 30, bottom: 60},
    title: {text: d.trend.label, textStyle: {fontSize: 12, fontWeight: "normal"}, left: "center", top: 0},
    xAxis: {type: "category", data: d.trend.quarters}, yAxis: {type: "value", scale: true},
    series: d.trend.series.map(function (s) { return {name: s.name, type: "line", data: s.data, connectNulls: true}; })
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
