// Applies the theme before the page paints. Loaded in <head>, synchronous, tiny.
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");
  try {
    var stored = window.localStorage.getItem("rapport-theme");
    if (root.dataset.themeSource !== "user" && stored) {
      root.dataset.theme = stored;
    }
  } catch (e) {
    /* storage disabled: keep the server's choice */
  }
})();
