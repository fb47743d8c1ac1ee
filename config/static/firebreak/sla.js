/* Firebreak response-time targets: countdowns that tick every second, moments shown in the viewer's
   time zone (the server writes them in its own as a fallback), the queue's "Due before" picker in
   local time, and the incident page's target card refreshed while the tab is visible. */
(function () {
  "use strict";

  var LOCALE = "en-GB"; // the wording of the rest of the interface: "16 Nov 2026, 11:00"
  var ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var FORMATS = {
    datetime: new Intl.DateTimeFormat(LOCALE, { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" }),
    short: new Intl.DateTimeFormat(LOCALE, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" }),
    time: new Intl.DateTimeFormat(LOCALE, { hour: "2-digit", minute: "2-digit" }),
    weekdayTime: new Intl.DateTimeFormat(LOCALE, { weekday: "short", hour: "2-digit", minute: "2-digit" }),
    date: new Intl.DateTimeFormat(LOCALE, { day: "numeric", month: "short" }),
    full: new Intl.DateTimeFormat(LOCALE, {
      weekday: "short", day: "numeric", month: "short", year: "numeric",
      hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short"
    })
  };
  var DAY_MS = 86400000;

  // The server's clock, not the viewer's, decides what is due: correct for a browser clock that is off.
  var skewMs = 0;
  function measureSkew() {
    var el = document.querySelector("[data-server-now]");
    var server = el ? Date.parse(el.getAttribute("data-server-now")) : NaN;
    if (!isNaN(server) && Math.abs(server - Date.now()) > 2000) skewMs = server - Date.now();
  }
  function now() { return Date.now() + skewMs; }

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  // The same wording as incidents/presenters.py (countdown_text, since_text).
  function countdownText(seconds) {
    var left = Math.max(0, Math.floor(seconds));
    var days = Math.floor(left / 86400);
    var hours = Math.floor((left % 86400) / 3600);
    var minutes = Math.floor((left % 3600) / 60);
    var secs = left % 60;
    if (days) return days + "d " + hours + "h";
    if (hours) return hours + "h " + pad(minutes) + "m";
    if (minutes) return minutes + "m " + pad(secs) + "s";
    return secs + "s";
  }
  function sinceText(seconds) {
    var ago = Math.max(0, Math.floor(seconds));
    if (ago < 60) return "just now";
    if (ago < 3600) return Math.floor(ago / 60) + " min ago";
    if (ago < 48 * 3600) return Math.floor(ago / 3600) + " h ago";
    return Math.floor(ago / 86400) + " d ago";
  }

  function tick() {
    var at = now();
    document.querySelectorAll(".sla-countdown[data-countdown]").forEach(function (el) {
      var moment = Date.parse(el.getAttribute("data-at"));
      if (isNaN(moment)) return;
      var seconds = (moment - at) / 1000;
      var text = el.getAttribute("data-countdown") === "since"
        ? "breached " + sinceText(-seconds)
        : (seconds > 0 ? countdownText(seconds) + " left" : "due now");
      if (el.textContent !== text) el.textContent = text;
    });
  }

  function startOfDay(date) {
    return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
  }
  function nearby(date) {
    var days = Math.round((startOfDay(date) - startOfDay(new Date(now()))) / DAY_MS);
    if (days === 0) return FORMATS.time.format(date);
    if (days > 0 && days < 7) return FORMATS.weekdayTime.format(date);
    return FORMATS.date.format(date);
  }

  function localize() {
    document.querySelectorAll("time[data-local]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) return;
      var style = el.getAttribute("data-local");
      el.textContent = style === "nearby" ? nearby(date) : (FORMATS[style] || FORMATS.datetime).format(date);
      var title = FORMATS.full.format(date);
      el.title = el.classList.contains("sla-deadline") ? "Due " + title : title;
    });
    document.querySelectorAll("[data-tz-note]").forEach(function (el) {
      el.textContent = "Times in " + ZONE.replace(/_/g, " ");
    });
  }

  // "Due before": the picker shows local wall-clock time; the address carries the exact moment.
  function asLocalInput(date) {
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) +
      "T" + pad(date.getHours()) + ":" + pad(date.getMinutes());
  }
  function fillDueInputs() {
    document.querySelectorAll("input[data-local-input][data-moment]").forEach(function (input) {
      var date = new Date(input.getAttribute("data-moment"));
      if (!isNaN(date.getTime())) input.value = asLocalInput(date);
    });
  }
  document.addEventListener("htmx:configRequest", function (evt) {
    var data = evt.detail.formData;
    if (evt.detail.verb !== "get" || !data || !data.has("due_before")) return;
    var typed = data.get("due_before");
    // A plain date and time (no offset) is the viewer's local time.
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(typed)) return;
    var date = new Date(typed);
    if (!isNaN(date.getTime())) data.set("due_before", date.toISOString());
  });

  // The incident page's targets refresh on their own; a hidden tab skips it and catches up when shown.
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var elt = evt.detail.elt;
    if (elt && elt.id === "sla-clocks" && document.hidden) evt.preventDefault();
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && document.getElementById("sla-clocks")) htmx.trigger(document.body, "sla-refresh");
  });

  // Swapped-in rows and cards arrive with the server's text; rewrite them before anyone reads it.
  document.addEventListener("htmx:afterSettle", function () {
    localize();
    tick();
  });

  document.addEventListener("DOMContentLoaded", function () {
    measureSkew();
    localize();
    fillDueInputs();
    tick();
    window.setInterval(tick, 1000);
  });
})();
