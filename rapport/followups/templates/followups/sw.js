/* Rapport's service worker (served by followups.views.service_worker at /sw.js).
 * It caches the app's shell only (CSS, scripts, icons, the offline page), never a page
 * with customer data: pages always come from the network, and when the network is not
 * there a navigation gets the offline page. Logs written offline are kept by the page
 * (js/pwa.js), not here. */
"use strict";
var CACHE = "rapport-shell-{{ version }}";
var SHELL = {{ shell_json|safe }};
var OFFLINE = "{{ offline_url }}";

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) { return cache.addAll(SHELL); }).then(function () {
      return self.skipWaiting();
    })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) {
        return n.indexOf("rapport-shell-") === 0 && n !== CACHE;
      }).map(function (n) { return caches.delete(n); }));
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (SHELL.indexOf(url.pathname) !== -1) {
    event.respondWith(caches.match(url.pathname).then(function (hit) {
      return hit || fetch(request);
    }));
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(function () {
      return caches.match(OFFLINE);
    }));
  }
});
