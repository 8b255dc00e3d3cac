/* Sales pages: a select that submits its form when changed (the board's stage select on a
   phone, the filters), and drag and drop of a board card onto another stage on a desktop.
   Both submit the card's own form, so every move goes through the same server path
   (deal_stage_change); a lost stage answers with the lost-reason form. No inline script:
   the CSP forbids it. */
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    var select = event.target.closest && event.target.closest("select[data-autosubmit]");
    if (select && select.form) select.form.requestSubmit ? select.form.requestSubmit() : select.form.submit();
  });

  var dragged = null;

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".sales-card[draggable]");
    if (!card) return;
    dragged = card;
    card.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-deal"));
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("is-dragging");
    dragged = null;
    document.querySelectorAll(".sales-col.is-over").forEach(function (c) { c.classList.remove("is-over"); });
  });

  function column(event) {
    return event.target.closest && event.target.closest(".sales-col[data-stage]");
  }

  document.addEventListener("dragover", function (event) {
    var col = column(event);
    if (!col || !dragged) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    col.classList.add("is-over");
  });

  document.addEventListener("dragleave", function (event) {
    var col = column(event);
    if (col && !col.contains(event.relatedTarget)) col.classList.remove("is-over");
  });

  document.addEventListener("drop", function (event) {
    var col = column(event);
    if (!col || !dragged) return;
    event.preventDefault();
    var form = dragged.querySelector("form.sales-move");
    var select = form && form.querySelector("select[name=stage]");
    if (!select) return;
    var stage = col.getAttribute("data-stage");
    if (select.value === stage) return;
    select.value = stage;
    form.submit();
  });
})();
