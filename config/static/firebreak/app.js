/* Firebreak: behaviour shared by every page: toasts, htmx error handling, inline forms that show
   their Save button once changed, copy buttons and confirmations. No inline scripts anywhere, so a
   strict Content-Security-Policy can forbid them. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  var MAX_TOASTS = 4;
  var TOAST_MS = 6000;

  function flashArea() {
    return document.getElementById("flash");
  }

  function toast(level, text) {
    var area = flashArea();
    if (!area) return;
    var same = Array.prototype.some.call(area.querySelectorAll(".toast-text"), function (el) {
      return el.textContent === text;
    });
    if (same) return;
    var box = document.createElement("div");
    box.className = "toast toast-" + level;
    box.setAttribute("role", level === "error" ? "alert" : "status");
    var span = document.createElement("span");
    span.className = "toast-text";
    span.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "\u00d7";
    box.appendChild(span);
    box.appendChild(close);
    area.appendChild(box);
  }
  window.firebreakToast = toast;

  function tidyToasts() {
    var area = flashArea();
    if (!area) return;
    var all = area.querySelectorAll(".toast");
    for (var i = 0; i < all.length - MAX_TOASTS; i++) all[i].remove();
    area.querySelectorAll(".toast:not(.toast-error):not([data-timed])").forEach(function (el) {
      el.setAttribute("data-timed", "1");
      window.setTimeout(function () { el.remove(); }, TOAST_MS);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var area = flashArea();
    if (area) {
      tidyToasts();
      new MutationObserver(tidyToasts).observe(area, { childList: true });
    }
  });

  document.addEventListener("click", function (evt) {
    var target = evt.target;
    if (!(target instanceof Element)) return;
    var close = target.closest(".toast-close");
    if (close) {
      close.closest(".toast").remove();
      return;
    }
    var copy = target.closest("[data-copy-target]");
    if (copy) {
      var input = document.querySelector(copy.getAttribute("data-copy-target"));
      if (!input) return;
      input.focus();
      input.select();
      var done = function () {
        copy.textContent = "Copied";
        window.setTimeout(function () { copy.textContent = "Copy"; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () {
          toast("info", "Press Ctrl+C (or \u2318C) to copy the selected secret.");
        });
      } else {
        toast("info", "Press Ctrl+C (or \u2318C) to copy the selected secret.");
      }
      return;
    }
    var closer = target.closest("[data-dialog-close]");
    if (closer) closer.closest("dialog").close();
  });

  document.addEventListener("focusin", function (evt) {
    var el = evt.target;
    if (el instanceof HTMLInputElement && el.hasAttribute("data-select-on-focus")) el.select();
  });

  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (form instanceof HTMLFormElement && form.hasAttribute("data-confirm")) {
      if (!window.confirm(form.getAttribute("data-confirm"))) evt.preventDefault();
    }
  }, true);

  // Inline forms (a select and its Save button): the button shows once the value differs.
  function syncDirty(form) {
    var dirty = Array.prototype.some.call(form.querySelectorAll("select"), function (select) {
      return Array.prototype.some.call(select.options, function (option) {
        return option.selected !== option.defaultSelected;
      });
    });
    form.classList.toggle("is-dirty", dirty);
  }
  ["change", "input"].forEach(function (name) {
    document.addEventListener(name, function (evt) {
      var form = evt.target instanceof Element ? evt.target.closest("form.inline-form") : null;
      if (form) syncDirty(form);
    });
  });

  document.addEventListener("htmx:beforeSwap", function (evt) {
    var xhr = evt.detail.xhr;
    // Error answers of ours carry HX-Retarget (to #flash): swap them so the message shows.
    if (xhr.status >= 400 && xhr.getResponseHeader("HX-Retarget")) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
    // A live refresh may have replaced the target while the request was out: swap into its successor.
    var target = evt.detail.target;
    if (target && target.id && !document.body.contains(target)) {
      var successor = document.getElementById(target.id);
      if (successor) evt.detail.target = successor;
    }
  });
  // With DEBUG on, django-htmx replaces the whole page with any 4xx answer; ours are toasts.
  window.addEventListener("htmx:beforeOnLoad", function (evt) {
    var xhr = evt.detail.xhr;
    if (xhr.status >= 400 && xhr.getResponseHeader("HX-Retarget")) evt.stopPropagation();
  }, true);
  document.addEventListener("htmx:responseError", function (evt) {
    toast("error", "Something went wrong (" + evt.detail.xhr.status + "). Reload the page and try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    toast("error", "Firebreak could not be reached. Check your connection; changes were not saved.");
  });

  // Filters send only the fields that are set, so pushed URLs stay short and shareable.
  document.addEventListener("htmx:configRequest", function (evt) {
    if (evt.detail.verb !== "get" || !evt.detail.formData) return;
    var data = evt.detail.formData;
    Array.from(data.keys()).forEach(function (key) {
      var kept = data.getAll(key).filter(function (value) { return value !== ""; });
      data.delete(key);
      kept.forEach(function (value) { data.append(key, value); });
    });
  });

  // Timed refreshes (hx-trigger "every ...") have no triggering event: mark them, so a tab left open
  // does not keep its session alive past the idle limit.
  document.addEventListener("htmx:configRequest", function (evt) {
    if (!evt.detail.triggeringEvent) evt.detail.headers["X-Firebreak-Background"] = "1";
  });
})();
