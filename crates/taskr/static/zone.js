// Reports the browser's time zone once, for a user who has not chosen one, so that their pages
// show times where they are; then shows the page again in that zone. Without JavaScript (or
// if this fails) pages stay in UTC until the user picks a zone in Settings.
// A person who has already moved the focus keeps their place: the zone shows from the next page.
(function () {
  "use strict";
  var script = document.currentScript;
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone || !script || !window.fetch) return;
  var body = new URLSearchParams();
  body.set("csrf_token", script.dataset.csrf || "");
  body.set("time_zone", zone);
  fetch("/settings/time-zone", { method: "POST", credentials: "same-origin", body: body })
    .then(function (response) {
      var untouched = !document.activeElement || document.activeElement === document.body;
      if (response.status === 200 && untouched) window.location.reload();
    })
    .catch(function () {});
})();
