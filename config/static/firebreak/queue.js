/* Firebreak triage queue: keyboard shortcuts (j/k, Enter/o, a, x, /, ?), a row cursor and ticked
   rows that survive live refreshes (kept by incident id), and the bulk bar's count. */
(function () {
  "use strict";

  var selectedId = null; // the j/k cursor
  var ticked = new Set(); // rows ticked for bulk actions

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#queue-rows tr.queue-row"));
  }

  function selectedRow() {
    return selectedId ? document.getElementById("row-" + selectedId) : null;
  }

  function paint() {
    rows().forEach(function (row) {
      var isSelected = row.dataset.id === selectedId;
      row.classList.toggle("is-selected", isSelected);
      row.setAttribute("aria-selected", isSelected ? "true" : "false");
      var box = row.querySelector(".row-check");
      if (box) box.checked = ticked.has(row.dataset.id);
    });
    updateBulk();
  }

  function select(row, focus) {
    selectedId = row ? row.dataset.id : null;
    paint();
    if (!row) return;
    if (focus) {
      var link = row.querySelector(".row-link");
      if (link) link.focus({ preventScroll: true });
    }
    row.scrollIntoView({ block: "nearest" });
  }

  function move(delta) {
    var all = rows();
    if (!all.length) return;
    var index = all.findIndex(function (row) { return row.dataset.id === selectedId; });
    if (index === -1) index = delta > 0 ? 0 : all.length - 1;
    else index = Math.min(all.length - 1, Math.max(0, index + delta));
    select(all[index], true);
  }

  function updateBulk() {
    var visible = new Set(rows().map(function (row) { return row.dataset.id; }));
    var count = 0;
    ticked.forEach(function (id) { if (visible.has(id)) count += 1; });
    var label = document.getElementById("bulk-count");
    if (label) label.textContent = count + " selected";
    var bar = document.getElementById("bulk-form");
    if (bar) {
      bar.classList.toggle("has-selection", count > 0);
      bar.querySelectorAll("[data-bulk-action]").forEach(function (button) { button.disabled = count === 0; });
    }
    var all = document.getElementById("check-all");
    if (all) {
      all.checked = count > 0 && count === visible.size;
      all.indeterminate = count > 0 && count < visible.size;
    }
  }

  function isTyping(el) {
    if (!(el instanceof Element)) return false;
    if (el.isContentEditable || el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
    if (el.tagName !== "INPUT") return false;
    return ["checkbox", "radio", "button", "submit", "reset"].indexOf(el.type) === -1;
  }

  function openHelp() {
    var dialog = document.getElementById("shortcuts-help");
    if (dialog && !dialog.open) dialog.showModal();
  }

  function assignSelected() {
    var row = selectedRow();
    if (!row) {
      window.firebreakToast("info", "Select an incident first (j / k).");
      return;
    }
    var form = row.querySelector(".assign-me-form");
    if (form) form.requestSubmit();
    else if (row.querySelector(".assignee.is-me")) window.firebreakToast("info", "#" + row.dataset.id + " is already yours.");
    else window.firebreakToast("error", "Your role does not allow taking incidents.");
  }

  function toggleTick(row) {
    var box = row && row.querySelector(".row-check");
    if (!box) return;
    box.checked = !box.checked;
    box.dispatchEvent(new Event("change", { bubbles: true }));
  }

  document.addEventListener("keydown", function (evt) {
    if (evt.ctrlKey || evt.metaKey || evt.altKey) return;
    var dialog = document.getElementById("shortcuts-help");
    if (dialog && dialog.open) {
      if (evt.key === "?") { dialog.close(); evt.preventDefault(); }
      return;
    }
    var target = evt.target;
    if (isTyping(target)) {
      if (evt.key === "Escape" && target.id === "filter-q") {
        evt.preventDefault(); // leave the box, keep the search (a search box clears itself on Esc)
        target.blur();
        var row = selectedRow();
        if (row) select(row, true);
      }
      return;
    }
    var onControl = target instanceof Element && target.closest("a, button");
    switch (evt.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "o":
      case "Enter": {
        if (evt.key === "Enter" && onControl) return; // the link or button does its own thing
        var open = selectedRow();
        if (!open) return;
        window.location.assign(open.dataset.href);
        break;
      }
      case "a": assignSelected(); break;
      case "x": toggleTick(selectedRow()); break;
      case "/": {
        var search = document.getElementById("filter-q");
        if (!search) return;
        search.focus();
        search.select();
        break;
      }
      case "?": openHelp(); break;
      default: return;
    }
    evt.preventDefault();
  });

  document.addEventListener("change", function (evt) {
    var el = evt.target;
    if (!(el instanceof HTMLInputElement)) return;
    if (el.classList.contains("row-check")) {
      if (el.checked) ticked.add(el.value);
      else ticked.delete(el.value);
      updateBulk();
    } else if (el.id === "check-all") {
      rows().forEach(function (row) {
        if (el.checked) ticked.add(row.dataset.id);
        else ticked.delete(row.dataset.id);
      });
      paint();
    }
  });

  document.addEventListener("click", function (evt) {
    var target = evt.target;
    if (!(target instanceof Element)) return;
    if (target.closest("[data-shortcuts-open]")) { openHelp(); return; }
    var row = target.closest("tr.queue-row");
    if (row && !target.closest("a, button, input, select, label, form")) select(row, false);
  });

  // Live refresh: skip a round while someone is changing a row or a change is on its way, so neither
  // their choice nor the answer is swept away by an older copy of the list.
  var changesInFlight = 0;
  function isChange(elt) {
    return elt && elt.id !== "queue-rows" && (elt.closest("#queue-rows") || elt.id === "bulk-form");
  }
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var elt = evt.detail.elt;
    var tbody = document.getElementById("queue-rows");
    if (isChange(elt)) {
      changesInFlight += 1;
      if (tbody) htmx.trigger(tbody, "htmx:abort");
      return;
    }
    if (!elt || elt.id !== "queue-rows") return;
    var active = document.activeElement;
    // A hidden tab does not poll; it refreshes once when it is shown again (below).
    var busy = document.hidden || changesInFlight > 0 || elt.querySelector("form.inline-form.is-dirty") ||
      (active && elt.contains(active) && active.tagName === "SELECT");
    if (busy) evt.preventDefault();
  });
  document.addEventListener("htmx:afterRequest", function (evt) {
    if (isChange(evt.detail.elt)) changesInFlight = Math.max(0, changesInFlight - 1);
  });

  document.addEventListener("htmx:afterSettle", function (evt) {
    var target = evt.detail.target;
    if (!target || !(target.id === "queue-rows" || target.id === "queue-results" || target.matches("tr.queue-row"))) return;
    if (target.id === "queue-results") {
      var visible = new Set(rows().map(function (row) { return row.dataset.id; }));
      ticked.forEach(function (id) { if (!visible.has(id)) ticked.delete(id); });
    }
    paint();
  });

  document.addEventListener("htmx:afterRequest", function (evt) {
    if (evt.detail.elt && evt.detail.elt.id === "bulk-form" && evt.detail.xhr.status < 300) {
      ticked.clear();
      paint();
    }
  });

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && document.getElementById("queue-rows")) htmx.trigger(document.body, "queue-refresh");
  });

  document.addEventListener("DOMContentLoaded", paint);
})();
