/* Rapport: the little behaviour the pages need. No inline scripts (the CSP forbids them). */
(function () {
  "use strict";

  // Forms that ask before they act: <form data-confirm="Really?">
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute && form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // Copy buttons: <button data-copy="#input-id">
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var input = document.querySelector(button.getAttribute("data-copy"));
    if (!input) return;
    input.select();
    if (navigator.clipboard) {
      navigator.clipboard.writeText(input.value).then(function () { button.textContent = "Copied"; });
    }
  });

  // The header search's dropdown closes on Escape and on a click elsewhere.
  function closeDropdown() {
    var box = document.getElementById("search-dropdown");
    if (box) box.innerHTML = "";
  }
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      closeDropdown();
      document.querySelectorAll("details.navmore[open]").forEach(function (d) { d.removeAttribute("open"); });
    }
  });
  document.addEventListener("click", function (event) {
    if (!event.target.closest(".global-search")) closeDropdown();
    if (!event.target.closest("details.navmore")) {
      document.querySelectorAll("details.navmore[open]").forEach(function (d) { d.removeAttribute("open"); });
    }
  });

  // An htmx request the server refused (403, 404, 500) says so instead of doing nothing.
  document.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("htmx-error");
    if (!box) return;
    var status = event.detail.xhr.status;
    box.textContent = status === 403 ? "Your role may not do that." :
      status === 404 ? "That record no longer exists, or you may not see it." :
      "Something went wrong (" + status + "). Reload the page and try again.";
    box.hidden = false;
  });
  document.addEventListener("htmx:sendError", function () {
    var box = document.getElementById("htmx-error");
    if (!box) return;
    box.textContent = "Could not reach the server. Check the connection and try again.";
    box.hidden = false;
  });
})();
