/* Sinfonía service worker (issue 22), served at /sw.js with scope "/".
 *
 * The route (app/offline/routes.py) puts two constants before this file:
 *   VERSION  a hash of this file and every precached static file;
 *   PRECACHE the URLs stored when the worker installs (static files, manifest, /offline).
 *
 * Caches (Cache Storage), all named "sinfonia-…":
 *   sinfonia-static-<VERSION>  the precached files; a new version gets a new cache and the
 *                              old one is deleted when the new worker activates;
 *   sinfonia-pages-v1          the pages the user opened (song list, song pages, delivery
 *                              forms), network first, so they open offline after one visit.
 *                              Kept across worker updates; emptied when the user signs out
 *                              (offline.js deletes it before the sign-out form is sent).
 * Drafts are NEVER here: they live in IndexedDB (static/offline/offline.js), which a worker
 * update does not touch. The JSON API is never cached.
 */
/* global VERSION, PRECACHE */
"use strict";

var STATIC_CACHE = "sinfonia-static-" + VERSION;
var PAGES_CACHE = "sinfonia-pages-v1";
var OFFLINE_URL = "/offline";
var PAGE_LIMIT = 200;

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(STATIC_CACHE).then(function (cache) {
      return cache.addAll(PRECACHE.map(function (url) { return new Request(url, {cache: "reload"}); }));
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("sinfonia-") === 0 && name !== STATIC_CACHE && name !== PAGES_CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function isPage(request) {
  return request.mode === "navigate" ||
    (request.headers.get("Accept") || "").indexOf("text/html") !== -1;
}

function storable(response) {
  // Only a real page of a signed-in user: not an error, not the sign-in page after a redirect.
  return response && response.ok && response.type === "basic" && !response.redirected &&
    (response.headers.get("Content-Type") || "").indexOf("text/html") === 0;
}

function putPage(url, response) {
  return caches.open(PAGES_CACHE).then(function (cache) {
    return cache.put(url, response).then(function () {
      return cache.keys();
    }).then(function (keys) {  // oldest first: keep the cache bounded
      return Promise.all(keys.slice(0, Math.max(0, keys.length - PAGE_LIMIT)).map(function (k) {
        return cache.delete(k);
      }));
    });
  });
}

// Signed-in pages answer with "Vary: Cookie" and the session cookie is re-signed on every
// response, so a stored page is matched by its URL alone (ignoreVary).
function pageFromCache(request) {
  return caches.open(PAGES_CACHE).then(function (cache) {
    return cache.match(request.url, {ignoreVary: true}).then(function (hit) {
      return hit || cache.match(request.url, {ignoreVary: true, ignoreSearch: true});
    });
  }).then(function (hit) {
    return hit || caches.match(OFFLINE_URL, {cacheName: STATIC_CACHE, ignoreVary: true});
  });
}

// Network first; with a weak signal ("lie-fi") the kept copy answers after NETWORK_WAIT_MS
// instead of a page that never loads (the network answer still refreshes the cache).
var NETWORK_WAIT_MS = 6000;

function networkFirstPage(request) {
  var network = fetch(request).then(function (response) {
    if (storable(response)) {
      var copy = response.clone();
      putPage(request.url, copy);
    }
    return response;
  });
  var slow = new Promise(function (resolve) {
    setTimeout(function () {
      caches.open(PAGES_CACHE).then(function (cache) {
        return cache.match(request.url, {ignoreVary: true});
      }).then(function (hit) { if (hit) { resolve(hit); } });
    }, NETWORK_WAIT_MS);
  });
  return Promise.race([network, slow]).catch(function () {
    return pageFromCache(request);
  });
}

function cacheFirstStatic(request) {
  return caches.match(request, {ignoreVary: true}).then(function (hit) {
    if (hit) { return hit; }
    return fetch(request).then(function (response) {
      if (response.ok && response.type === "basic") {
        var copy = response.clone();
        caches.open(STATIC_CACHE).then(function (cache) { cache.put(request, copy); });
      }
      return response;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.pathname.indexOf("/api/") === 0 || url.pathname === "/sw.js" ||
      url.pathname.indexOf("/offline/session") === 0) { return; }  // always the network
  if (request.headers.get("HX-Request")) { return; }  // HTMX partials are not pages
  if (url.pathname.indexOf("/static/") === 0 || url.pathname === "/manifest.webmanifest" ||
      url.pathname === "/favicon.ico") {
    event.respondWith(cacheFirstStatic(request));
    return;
  }
  if (url.pathname === "/login" || url.pathname === "/logout") { return; }  // never kept: a fresh form
  if (isPage(request)) {
    event.respondWith(networkFirstPage(request));
  }
});

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "cache-pages" && Array.isArray(data.urls)) {
    // The song list asks for its songs' pages and delivery forms: open offline after one visit.
    event.waitUntil(caches.open(PAGES_CACHE).then(function (cache) {
      return Promise.all(data.urls.slice(0, 100).map(function (path) {
        var url = new URL(path, self.location.origin);
        if (url.origin !== self.location.origin) { return null; }
        return cache.match(url.href, {ignoreVary: true}).then(function (hit) {
          if (hit && !data.refresh) { return null; }
          return fetch(url.href, {credentials: "same-origin", headers: {Accept: "text/html"}}).then(function (response) {
            return storable(response) ? putPage(url.href, response) : null;
          }, function () { return null; });
        });
      }));
    }).then(function () {
      if (event.source) { event.source.postMessage({type: "pages-cached"}); }
    }));
  } else if (data.type === "version" && event.source) {
    event.source.postMessage({type: "version", version: VERSION});
  }
});
