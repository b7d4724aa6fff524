// The ops dashboard reloads itself every 30 seconds, and the user can stop that (WCAG 2.2.1,
// timing adjustable: a meta refresh cannot be paused). The choice is kept for the browser tab.
(function () {
  "use strict";
  var INTERVAL_MS = 30000;
  var KEY = "samordna.drift.pausad";
  var button = document.getElementById("pausa");
  var text = document.getElementById("uppdatering-text");
  if (!button || !text) { return; }
  var timer = null;
  var stoppedHere = false; // when the browser keeps no session storage

  function paused() {
    try { return window.sessionStorage.getItem(KEY) === "ja"; } catch (e) { return stoppedHere; }
  }

  function remember(value) {
    stoppedHere = value;
    try { window.sessionStorage.setItem(KEY, value ? "ja" : "nej"); } catch (e) { /* kept for this page only */ }
  }

  function show() {
    var stopped = paused();
    button.setAttribute("aria-pressed", stopped ? "true" : "false");
    text.textContent = stopped ? "Automatisk uppdatering är pausad." : "Sidan uppdateras var 30:e sekund.";
    if (timer !== null) { window.clearTimeout(timer); timer = null; }
    if (!stopped) { timer = window.setTimeout(function () { window.location.reload(); }, INTERVAL_MS); }
  }

  button.hidden = false;
  button.addEventListener("click", function () { remember(!paused()); show(); });
  show();
})();
