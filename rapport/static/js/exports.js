// Export menu: the list filters live (HTMX pushes the new query into the address bar),
// so each export link takes the page's current query when it is followed.
(function () {
  "use strict";
  if (window.rapportExportsReady) return;
  window.rapportExportsReady = true;
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-export-link]");
    if (!link) return;
    var target = new URL(link.href, window.location.href);
    var format = target.searchParams.get("format");
    var query = new URLSearchParams(window.location.search);
    query.delete("cursor");
    query.set("format", format);
    target.search = query.toString();
    link.href = target.toString();
  });
})();
