// The command centre refreshes itself without a reload: every 30 seconds (the page's data-refresh) it fetches its own page again and swaps in the
// new figures (the page is rendered on the server from the rollup tables; without this script it is simply static).
(function () {
  "use strict";
  var every = (parseInt(document.body.dataset.refresh, 10) || 30) * 1000;
  function refresh() {
    fetch(location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var next = new DOMParser().parseFromString(html, "text/html").querySelector("main");
        var current = document.querySelector("main");
        if (next && current) { current.replaceWith(next); document.body.dataset.refreshedAt = String(Date.now()); }
      })
      .catch(function () { /* the next round tries again */ })
      .then(function () { setTimeout(refresh, every); });
  }
  setTimeout(refresh, every);
})();
