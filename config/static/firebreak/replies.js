/* Firebreak replies: the composer's presence heartbeat only while someone writes, FAQ text inserted at
   the cursor, a question before a template replaces typed text, live refreshes that never throw away a
   form in use, and the #reply-N address honoured when the page opens (the reply takes the focus). */
(function () {
  "use strict";

  function replyBody() {
    return document.getElementById("reply-body");
  }

  function isWriting() {
    var composer = document.getElementById("composer");
    var body = replyBody();
    if (!composer || !body) return false;
    return composer.contains(document.activeElement) || body.value.trim() !== "";
  }

  // A form is in use when it has focus in a field, typed text, or an open edit box.
  function inUse(container) {
    if (!container) return false;
    var active = document.activeElement;
    if (active && container.contains(active) && /^(TEXTAREA|INPUT|SELECT)$/.test(active.tagName)) return true;
    if (container.querySelector("details.reply-edit[open]")) return true;
    return Array.prototype.some.call(container.querySelectorAll("textarea, input[type=url], input[type=text]"), function (field) {
      return field.value !== field.defaultValue;
    });
  }

  document.addEventListener("htmx:confirm", function (evt) {
    var elt = evt.detail.elt;
    // The heartbeat says "still writing": silent while the composer is idle and empty.
    if (elt.id === "composer-heartbeat" && !isWriting()) {
      evt.preventDefault();
      return;
    }
    // Filling in a template replaces the reply's text: ask first when the user wrote their own.
    if (elt.id === "composer-fill") {
      var body = replyBody();
      var typed = body ? body.value.trim() : "";
      var fromTemplate = body ? (body.getAttribute("data-template-text") || "").trim() : "";
      if (typed && typed !== fromTemplate) {
        evt.preventDefault();
        if (window.confirm("Replace the text you wrote with the filled-in template?")) evt.detail.issueRequest(true);
      }
    }
  });

  // Live refreshes skip a list whose forms are in use; the next refresh brings the change.
  var refocusId = null;
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var target = evt.detail.target;
    if (!target || target.id !== "reply-list") return;
    if (inUse(target)) {
      evt.detail.shouldSwap = false;
      return;
    }
    var active = document.activeElement;
    refocusId = active && active.id && target.contains(active) ? active.id : null;
  });
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var target = evt.detail.target;
    var config = evt.detail.requestConfig;
    if (!target || target.id !== "approval-rows" || !config || config.verb !== "get") return;
    if (inUse(target)) {
      evt.detail.shouldSwap = false;
      return;
    }
    var active = document.activeElement;
    refocusId = active && active.id && target.contains(active) ? active.id : null;
  });

  document.addEventListener("htmx:afterSettle", function () {
    if (!refocusId) return;
    var again = document.getElementById(refocusId);
    refocusId = null;
    if (again) again.focus({ preventScroll: true });
  });

  // The page opened at #reply-12 (from a notification): the reply takes the focus, so the keyboard
  // starts there too.
  document.addEventListener("DOMContentLoaded", function () {
    if (!/^#reply-\d+$/.test(window.location.hash)) return;
    var reply = document.getElementById(window.location.hash.slice(1));
    if (!reply) return;
    reply.setAttribute("tabindex", "-1");
    reply.scrollIntoView({ block: "start" });
    reply.focus({ preventScroll: true });
  });

  // "Insert into reply": the FAQ's text goes in at the cursor (or at the end), then the checks run.
  var caretKnown = false;
  document.addEventListener("focusin", function (evt) {
    if (evt.target === replyBody()) caretKnown = true;
  });
  document.addEventListener("click", function (evt) {
    var button = evt.target instanceof Element ? evt.target.closest("[data-insert-text]") : null;
    var body = replyBody();
    if (!button || !body) return;
    var text = button.getAttribute("data-insert-text");
    var start = caretKnown ? body.selectionStart : body.value.length;
    var end = caretKnown ? body.selectionEnd : body.value.length;
    var before = body.value.slice(0, start);
    var after = body.value.slice(end);
    var gap = before && !/\s$/.test(before) ? " " : "";
    body.value = before + gap + text + after;
    var caret = (before + gap + text).length;
    body.focus();
    body.setSelectionRange(caret, caret);
    htmx.trigger(body, "reply-changed");
  });
})();
