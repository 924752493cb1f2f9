/* Sinfonía charts: TV-mode rotation of the boards (CSP-safe: no inline script).
   Without JavaScript every panel is shown stacked and the page still reloads itself
   through <meta http-equiv="refresh">. */
(function () {
  "use strict";
  function rotate(root) {
    var panels = root.querySelectorAll("[data-tv-panel]");
    if (panels.length < 2) { return; }
    var seconds = parseInt(root.getAttribute("data-tv-rotate"), 10) || 15;
    var reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    var current = 0;
    function show(i) {
      for (var k = 0; k < panels.length; k++) { panels[k].hidden = k !== i; }
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
  });
})();
