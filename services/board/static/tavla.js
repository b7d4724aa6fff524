// Keeps the samordningstavla current without reloading: the server's event stream (/live) says
// when the board changed, carrying only a version number; the rows are then fetched again with
// the page's own filters (/rader) and swapped in. Time-based alerts change without any event,
// so the rows are fetched every minute as well.
(function () {
  "use strict";
  var table = document.getElementById("tavla");
  var rows = document.getElementById("rader");
  var status = document.getElementById("status");
  if (!table || !rows || !window.fetch) { return; }

  var REFRESH_MS = 60000;
  var busy = false;
  var again = false;

  function say(text) { if (status) { status.textContent = text; } }

  function clock() {
    var now = new Date();
    return ("0" + now.getHours()).slice(-2) + ":" + ("0" + now.getMinutes()).slice(-2) + ":" + ("0" + now.getSeconds()).slice(-2);
  }

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch("/rader" + window.location.search, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.status === 401 || response.status === 403) { window.location.reload(); return null; }
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) {
        if (html === null) { return; }
        rows.innerHTML = html;
        say("Uppdaterad " + clock() + ".");
      })
      .catch(function () { say("Kunde inte uppdatera " + clock() + ". Försöker igen."); })
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  if (window.EventSource) {
    var live = new EventSource("/live?v=" + encodeURIComponent(table.getAttribute("data-version") || ""));
    live.onmessage = refresh;
    live.onerror = function () {
      if (live.readyState === EventSource.CLOSED) { say("Direktuppdatering avbruten; tavlan uppdateras varje minut."); }
    };
  }
  window.setInterval(refresh, REFRESH_MS);
})();
