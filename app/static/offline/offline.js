/* Sinfonía offline in the field (issue 22). No inline scripts (strict CSP): this file only.
 *
 * - Registers the service worker (/sw.js, scope "/") for signed-in users; asks it to keep the
 *   song list's songs (their pages and delivery forms) so they open offline after one visit.
 * - Drafts of deliveries live in IndexedDB ("sinfonia-offline", store "drafts", through the
 *   vendored `idb` library), never in the Cache Storage: a worker update keeps them.
 *   navigator.storage.persist() is asked so the browser does not evict them.
 * - Photos are shrunk on the device (browser-image-compression, longest side
 *   data-photo-max-px, default 2,000 px) before they are stored.
 * - Sync: POST /api/v1/songs/ID/offline-deliveries (multipart) with the draft id (a UUID made
 *   here) as idempotency key, the song version the user saw and the device's recorded time;
 *   retried at start-up, on the "online" event and on a timer. A 409 (the song changed on the
 *   server meanwhile) is shown to the user to decide; nothing is resent over it silently.
 * - The queue ("3 entregas por sincronizar") is shown on every page; /offline lists each draft.
 * Every word on screen comes from the server-translated <template id="offline-messages">.
 */
(function () {
  "use strict";
  var DB_NAME = "sinfonia-offline";
  var STORE = "drafts";
  var RETRY_MS = 60 * 1000;
  var KEEP_SYNCED_MS = 7 * 24 * 3600 * 1000;
  var OPEN = ["pending", "syncing", "error", "conflict", "refused"];
  var syncing = null;

  // ------------------------------------------------------------------ words
  function msg(key, values) {
    var template = document.getElementById("offline-messages");
    var el = template && template.content.querySelector('[data-key="' + key + '"]');
    var text = el ? el.textContent : key;
    Object.keys(values || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(String(values[name]));
    });
    return text;
  }

  function userId() {
    return document.body ? document.body.getAttribute("data-user-id") : null;
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // The device's local time with its offset, e.g. 2026-12-01T09:30:00.000-05:00: the server
  // measures the declaration window from it (app/domain/song_rules.py, recording_day).
  function deviceNow() {
    var now = new Date();
    var offset = -now.getTimezoneOffset();
    var sign = offset >= 0 ? "+" : "-";
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    var abs = Math.abs(offset);
    var local = new Date(now.getTime() + offset * 60000).toISOString().slice(0, 23);
    return local + sign + pad(Math.floor(abs / 60)) + ":" + pad(abs % 60);
  }

  function localToday() {
    return deviceNow().slice(0, 10);
  }

  // ------------------------------------------------------------------ storage (IndexedDB via idb)
  var dbPromise = null;
  function db() {
    if (!window.idb || !window.indexedDB) { return Promise.reject(new Error("no indexeddb")); }
    if (!dbPromise) {
      dbPromise = window.idb.openDB(DB_NAME, 1, {
        upgrade: function (database) {
          var store = database.createObjectStore(STORE, {keyPath: "id"});
          store.createIndex("user", "userId");
        }
      });
    }
    return dbPromise;
  }

  function allDrafts() {
    var me = userId();
    if (!me) { return Promise.resolve([]); }
    return db().then(function (d) { return d.getAllFromIndex(STORE, "user", me); }).then(function (rows) {
      return rows.sort(function (a, b) { return a.recordedAt < b.recordedAt ? -1 : 1; });
    }, function () { return []; });
  }

  function putDraft(draft) {
    return db().then(function (d) { return d.put(STORE, draft); });
  }

  function deleteDraft(id) {
    return db().then(function (d) { return d.delete(STORE, id); });
  }

  function askPersistence() {
    if (navigator.storage && navigator.storage.persist) {
      navigator.storage.persisted().then(function (yes) { if (!yes) { navigator.storage.persist(); } });
    }
  }

  // ------------------------------------------------------------------ service worker
  function registerWorker() {
    if (!("serviceWorker" in navigator) || !userId()) { return; }
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (event.data && event.data.type === "pages-cached") {  // (tests wait on this mark)
        document.documentElement.setAttribute("data-offline-pages", "cached");
      }
    });
    navigator.serviceWorker.register("/sw.js", {scope: "/"}).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      cacheListedSongs(registration.active);
    }).catch(function () { /* the app works without it, online */ });
  }

  // On the song list: keep each listed song's page and its offline delivery form.
  function cacheListedSongs(worker) {
    if (!worker || !navigator.onLine || location.pathname !== "/songs") { return; }
    var urls = [];
    var links = document.querySelectorAll("main a[href]");
    for (var i = 0; i < links.length; i++) {
      var match = /^\/songs\/(\d+)$/.exec(links[i].getAttribute("href"));
      if (match && urls.indexOf(match[0]) === -1) {
        urls.push(match[0], "/offline/songs/" + match[1] + "/deliver");
      }
    }
    if (urls.length) { worker.postMessage({type: "cache-pages", urls: urls}); }
  }

  // Signing out: the signed-in pages (personal data) leave the device's cache before the form
  // goes; the drafts stay in IndexedDB, each under its user, and sync at the next sign-in.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var action = form.getAttribute("action") || "";
    if (!/\/logout$/.test(action) || !window.caches || form.hasAttribute("data-pages-cleared")) { return; }
    event.preventDefault();
    form.setAttribute("data-pages-cleared", "");
    var send = function () { form.submit(); };
    caches.delete("sinfonia-pages-v1").then(send, send);
  }, true);

  // ------------------------------------------------------------------ the queue on screen
  function renderQueue() {
    return allDrafts().then(function (drafts) {
      var open = drafts.filter(function (d) { return OPEN.indexOf(d.status) !== -1; });
      var problems = open.filter(function (d) { return d.status === "conflict" || d.status === "refused"; });
      var text = open.length === 1 ? msg("queue_one") : msg("queue_many", {n: open.length});
      if (problems.length) { text += " · " + msg("queue_problem", {n: problems.length}); }
      var badge = document.getElementById("offline-queue");
      if (badge) {
        badge.hidden = open.length === 0 && navigator.onLine;
        badge.firstElementChild.textContent = open.length ? text : msg("offline_now");
        badge.classList.toggle("has-problems", problems.length > 0);
      }
      var summaries = document.querySelectorAll("[data-offline-summary]");
      for (var i = 0; i < summaries.length; i++) {
        summaries[i].textContent = open.length ? text : msg("empty");
      }
      var lists = document.querySelectorAll("[data-offline-drafts]");
      for (var j = 0; j < lists.length; j++) { renderList(lists[j], drafts); }
      return drafts;
    });
  }

  function statusText(draft) {
    return msg("status_" + (draft.status === "syncing" ? "syncing" : draft.status));
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function button(label, action, id) {
    var b = el("button", "btn", label);
    b.type = "button";
    b.setAttribute("data-draft-action", action);
    b.setAttribute("data-draft-id", id);
    return b;
  }

  function renderList(list, drafts) {
    list.textContent = "";
    drafts.forEach(function (draft) {
      var item = el("li", "offline-draft status-" + draft.status);
      item.setAttribute("data-draft", draft.id);
      item.appendChild(el("h3", null, draft.songTitle));
      var status = el("p", "draft-status", statusText(draft));
      status.setAttribute("data-draft-status", draft.status);
      item.appendChild(status);
      if (draft.error) { item.appendChild(el("p", "draft-error", draft.error)); }
      if (draft.status === "conflict" && draft.conflict) {
        var fields = draft.conflict.fields || {};
        var names = Object.keys(fields);
        if (names.length) {
          item.appendChild(el("p", null, msg("changed")));
          var changes = el("ul", "draft-changes");
          names.forEach(function (name) {
            changes.appendChild(el("li", null, name + ": " + (fields[name] === null ? "—" : fields[name])));
          });
          item.appendChild(changes);
        }
        if ((draft.conflict.changed_by || []).length) {
          item.appendChild(el("p", null, msg("changed_by", {who: draft.conflict.changed_by.join(", ")})));
        }
      }
      var facts = el("p", "muted");
      facts.textContent = msg("delivered_on", {date: draft.fields.delivered_on}) + " · " +
        msg("recorded", {when: draft.recordedAt.slice(0, 16).replace("T", " ")}) + " · " +
        msg("files", {n: draft.fileCount, kb: Math.round(draft.fileBytes / 1024)});
      item.appendChild(facts);
      var actions = el("p", "draft-actions");
      var link = el("a", null, msg("btn_song"));
      link.href = draft.songUrl;
      actions.appendChild(link);
      if (draft.status === "conflict") { actions.appendChild(button(msg("btn_keep_mine"), "keep-mine", draft.id)); }
      if (draft.status === "conflict" || draft.status === "refused") {
        var fix = el("a", "btn", msg("btn_fix"));
        fix.href = "/offline/songs/" + draft.songId + "/deliver?draft=" + encodeURIComponent(draft.id);
        actions.appendChild(fix);
      }
      if (draft.status === "error" || draft.status === "pending") { actions.appendChild(button(msg("btn_retry"), "retry", draft.id)); }
      if (draft.status !== "synced" && draft.status !== "syncing") {
        var discard = button(msg("btn_discard"), "discard", draft.id);
        discard.setAttribute("data-confirm", msg("confirm_discard"));
        actions.appendChild(discard);
      }
      item.appendChild(actions);
      list.appendChild(item);
    });
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-draft-action], [data-offline-sync]");
    if (!target) { return; }
    if (target.hasAttribute("data-offline-sync")) { syncAll(); return; }
    var id = target.getAttribute("data-draft-id");
    var action = target.getAttribute("data-draft-action");
    db().then(function (d) { return d.get(STORE, id); }).then(function (draft) {
      if (!draft) { return null; }
      if (action === "discard") { return deleteDraft(id); }
      if (action === "keep-mine" && draft.conflict) {
        // The user saw what changed and chose to deliver over the current version.
        draft.songVersion = draft.conflict.current_version;
        draft.conflict = null;
      }
      draft.status = "pending";
      draft.error = null;
      return putDraft(draft);
    }).then(function () { return renderQueue(); }).then(function () {
      if (action !== "discard") { syncAll(); }
    });
  });

  // ------------------------------------------------------------------ sync
  function freshSession() {
    return fetch("/offline/session", {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) {
        var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
        if (!response.ok || response.redirected || !json) { return null; }
        return response.json();
      });
  }

  function details(body) {
    var out = [];
    var d = body && body.details;
    if (d && typeof d === "object" && !Array.isArray(d)) {
      Object.keys(d).forEach(function (k) {
        if (Array.isArray(d[k])) { out.push(d[k].join(" ")); }
      });
    }
    return out.join(" ");
  }

  function draftForm(draft) {
    var form = new FormData();
    form.append("draft_id", draft.id);
    form.append("recorded_at", draft.recordedAt);
    form.append("version", String(draft.songVersion));
    Object.keys(draft.fields).forEach(function (name) {
      if (draft.fields[name] !== "" && draft.fields[name] !== null) { form.append(name, draft.fields[name]); }
    });
    (draft.files || []).forEach(function (file) { form.append("file", file.blob, file.name); });
    return form;
  }

  function sendDraft(draft, session) {
    var form;
    try {
      form = draftForm(draft);
    } catch (problem) {  // a damaged record: say so, never leave it "sending" forever
      draft.status = "refused";
      draft.error = String(problem && problem.message || problem);
      return putDraft(draft);
    }
    return fetch("/api/v1/songs/" + draft.songId + "/offline-deliveries", {
      method: "POST",
      body: form,
      credentials: "same-origin",
      headers: {"X-CSRFToken": session.csrf_token, Accept: "application/json"}
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.ok) {
          draft.status = "synced";
          draft.error = null;
          draft.files = [];  // the server has them now; free the device's space
          draft.syncedAt = Date.now();
        } else if (response.status === 409 && body.details && body.details.current_version) {
          draft.status = "conflict";
          draft.conflict = body.details;
          draft.error = body.error || null;
        } else if (response.status === 401) {
          draft.status = "error";
          draft.error = msg("err_session");
        } else if (response.status >= 500 || response.status === 429) {
          draft.status = "error";
          draft.error = msg("err_server", {status: response.status});
        } else {
          draft.status = "refused";
          draft.error = [body.error, details(body)].filter(Boolean).join(" ");
        }
      });
    }, function () {
      draft.status = "error";
      draft.error = msg("err_network");
    }).then(function () {
      draft.attempts = (draft.attempts || 0) + 1;
      draft.lastTriedAt = Date.now();
      return putDraft(draft);
    });
  }

  function runSync() {
    return allDrafts().then(function (drafts) {
      var now = Date.now();
      drafts.forEach(function (d) {  // synced drafts are kept a week as a receipt, without files
        if (d.status === "synced" && now - (d.syncedAt || 0) > KEEP_SYNCED_MS) { deleteDraft(d.id); }
      });
      var due = drafts.filter(function (d) { return d.status === "pending" || d.status === "error" || d.status === "syncing"; });
      if (!due.length || !navigator.onLine) { return null; }
      return freshSession().then(function (session) {
        if (!session) {
          return Promise.all(due.map(function (d) {
            d.status = "error";
            d.error = msg("err_session");
            return putDraft(d);
          }));
        }
        return due.reduce(function (chain, draft) {
          return chain.then(function () {
            if (String(draft.userId) !== String(session.user_id)) {
              draft.error = msg("err_other_user");
              return putDraft(draft);
            }
            draft.status = "syncing";
            return putDraft(draft).then(renderQueue).then(function () { return sendDraft(draft, session); });
          });
        }, Promise.resolve());
      }, function () {
        return Promise.all(due.map(function (d) {
          d.status = "error";
          d.error = msg("err_network");
          return putDraft(d);
        }));
      });
    });
  }

  // One sync at a time, across tabs too (Web Locks); the server is idempotent anyway. A call
  // while one runs (the "online" event while a check made offline is still in flight) runs
  // again once it ends: otherwise the connection coming back waited for the next timer.
  var again = false;
  function syncAll() {
    if (!userId()) { return Promise.resolve(); }
    if (syncing) { again = true; return syncing; }
    var run = function () { return runSync().catch(function () { return null; }); };
    var locked = navigator.locks ? navigator.locks.request("sinfonia-offline-sync", run) : run();
    syncing = Promise.resolve(locked).then(renderQueue, renderQueue).then(function () {
      syncing = null;
      document.dispatchEvent(new CustomEvent("sinfonia:synced"));
      if (again) { again = false; return syncAll(); }
      return null;
    });
    return syncing;
  }
  window.sinfoniaOffline = {sync: syncAll, drafts: allDrafts};

  // ------------------------------------------------------------------ the delivery form
  function setError(form, input, text) {
    var wrap = input.closest(".field");
    if (!wrap) { return; }
    wrap.classList.toggle("has-error", Boolean(text));
    var id = input.id + "-offline-error";
    var old = document.getElementById(id);
    if (old) { old.remove(); }
    if (text) {
      var p = el("p", "error", text);
      p.id = id;
      wrap.appendChild(p);
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", ((input.getAttribute("aria-describedby") || "").replace(id, "") + " " + id).trim());
    } else {
      input.removeAttribute("aria-invalid");
    }
  }

  function shrink(file, maxPx) {
    if (file.type === "application/pdf") { return Promise.resolve(file); }
    if (!window.imageCompression) { return Promise.resolve(file); }
    return window.imageCompression(file, {maxWidthOrHeight: maxPx, useWebWorker: false, initialQuality: 0.8});
  }

  function setUpDeliveryForm() {
    var form = document.getElementById("offline-delivery");
    if (!form) { return; }
    var nojs = document.querySelector("[data-offline-nojs]");
    if (nojs) { nojs.hidden = true; }
    form.hidden = false;
    var dateInput = form.querySelector("[name=delivered_on]");
    var today = localToday();
    if (dateInput) { dateInput.value = today; dateInput.max = today; }  // the device's day, not the cached page's
    var songId = form.getAttribute("data-song-id");
    var status = form.querySelector("[data-form-status]");
    var editing = null;  // a refused or conflicting draft being corrected (?draft=ID)
    var wanted = new URLSearchParams(location.search).get("draft");
    allDrafts().then(function (drafts) {
      editing = drafts.filter(function (d) {
        return d.id === wanted && String(d.songId) === songId && d.status !== "synced" && d.status !== "syncing";
      })[0] || null;
      if (editing) {
        Object.keys(editing.fields).forEach(function (name) {
          var input = form.querySelector("[name=" + name + "]");
          if (input) { input.value = editing.fields[name]; }
        });
        status.textContent = msg("fixing", {when: editing.recordedAt.slice(0, 16).replace("T", " ")});
        return;
      }
      var open = drafts.filter(function (d) { return String(d.songId) === songId && OPEN.indexOf(d.status) !== -1; });
      if (open.length) { status.textContent = msg("already_saved"); }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var maxPx = parseInt(form.getAttribute("data-photo-max-px"), 10) || 2000;
      var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10) || 10485760;
      var errors = form.querySelector("[data-form-errors]");
      var ok = true;
      ["delivered_on", "product", "beneficiaries", "diagnosis"].forEach(function (name) {
        var input = form.querySelector("[name=" + name + "]");
        if (!input) { return; }  // diagnosis: only for a song still planned
        var empty = !input.value.trim();
        setError(form, input, empty ? msg("required") : null);
        ok = ok && !empty;
      });
      var filesInput = form.querySelector("[name=files]");
      var files = Array.prototype.slice.call(filesInput.files || []);
      var fileProblem = files.length || (editing && editing.files.length) ? null : msg("no_files");
      files.forEach(function (f) {
        if (["image/jpeg", "image/png", "application/pdf"].indexOf(f.type) === -1) { fileProblem = msg("bad_type", {name: f.name}); }
      });
      setError(form, filesInput, fileProblem);
      ok = ok && !fileProblem;
      if (!ok) {
        errors.textContent = msg("fix_fields");
        errors.hidden = false;
        var first = form.querySelector("[aria-invalid=true]");
        if (first) { first.focus(); }
        return;
      }
      errors.hidden = true;
      var recordedAt = editing ? editing.recordedAt : deviceNow();  // when it was made, not corrected
      status.textContent = msg("shrinking");
      var submit = form.querySelector("button[type=submit]");
      submit.disabled = true;
      Promise.all(files.map(function (f) {
        return shrink(f, maxPx).then(function (small) {
          if (small.size > maxBytes) { throw new Error(msg("too_big", {name: f.name})); }
          return {name: f.name, type: small.type || f.type, size: small.size, originalSize: f.size, blob: small};
        });
      })).then(function (stored) {
        var fields = {};
        ["delivered_on", "product", "beneficiaries", "contact_name", "contact_position", "contact_email",
          "contact_phone", "diagnosis", "action_plan"].forEach(function (name) {
          var input = form.querySelector("[name=" + name + "]");
          if (input) { fields[name] = input.value.trim(); }
        });
        if (editing && !stored.length) { stored = editing.files; }
        var draft = {
          id: editing ? editing.id : newId(),
          userId: userId(),
          songId: parseInt(songId, 10),
          songVersion: editing && editing.conflict ? editing.conflict.current_version :
            (editing ? editing.songVersion : parseInt(form.getAttribute("data-song-version"), 10)),
          songTitle: form.getAttribute("data-song-title"),
          songUrl: form.getAttribute("data-song-url"),
          fields: fields,
          files: stored,
          fileCount: stored.length,
          fileBytes: stored.reduce(function (n, f) { return n + f.size; }, 0),
          recordedAt: recordedAt,
          status: "pending",
          error: null,
          attempts: 0
        };
        return putDraft(draft).then(function () {
          askPersistence();
          editing = null;
          form.reset();
          if (dateInput) { dateInput.value = localToday(); }
          status.textContent = msg("saved");
          return renderQueue();
        }).then(function () { return syncAll(); });
      }).catch(function (problem) {
        var quota = problem && problem.name === "QuotaExceededError";
        errors.textContent = quota ? msg("no_space") : (problem && problem.message) || msg("fix_fields");
        errors.hidden = false;
        status.textContent = "";
      }).then(function () { submit.disabled = false; });
    });
  }

  // ------------------------------------------------------------------ start
  function start() {
    registerWorker();
    setUpDeliveryForm();
    renderQueue().then(syncAll);
    window.addEventListener("online", function () { renderQueue(); syncAll(); });
    window.addEventListener("offline", renderQueue);
    window.setInterval(syncAll, RETRY_MS);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
