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
  // Phone header: the menu collapses behind a button (aria-expanded). Without JavaScript
  // the button stays hidden and the menu is always shown (base.html, app.css).
  function setUpMenu() {
    var toggle = document.querySelector(".menu-toggle");
    var menu = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
    if (!menu) { return; }
    var header = toggle.closest(".site-header");
    function setOpen(open) {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      menu.classList.toggle("open", open);
    }
    toggle.hidden = false;
    header.classList.add("menu-ready");
    toggle.addEventListener("click", function () {
      setOpen(toggle.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
        setOpen(false);
        toggle.focus();
      }
    });
  }
  // <details data-fold-narrow open>: folded on a phone-sized screen (the song filters).
  function foldOnPhones() {
    if (!window.matchMedia || !window.matchMedia("(max-width: 640px)").matches) { return; }
    var boxes = document.querySelectorAll("details[data-fold-narrow]");
    for (var i = 0; i < boxes.length; i++) { boxes[i].open = false; }
  }
  function setUp() {
    setUpMenu();
    foldOnPhones();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
