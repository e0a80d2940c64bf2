// Live updates: when the server says this workspace changed, fetch the page again and swap in
// its live regions. Without JavaScript the pages still work; they just do not update by themselves.
(function () {
  "use strict";
  // Only regions in the body: the marker this script sets on <html> must never count as one.
  function regions(doc) { return doc.body ? doc.body.querySelectorAll("[data-live]") : []; }
  if (!regions(document).length || !window.EventSource) return;
  var pending = null;
  var focusable = "a[href], button, input, select, textarea, [tabindex]";
  // Where the focus is, when it is in a region about to be swapped: which region, which control.
  function focusPath(current) {
    var active = document.activeElement;
    for (var i = 0; i < current.length; i++) {
      if (current[i].contains(active)) {
        return { region: i, index: Array.prototype.indexOf.call(current[i].querySelectorAll(focusable), active) };
      }
    }
    return null;
  }
  // Keeps a keyboard user's place: the same control in the fresh region takes the focus back.
  function refocus(region, index) {
    var control = index >= 0 ? region.querySelectorAll(focusable)[index] : null;
    if (control) control.focus({ preventScroll: true });
  }
  // Screen readers hear a short, polite note instead of the whole swapped region.
  var announcer = document.querySelector("[data-live-announce]");
  var quiet = null;
  function announce() {
    if (!announcer) return;
    announcer.textContent = "";
    clearTimeout(quiet);
    // Emptied first and filled a moment later, so that the same words are announced again.
    quiet = setTimeout(function () { announcer.textContent = announcer.dataset.liveAnnounce; }, 50);
  }
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
          // Nothing new (an event about something this page does not show): nothing to say.
          var same = Array.prototype.every.call(current, function (region, i) {
            return region.innerHTML === fresh[i].innerHTML;
          });
          if (same) return;
          var focus = focusPath(current);
          current.forEach(function (region, i) { region.replaceWith(fresh[i]); });
          if (focus) refocus(fresh[focus.region], focus.index);
          announce();
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
