/* 督办 web UI: small behaviours shared by every page (no framework; htmx is loaded separately).
 *
 *  - the menu button folds the top navigation on narrow screens;
 *  - data-confirm="…" on a form or button asks before submitting;
 *  - data-autosubmit on a select submits its form when the choice changes;
 *  - the idle timeout: after DUBAN_IDLE_TIMEOUT_SECONDS without activity the page reloads, and
 *    the server (which has logged the session out) shows the login page;
 *  - htmx: errors of a request are shown instead of failing silently.
 */
(function () {
  "use strict";

  var body = document.body;

  // --- charts (ECharts) ------------------------------------------------------------------------
  // One way to draw a chart for the pages that have them (scores, city): drawn, marked ready,
  // resized with the window; tooltips on the canvas, since ECharts' HTML tooltip writes style=""
  // attributes that the Content-Security-Policy (style-src 'self') refuses.
  var charts = [];
  window.dubanChart = function (id, option) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) { return; }
    if (option.tooltip) { option.tooltip.renderMode = "richText"; }
    var chart = window.echarts.init(el);
    chart.setOption(option);
    el.setAttribute("data-ready", "1");
    if (!charts.length) {
      window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
    }
    charts.push(chart);
  };

  // --- navigation toggle -------------------------------------------------------------------
  var toggle = document.querySelector("[data-nav-toggle]");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var open = body.classList.toggle("nav-open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  // --- a select with data-autosubmit sends its form when another value is chosen ---------
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches && field.matches("select[data-autosubmit]") && field.form) {
      field.form.submit();
    }
  });

  // --- confirmations -----------------------------------------------------------------------
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  }, true);

  // --- idle timeout ------------------------------------------------------------------------
  var idle = parseInt(body.getAttribute("data-idle-timeout") || "0", 10);
  if (idle > 0) {
    var lastActivity = Date.now();
    ["keydown", "mousedown", "touchstart", "scroll"].forEach(function (name) {
      window.addEventListener(name, function () { lastActivity = Date.now(); }, { passive: true });
    });
    // Activity in the browser alone does not keep the session: only requests do. So the page
    // asks the server only when the user has been idle for the whole period.
    window.setInterval(function () {
      if (Date.now() - lastActivity > (idle + 5) * 1000) {
        window.location.reload();
      }
    }, 15000);
  }

  // --- htmx --------------------------------------------------------------------------------
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && (xhr.status === 401 || xhr.status === 403) && /\/login\//.test(xhr.responseURL || "")) {
      window.location.reload();
      return;
    }
    var text = (xhr && xhr.status === 409)
      ? (body.getAttribute("data-msg-conflict") || "该事项已被他人更新，请刷新页面后重试。")
      : (body.getAttribute("data-msg-error") || "操作未成功，请稍后重试。");
    var list = document.querySelector("main .messages");
    if (!list) {
      list = document.createElement("ul");
      list.className = "messages";
      list.setAttribute("role", "status");
      document.querySelector("main").prepend(list);
    }
    var item = document.createElement("li");
    item.className = "message error";
    item.textContent = text;
    list.appendChild(item);
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    // A session that timed out: htmx followed the redirect to the login page; show it whole.
    var xhr = event.detail.xhr;
    if (xhr && /\/login\/(\?|$)/.test(xhr.responseURL || "")) {
      event.detail.shouldSwap = false;
      window.location.href = xhr.responseURL;
    }
  });
})();
