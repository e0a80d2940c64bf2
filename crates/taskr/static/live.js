// Live updates: when the server says this workspace changed, fetch the page again and swap in
// its live regions. Without JavaScript the pages still work; they just do not update by themselves.
(function () {
  "use strict";
  // Only regions in the body: the marker this script sets on <html> must never count as one.
  function regions(doc) { return doc.body ? doc.body.querySelectorAll("[data-live]") : []; }
  if (!regions(document).length || !window.EventSource) return;
  var pending = null;
  function refresh() {
    if (pending) return;
    pending = setTimeout(function () {
      pending = null;
      fetch(window.location.href, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (!html) return;
          var fresh = regions(new DOMParser().parseFromString(html, "text/html"));
          var current = regions(document);
          if (fresh.length !== current.length) return;
          current.forEach(function (region, i) { region.replaceWith(fresh[i]); });
        })
        .catch(function () {});
    }, 100);
  }
  var source = new EventSource("/live");
  source.addEventListener("tasks", refresh);
  source.addEventListener("activity", refresh);
  source.addEventListener("health", refresh);
  // For people and tests to see that the page follows changes (not a region: see `regions`).
  document.documentElement.dataset.liveStream = "connected";
})();
