/* Rapport as an installable app: registers the service worker, and keeps the quick logs
 * ("Log" on My day: a call or meeting and its note) written without a connection.
 *
 * Every log gets a key made here, on the device, when it is saved. It is put in the
 * outbox (localStorage) before it is sent, and taken out only when the server answered;
 * a log sent again (a retry, a second tab, the connection back) carries the same key, and
 * the server keeps one entry per key (decision 0022). No inline script: the CSP forbids it. */
(function () {
  "use strict";
  var OUTBOX = "rapport.outbox.v1";

  if ("serviceWorker" in navigator) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
    });
  }

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) return "dev-" + window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return "dev-" + Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function load() {
    try {
      var items = JSON.parse(window.localStorage.getItem(OUTBOX) || "[]");
      return Array.isArray(items) ? items : [];
    } catch (e) {
      return [];
    }
  }

  function save(items) {
    window.localStorage.setItem(OUTBOX, JSON.stringify(items));
    showQueue(items);
  }

  function remove(key) {
    save(load().filter(function (item) { return item.key !== key; }));
  }

  function csrfToken() {
    var holder = document.body && document.body.getAttribute("hx-headers");
    if (!holder) return "";
    try { return JSON.parse(holder)["X-CSRFToken"] || ""; } catch (e) { return ""; }
  }

  function formFor(key) {
    return document.querySelector('form[data-offline-log] input[name="key"][value="' + key + '"]');
  }

  function status(key, text, done) {
    var input = formFor(key);
    if (!input) return;
    var form = input.form;
    var box = form.querySelector(".quicklog-status");
    if (box) box.textContent = text;
    if (done) {
      var item = form.closest(".dayitem");
      if (item) item.classList.add("is-done", "is-logged");
      var details = form.closest("details");
      if (details) {
        details.removeAttribute("open");
        var summary = details.querySelector("summary");
        if (summary) summary.textContent = "Logged ✓";
      }
      form.querySelectorAll("button, textarea, input").forEach(function (el) { el.disabled = true; });
    }
  }

  function showQueue(items) {
    var n = (items || load()).length;
    document.querySelectorAll("[data-offline-queue]").forEach(function (box) {
      box.hidden = n === 0;
      box.textContent = n === 1 ? "1 log is waiting on this device to be sent." :
        n + " logs are waiting on this device to be sent.";
    });
  }

  var flushing = false;

  function flush() {
    if (flushing) return Promise.resolve();
    flushing = true;
    var items = load();
    var token = csrfToken();
    function next(i) {
      if (i >= items.length) return Promise.resolve();
      var item = items[i];
      var body = new URLSearchParams();
      item.fields.forEach(function (pair) {
        if (pair[0] === "csrfmiddlewaretoken" && token) return;
        body.append(pair[0], pair[1]);
      });
      var headers = { "Accept": "application/json" };
      headers["X-CSRFToken"] = token || item.csrf || "";
      return fetch(item.action, {
        method: "POST", body: body, headers: headers, credentials: "same-origin",
        redirect: "manual"
      }).then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (response.ok && type.indexOf("application/json") !== -1) {
          remove(item.key);
          status(item.key, "Logged.", true);
          return next(i + 1);
        }
        if (response.status >= 400 && response.status < 500 && type.indexOf("application/json") !== -1) {
          // Refused for good (no longer allowed, the task is gone, invalid): not sent again.
          remove(item.key);
          return response.json().catch(function () { return {}; }).then(function (problem) {
            status(item.key, "Not saved: " + (problem.title || ("error " + response.status)), false);
            return next(i + 1);
          });
        }
        // Logged out (a redirect), a stale CSRF token (an HTML 403), or the server is
        // struggling: kept, sent later.
        status(item.key, response.type === "opaqueredirect" || response.status === 403 ?
          "Kept on this device: log in again (or reload) to send it." : "Kept on this device; will retry.", false);
        return null;
      }, function () {
        status(item.key, "Saved on this device; it is sent when you are back online.", false);
        return null;
      });
    }
    return next(0).then(function () { flushing = false; showQueue(); }, function () { flushing = false; });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-offline-log]")) return;
    event.preventDefault();
    var keyInput = form.querySelector('input[name="key"]');
    if (!keyInput.value) keyInput.value = newKey();
    keyInput.setAttribute("value", keyInput.value);
    var key = keyInput.value;
    if (load().some(function (item) { return item.key === key; })) {
      flush();  // already in the outbox: a second tap on Save sends nothing new
      return;
    }
    var fields = [];
    new FormData(form).forEach(function (value, name) { fields.push([name, String(value)]); });
    var items = load();
    items.push({ key: key, action: form.action, fields: fields, at: new Date().toISOString(), csrf: csrfToken() });
    save(items);
    status(key, "Saving…", false);
    flush();
  });

  // Tap an outcome, then type: the note field takes the focus.
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.name === "outcome" && input.form && input.form.matches("form[data-offline-log]")) {
      var note = input.form.querySelector("textarea[name=note]");
      if (note) note.focus();
    }
  });

  function banner() {
    document.querySelectorAll("[data-offline-banner]").forEach(function (box) {
      box.hidden = navigator.onLine;
    });
  }

  window.addEventListener("online", function () { banner(); flush(); });
  window.addEventListener("offline", banner);
  document.addEventListener("DOMContentLoaded", function () {
    banner();
    showQueue();
    if (navigator.onLine) flush();
  });
})();
