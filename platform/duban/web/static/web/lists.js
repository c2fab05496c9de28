/* The lists' small behaviours (matters, register book, plan, lights, inbox); no inline script.
 *
 *  - [data-print]: the 打印 button prints the page (the print stylesheet in app.css hides the
 *    navigation, filters, buttons and checkboxes);
 *  - [data-bulk]: a list whose rows have checkboxes (name="matter" or "id"): [data-check-all]
 *    ticks every row of the page, [data-bulk-count] says how many are ticked, and the bulk
 *    buttons stay disabled until one is.
 */
(function () {
  "use strict";

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  document.querySelectorAll("[data-bulk]").forEach(function (form) {
    var boxes = function () {  // form.elements: the rows' checkboxes may sit outside it (form="…")
      return Array.prototype.filter.call(form.elements, function (el) {
        return el.type === "checkbox" && el.name;
      });
    };
    var all = form.querySelector("[data-check-all]");
    var count = form.querySelector("[data-bulk-count]");
    var buttons = form.querySelectorAll(".bk-bar button[type=submit]");
    var idle = count ? count.textContent : "";
    var update = function () {
      var ticked = boxes().filter(function (b) { return b.checked; }).length;
      buttons.forEach(function (b) { b.disabled = ticked === 0; });
      if (count) {
        count.textContent = ticked ? count.getAttribute("data-template").replace("__N__", String(ticked)) : idle;
      }
      if (all) { all.checked = ticked > 0 && ticked === boxes().length; }
    };
    if (all) {
      all.addEventListener("change", function () {
        boxes().forEach(function (b) { b.checked = all.checked; });
        update();
      });
    }
    form.addEventListener("change", update);
    boxes().forEach(function (b) { if (!form.contains(b)) { b.addEventListener("change", update); } });
    update();
  });
})();
