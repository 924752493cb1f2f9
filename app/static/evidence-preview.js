/* Evidence preview on the review page (issue 21): the first pages of a PDF evidence drawn on
 * <canvas> by pdf.js (app/static/vendor/pdfjs, never a CDN).
 *
 * Chromium refuses its own PDF viewer inside a sandboxed frame, so the page reads the bytes from
 * the same-origin preview URL (fetch: connect-src 'self'; the file response keeps its locked-down
 * CSP and nosniff) and pdf.js parses them in a worker loaded from 'self' (worker-src falls back
 * to script-src 'self'). No eval, no WebAssembly: scanned images (JBIG2, CCITT fax, JPEG 2000)
 * use pdf.js's plain-JavaScript decoders, imported by the worker only when a page holds one.
 *
 * Markup (reviews/review.html), with the texts already translated by the server:
 *   <div data-pdf-preview data-src data-name data-pdfjs data-worker data-decoders
 *        data-page-of="Página {n} de {total}" data-more data-loading data-error data-missing>
 *     <p data-pdf-status role="status"></p><div data-pdf-pages></div>
 *   </div>
 * Without JavaScript the link to the whole file (next to the box) is all there is.
 */
(function () {
  "use strict";

  var MAX_PAGES = 3;
  var MAX_WIDTH = 800; // CSS pixels: the review column is narrower than this on most screens

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, key) {
      return key in values ? String(values[key]) : whole;
    });
  }

  function absolute(path) {
    return new URL(path, document.baseURI).href;
  }

  var library = null;

  function loadLibrary(box) {
    if (!library) {
      library = import(absolute(box.dataset.pdfjs)).then(function (pdfjs) {
        pdfjs.GlobalWorkerOptions.workerSrc = absolute(box.dataset.worker);
        return pdfjs;
      });
    }
    return library;
  }

  async function renderPage(doc, number, box, list) {
    var page = await doc.getPage(number);
    var natural = page.getViewport({ scale: 1 });
    var width = Math.min(list.clientWidth || MAX_WIDTH, MAX_WIDTH);
    var ratio = window.devicePixelRatio || 1;
    var viewport = page.getViewport({ scale: (width / natural.width) * ratio });
    var label = fill(box.dataset.pageOf, { n: number, total: doc.numPages });

    var figure = document.createElement("figure");
    figure.className = "pdf-page";
    var canvas = document.createElement("canvas");
    canvas.width = Math.floor(viewport.width);
    canvas.height = Math.floor(viewport.height);
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", label + ": " + box.dataset.name);
    var caption = document.createElement("figcaption");
    caption.textContent = label;
    figure.append(canvas, caption);
    list.append(figure);

    await page.render({ canvas: canvas, canvasContext: canvas.getContext("2d"), viewport: viewport }).promise;
    figure.dataset.rendered = "";
    page.cleanup();
  }

  async function render(box) {
    var status = box.querySelector("[data-pdf-status]");
    var list = box.querySelector("[data-pdf-pages]");
    status.textContent = box.dataset.loading;
    var task = null;
    try {
      var pdfjs = await loadLibrary(box);
      task = pdfjs.getDocument({
        url: absolute(box.dataset.src),
        useWasm: false,
        wasmUrl: absolute(box.dataset.decoders),
        isEvalSupported: false,
        enableXfa: false,
        verbosity: pdfjs.VerbosityLevel.ERRORS,
      });
      var doc = await task.promise;
      var shown = Math.min(doc.numPages, MAX_PAGES);
      for (var number = 1; number <= shown; number++) {
        await renderPage(doc, number, box, list);
      }
      status.textContent = doc.numPages > shown ? fill(box.dataset.more, { shown: shown, total: doc.numPages }) : "";
      box.dataset.state = "done";
    } catch (error) {
      list.replaceChildren();
      // pdf.js's ResponseException carries the HTTP status: a file gone from the disk is not a damaged PDF.
      status.textContent = error && error.status === 404 ? box.dataset.missing : box.dataset.error;
      status.classList.add("error");
      box.dataset.state = "failed";
    } finally {
      if (task) {
        task.destroy(); // the canvases keep their pixels; the worker goes
      }
    }
  }

  function start(box) {
    if (box.dataset.state) {
      return;
    }
    box.dataset.state = "loading";
    render(box);
  }

  function init() {
    document.querySelectorAll("[data-pdf-preview]").forEach(function (box) {
      var details = box.closest("details");
      if (!details || details.open) {
        start(box);
      } else {
        details.addEventListener("toggle", function () {
          if (details.open) {
            start(box);
          }
        });
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
