/* Sinfonía: small progressive enhancements. No inline scripts (strict CSP). */
(function () {
  "use strict";
  // Confirm destructive actions: <form data-confirm="¿Seguro?"> or <button data-confirm>.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  }, true);
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-confirm]");
    if (el && el.tagName !== "FORM" && !window.confirm(el.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);
  // Auto-submit filter forms marked data-autosubmit when a select changes (no-JS: a button).
  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (form && form.hasAttribute("data-autosubmit") && !window.htmx) {
      form.requestSubmit();
    }
  });
  // Print buttons: <button data-print>.
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) {
      window.print();
    }
  });
})();
