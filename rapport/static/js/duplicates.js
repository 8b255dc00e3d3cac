/* Duplicates: the keyboard of the steward's queue and merge screen. No inline scripts
   (the CSP forbids them); everything works without this file, only slower.

   Queue:        j / ↓ next group, k / ↑ previous, Enter opens it.
   Merge screen: m merge, n not a duplicate, s skip, 1–9 the record to keep. */
(function () {
  "use strict";

  var NOT_TYPING = ["radio", "checkbox", "button", "submit", "reset"];

  // Keys typed into a field are text, not commands.
  function typing(target) {
    if (!target || !target.tagName) return false;
    if (target.isContentEditable) return true;
    var tag = target.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag === "INPUT") return NOT_TYPING.indexOf((target.type || "").toLowerCase()) < 0;
    return false;
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-dup-row]"));
  }

  function move(step) {
    var list = rows();
    if (!list.length) return false;
    var current = -1;
    list.forEach(function (row, i) { if (row.classList.contains("dup-current")) current = i; });
    var next = current < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, current + step));
    list.forEach(function (row) { row.classList.remove("dup-current"); });
    list[next].classList.add("dup-current");
    var link = list[next].querySelector("[data-dup-open]");
    if (link) link.focus();
    list[next].scrollIntoView({ block: "nearest" });
    return true;
  }

  function open() {
    var link = document.querySelector("[data-dup-row].dup-current [data-dup-open]");
    if (!link || document.activeElement === link) return false; // a focused link opens itself
    link.click();
    return true;
  }

  function press(key) {
    var button = document.querySelector('[data-shortcut="' + key + '"]');
    if (!button || button.disabled) return false;
    button.click();
    return true;
  }

  // Choosing the record to keep reloads the form (htmx listens for "change").
  function keep(n) {
    var radio = document.querySelector('input[data-survivor-key="' + n + '"]');
    if (!radio) return false;
    if (!radio.checked) {
      radio.checked = true;
      radio.dispatchEvent(new Event("change", { bubbles: true }));
    }
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) return;
    var key = event.key;
    var done = false;
    if (rows().length) {
      if (key === "j" || key === "ArrowDown") done = move(1);
      else if (key === "k" || key === "ArrowUp") done = move(-1);
      else if (key === "Enter") done = open();
    }
    if (!done && (key === "m" || key === "n" || key === "s")) done = press(key);
    if (!done && /^[1-9]$/.test(key)) done = keep(key);
    if (done) event.preventDefault();
  });
})();
