/* The city portal's four comparison charts (ECharts), from the JSON in #comparison-charts. */
(function () {
  // Switching 月/季度/年度 shows the current period of that kind: the start moves with the choice.
  var kind = document.getElementById("cmp-period"), start = document.getElementById("cmp-start");
  if (kind && start) {
    kind.addEventListener("change", function () {
      start.value = kind.options[kind.selectedIndex].getAttribute("data-current-start");
      kind.form.submit();
    });
  }
})();
(function () {
  if (!window.echarts) { return; }
  var d = JSON.parse(document.getElementById("comparison-charts").textContent);
  var draw = window.dubanChart;  // app.js: drawn, marked ready, resized, tooltips on the canvas
  var axis = {type: "category", data: d.names, axisLabel: {interval: 0, rotate: d.names.length > 8 ? 40 : 0}};
  // Bars start at 0 (a bar's length is its score, so every county's bar shows and two bars compare
  // as they look); each carries its score to three places, where differences of 0.01 show.
  var label = {show: true, position: "top", fontSize: 10,
               formatter: function (p) { return p.value == null ? "" : Number(p.value).toFixed(3); }};
  draw("chart-scores", {
    tooltip: {trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : Number(v).toFixed(3); }},
    legend: {bottom: 0}, grid: {left: 44, right: 16, top: 24, bottom: 60},
    xAxis: axis, yAxis: {type: "value", min: 0},
    series: [{name: d.scores.own_label, type: "bar", data: d.scores.own, itemStyle: {color: "#90a4ae"}, label: label},
             {name: d.scores.reference_label, type: "bar", data: d.scores.reference, itemStyle: {color: "#c62828"},
              label: label}]
  });
  // The distribution and the trend keep a close axis (their point is the spread), padded by 0.1 on
  // both sides so that a county sitting on the base score is drawn inside the chart, not on its edge.
  var padded = {type: "value", scale: true,
                min: function (v) { return Math.floor((v.min - 0.1) * 10) / 10; },
                max: function (v) { return Math.ceil((v.max + 0.1) * 10) / 10; }};
  draw("chart-box", {
    tooltip: {trigger: "item"}, grid: {left: 44, right: 16, top: 20, bottom: 40},
    xAxis: axis, yAxis: padded,
    series: [{name: d.box.label, type: "boxplot", data: d.box.data, itemStyle: {borderColor: "#c62828"}}]
  });
  draw("chart-rates", {
    tooltip: {trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : v + "%"; }},
    legend: {bottom: 0}, grid: {left: 44, right: 16, top: 20, bottom: 60},
    xAxis: axis, yAxis: {type: "value", min: 0, max: 100, axisLabel: {formatter: "{value}%"}},
    series: d.rates.series.map(function (s) { return {name: s.label, type: "bar", data: s.data}; })
  });
  draw("chart-trend", {
    tooltip: {trigger: "axis"}, legend: {bottom: 0, type: "scroll"}, grid: {left: 44, right: 16, top: 30, bottom: 60},
    title: {text: d.trend.label, textStyle: {fontSize: 12, fontWeight: "normal"}, left: "center", top: 0},
    xAxis: {type: "category", data: d.trend.quarters}, yAxis: padded,
    series: d.trend.series.map(function (s) { return {name: s.name, type: "line", data: s.data, connectNulls: true}; })
  });
})();
