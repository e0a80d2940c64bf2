// Live updates: when the server says this workspace changed, fetch the page again and swap in
// its live regions. Without JavaScript the pages still work; they just do not update by themselves.
(function () {
  "use strict";
  if (!document.querySelector("[data-live]") || !window.EventSource) return;
  var pending = null;
  function refresh() {
    if (pending) return;
    pending = setTimeout(function () {
      pending = null;
      fetch(window.location.href, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (!html) return;
          var fresh = new DOMParser().parseFromString(html, "text/html").querySelectorAll("[data-live]");
          var current = document.querySelectorAll("[data-live]");
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
  document.documentElement.dataset.live = "connected";
})();
