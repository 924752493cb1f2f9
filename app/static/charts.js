/* Sinfonía charts, TV mode (CSP-safe: no inline script).
   - Paging: a board longer than its panel shows as many rows as fit and turns the page
     every few seconds ("Página 1 de 2"), so every rank reaches the wall screen whatever
     its size. It re-measures when the window changes size.
   - Rotation (?auto=1, data-tv-rotate): one panel at a time, the next every N seconds.
   Without JavaScript every panel is shown stacked and the page still reloads itself
   through <meta http-equiv="refresh">. */
(function () {
  "use strict";
  var PAGE_SECONDS = 10;

  function pageList(list) {
    var items = Array.prototype.slice.call(list.children);
    var label = list.parentNode.querySelector("[data-tv-page]");
    var timer = list._tvTimer;
    if (timer) { window.clearInterval(timer); }
    items.forEach(function (li) { li.hidden = false; });
    if (label) { label.textContent = ""; }
    if (!items.length || list.scrollHeight <= list.clientHeight + 1) { return; }
    // Rows share the height equally (grid 1fr): how many fit at their natural height?
    var rowHeight = Math.max.apply(null, items.map(function (li) { return li.scrollHeight; }));
    var perPage = Math.max(1, Math.floor(list.clientHeight / Math.max(rowHeight, 1)));
    var pages = Math.ceil(items.length / perPage);
    var current = 0;
    function show(page) {
      items.forEach(function (li, i) { li.hidden = Math.floor(i / perPage) !== page; });
      if (label) {
        label.textContent = (list.getAttribute("data-page-text") || "%(n)s / %(t)s")
          .replace("%(n)s", page + 1).replace("%(t)s", pages);
      }
    }
    show(current);
    list._tvTimer = window.setInterval(function () {
      current = (current + 1) % pages;
      show(current);
    }, PAGE_SECONDS * 1000);
  }

  function pageAll() {
    var lists = document.querySelectorAll(".tv-list");
    for (var i = 0; i < lists.length; i++) {
      if (!lists[i].closest("[hidden]")) { pageList(lists[i]); }
    }
  }

  function rotate(root) {
    var panels = root.querySelectorAll("[data-tv-panel]");
    if (panels.length < 2) { return; }
    var seconds = parseInt(root.getAttribute("data-tv-rotate"), 10) || 15;
    var reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    var current = 0;
    function show(i) {
      for (var k = 0; k < panels.length; k++) { panels[k].hidden = k !== i; }
      pageAll();
    }
    show(current);
    window.setInterval(function () {
      current = (current + 1) % panels.length;
      show(current);
    }, reduce ? seconds * 2000 : seconds * 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var roots = document.querySelectorAll("[data-tv-rotate]");
    for (var i = 0; i < roots.length; i++) { rotate(roots[i]); }
    pageAll();
    var resizeTimer = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(resizeTimer);
      resizeTimer = window.setTimeout(pageAll, 200);
    });
  });
})();
