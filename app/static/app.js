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
  // Survey link: <button data-copy="#input"> copies it, <button data-share="#input"> opens the
  // device's share sheet (Web Share API); both start hidden and appear only where they work.
  function setUpLinkButtons() {
    var copies = document.querySelectorAll("[data-copy]");
    for (var i = 0; i < copies.length; i++) { copies[i].hidden = false; }
    if (navigator.share) {
      var shares = document.querySelectorAll("[data-share]");
      for (var j = 0; j < shares.length; j++) { shares[j].hidden = false; }
    }
  }
  function say(button, text) {
    var status = button.parentNode.querySelector("[role=status]");
    if (status) { status.textContent = text; }
  }
  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var input = document.querySelector(copy.getAttribute("data-copy"));
      if (!input) { return; }
      var done = function () { say(copy, copy.getAttribute("data-copied")); };
      var fallback = function () {
        input.focus();
        input.select();
        try {
          if (document.execCommand("copy")) { done(); return; }
        } catch (e) { /* fall through */ }
        say(copy, copy.getAttribute("data-copy-failed"));
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, fallback);
      } else {
        fallback();
      }
      return;
    }
    var share = event.target.closest("[data-share]");
    if (share && navigator.share) {
      var field = document.querySelector(share.getAttribute("data-share"));
      navigator.share({
        title: share.getAttribute("data-share-title"),
        text: share.getAttribute("data-share-text"),
        url: field ? field.value : window.location.href
      }).catch(function () { /* the person closed the share sheet */ });
    }
  });
  function setUp() {
    setUpMenu();
    foldOnPhones();
    setUpLinkButtons();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
