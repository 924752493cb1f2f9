#!/bin/sh
# make vendor: copy the pinned front-end libraries from frontend/node_modules (installed by
# `npm ci` from frontend/package-lock.json) into app/static/vendor/<lib>/ with their licences.
# Needs no network once frontend/node_modules is installed. The file names carry the version,
# like htmx's, so a new version is a new URL (no stale copy in a browser or service-worker cache).
set -eu
cd "$(dirname "$0")/.."
NM=frontend/node_modules
version() { node -p "require('./$NM/$1/package.json').version"; }

IDB=$(version idb)
rm -rf app/static/vendor/idb && mkdir -p app/static/vendor/idb
cp "$NM/idb/build/umd.js" "app/static/vendor/idb/idb-$IDB.umd.js"
cp "$NM/idb/LICENSE" app/static/vendor/idb/LICENSE
printf 'idb %s (npm idb@%s, ISC). build/umd.js: the global `idb` (openDB). Served locally; never from a CDN.\n' \
  "$IDB" "$IDB" > app/static/vendor/idb/README.md

BIC=$(version browser-image-compression)
UZIP=$(version uzip)
D=app/static/vendor/browser-image-compression
rm -rf "$D" && mkdir -p "$D"
# The library's default worker URL points at a CDN; it is never used (useWebWorker: false), but
# nothing served may name a CDN: point it at this very file, served by the app.
sed "s#https://cdn.jsdelivr.net/npm/browser-image-compression@$BIC/dist/browser-image-compression.js#/static/vendor/browser-image-compression/browser-image-compression-$BIC.js#" \
  "$NM/browser-image-compression/dist/browser-image-compression.js" > "$D/browser-image-compression-$BIC.js"
if grep -Eq 'https?://(cdn|unpkg|fastly|cdnjs)' "$D/browser-image-compression-$BIC.js"; then
  echo "vendor: browser-image-compression still names a CDN" >&2; exit 1
fi
cp "$NM/browser-image-compression/LICENSE" "$D/LICENSE"
cp "$NM/uzip/LICENSE" "$D/LICENSE-uzip"
printf 'browser-image-compression %s (npm browser-image-compression@%s, MIT), with UZIP %s bundled (npm uzip@%s, MIT: LICENSE-uzip).\ndist/browser-image-compression.js: the global `imageCompression`. Served locally; never from a CDN.\nThe app calls it with useWebWorker: false (its worker would load the library from a CDN, and\nthe strict CSP refuses blob: workers), so the default libURL is never used; make vendor points it at the local copy anyway.\n' \
  "$BIC" "$BIC" "$UZIP" "$UZIP" > "$D/README.md"
PDFJS=$(version pdfjs-dist)
D=app/static/vendor/pdfjs
rm -rf "$D" && mkdir -p "$D/decoders-$PDFJS"
# Only what the review page's preview needs (issue 21): the main module and its worker (as .js,
# ES modules served as text/javascript), plus the no-WebAssembly image decoders for scanned pages
# (JBIG2/CCITT fax, JPEG 2000), imported by the worker only when a PDF holds such an image; the
# WebAssembly variants would need 'wasm-unsafe-eval' in the CSP. No viewer UI, no cmaps, no fonts.
cp "$NM/pdfjs-dist/build/pdf.min.mjs" "$D/pdf-$PDFJS.min.js"
cp "$NM/pdfjs-dist/build/pdf.worker.min.mjs" "$D/pdf.worker-$PDFJS.min.js"
for f in jbig2_nowasm_fallback.js openjpeg_nowasm_fallback.js LICENSE_JBIG2 LICENSE_PDFJS_JBIG2 \
         LICENSE_OPENJPEG LICENSE_PDFJS_OPENJPEG; do
  cp "$NM/pdfjs-dist/wasm/$f" "$D/decoders-$PDFJS/$f"
done
cp "$NM/pdfjs-dist/LICENSE" "$D/LICENSE"
if grep -rEq 'https?://(cdn|unpkg|fastly|cdnjs)|jsdelivr' "$D"; then
  echo "vendor: pdf.js names a CDN" >&2; exit 1
fi
printf 'pdf.js %s (npm pdfjs-dist@%s, Apache-2.0: LICENSE). build/pdf.min.mjs and build/pdf.worker.min.mjs,\nrenamed .js; decoders-%s/: wasm/*_nowasm_fallback.js (JBIG2/CCITT: LICENSE_JBIG2, LICENSE_PDFJS_JBIG2;\nJPEG 2000: LICENSE_OPENJPEG, LICENSE_PDFJS_OPENJPEG). Used by static/evidence-preview.js with useWasm: false.\nServed locally; never from a CDN.\n' \
  "$PDFJS" "$PDFJS" "$PDFJS" > "$D/README.md"
echo "vendored idb $IDB, browser-image-compression $BIC (uzip $UZIP), pdf.js $PDFJS"
