// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // Copy buttons: <button data-copy="#id"> copies the text or value of #id.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.value !== undefined ? source.value : source.textContent).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    });
  });

  // Forms with data-confirm ask before submitting (key rotation).
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });

  // Live run state on a group page: poll while a run is in flight; when a state changes, swap in the
  // server-rendered runs section so the timeline, attempts and diff stay exactly as the page draws them.
  var group = document.querySelector("[data-runs-url]");
  if (!group) return;
  var url = group.getAttribute("data-runs-url");
  // The group page itself; not location.href, which may be the address of a refused POST.
  var pageUrl = group.getAttribute("data-page-url");
  var POLL_MS = 3000;

  function renderedStates() {
    var states = {};
    document.querySelectorAll("#runs [data-run-state]").forEach(function (badge) {
      states[badge.getAttribute("data-run-state")] = badge.textContent.trim();
    });
    return states;
  }

  function refreshRuns(announcement) {
    return fetch(pageUrl, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        ["#runs", ".actions", "[data-group-status]"].forEach(function (selector) {
          var current = document.querySelector(selector), next = fresh.querySelector(selector);
          if (current && next) current.replaceWith(next);
        });
        var live = document.querySelector("[data-live-status]");
        if (live) live.textContent = announcement;
      });
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (data) {
        var shown = renderedStates();
        var changed = data.runs.filter(function (run) { return shown[String(run.id)] !== run.label; });
        var busy = data.runs.some(function (run) { return !run.final; });
        var next = changed.length
          ? refreshRuns(changed.map(function (run) { return "Run #" + run.id + ": " + run.label; }).join(". "))
          : Promise.resolve();
        next.then(function () { if (busy) setTimeout(poll, POLL_MS); });
      })
      .catch(function () { /* logged out or offline: stop polling; a reload shows the latest state */ });
  }

  setTimeout(poll, POLL_MS);
})();
