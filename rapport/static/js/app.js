// Rapport's own behaviour: drawer, theme, palette (Ctrl+K), repeated form rows, bulk
// selection, confirmations. No inline scripts anywhere (CSP script-src 'self').
(function () {
  "use strict";

  function csrfToken(scope) {
    var input = (scope || document).querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // ---- navigation drawer on phone-sized screens ----------------------------------
  function setDrawer(open) {
    var sidebar = document.getElementById("sidebar");
    var backdrop = document.querySelector("[data-drawer-close]");
    var toggle = document.querySelector("[data-drawer-toggle]");
    if (!sidebar) return;
    if (open) sidebar.setAttribute("data-open", "");
    else sidebar.removeAttribute("data-open");
    if (backdrop) backdrop.hidden = !open;
    if (toggle) toggle.setAttribute("aria-expanded", open ? "true" : "false");
  }

  // ---- theme -------------------------------------------------------------------------
  function applyTheme(theme) {
    document.documentElement.dataset.theme = theme;
    try {
      window.localStorage.setItem("rapport-theme", theme);
    } catch (e) {
      /* ignore */
    }
  }

  // ---- command palette ---------------------------------------------------------------
  function palette() {
    return document.getElementById("palette");
  }

  function openPalette() {
    var dialog = palette();
    if (!dialog || dialog.open) return;
    dialog.showModal();
    var input = document.getElementById("palette-input");
    if (input) {
      input.focus();
      input.select();
    }
  }

  function paletteItems() {
    return Array.prototype.slice.call(document.querySelectorAll("#palette-results .palette-item"));
  }

  function movePalette(step) {
    var items = paletteItems();
    if (!items.length) return;
    var current = items.findIndex(function (el) {
      return el.getAttribute("aria-selected") === "true";
    });
    var next = (current + step + items.length) % items.length;
    items.forEach(function (el, i) {
      el.setAttribute("aria-selected", i === next ? "true" : "false");
    });
    items[next].scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (event) {
    var key = (event.key || "").toLowerCase();
    if ((event.ctrlKey || event.metaKey) && key === "k") {
      event.preventDefault();
      openPalette();
      return;
    }
    var dialog = palette();
    if (!dialog || !dialog.open) {
      if (key === "escape") setDrawer(false);
      return;
    }
    if (key === "arrowdown" || key === "arrowup") {
      event.preventDefault();
      movePalette(key === "arrowdown" ? 1 : -1);
    } else if (key === "enter") {
      var chosen = document.querySelector('#palette-results .palette-item[aria-selected="true"]');
      if (chosen) {
        event.preventDefault();
        window.location.assign(chosen.href);
      }
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && event.target.id === "palette-results") {
      var first = event.target.querySelector(".palette-item");
      if (first) first.setAttribute("aria-selected", "true");
    }
    initRowsets(event.target);
  });

  // ---- repeated form rows (emails, phones, …) -----------------------------------------
  function initRowsets(scope) {
    (scope || document).querySelectorAll("[data-rowset]").forEach(function (set) {
      if (set.dataset.ready) return;
      set.dataset.ready = "1";
    });
  }

  function addRow(button) {
    var set = button.closest("[data-rowset]");
    if (!set) return;
    var template = set.querySelector("template");
    var rows = set.querySelector("[data-rows]");
    var index = parseInt(set.dataset.nextIndex || "0", 10);
    var html = template.innerHTML.replace(/__index__/g, String(index));
    rows.insertAdjacentHTML("beforeend", html);
    set.dataset.nextIndex = String(index + 1);
    var count = set.querySelector("[data-row-count]");
    if (count) count.value = String(index + 1);
    var added = rows.lastElementChild;
    var firstInput = added && added.querySelector("input, select");
    if (firstInput) firstInput.focus();
  }

  // ---- clicks ----------------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var target = event.target.closest(
      "[data-palette-open], [data-drawer-toggle], [data-drawer-close], [data-dismiss], [data-add-row], [data-remove-row]"
    );
    // Close open <details> menus when clicking elsewhere.
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
    if (!target) {
      var dialog = palette();
      if (dialog && dialog.open && event.target === dialog) dialog.close();
      return;
    }
    if (target.hasAttribute("data-palette-open")) openPalette();
    else if (target.hasAttribute("data-drawer-toggle")) {
      var sidebar = document.getElementById("sidebar");
      setDrawer(!(sidebar && sidebar.hasAttribute("data-open")));
    } else if (target.hasAttribute("data-drawer-close")) setDrawer(false);
    else if (target.hasAttribute("data-dismiss")) {
      var box = target.closest(".message");
      if (box) box.remove();
    } else if (target.hasAttribute("data-add-row")) {
      event.preventDefault();
      addRow(target);
    } else if (target.hasAttribute("data-remove-row")) {
      event.preventDefault();
      var row = target.closest("[data-row]");
      if (row) {
        row.querySelectorAll("input[type=text], input[type=email], input[type=tel], input[type=url]").forEach(
          function (input) {
            input.value = "";
          }
        );
        row.hidden = true;
      }
    }
  });

  // ---- forms -------------------------------------------------------------------------
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      return;
    }
    if (form.hasAttribute("data-theme-form") && event.submitter) {
      event.preventDefault();
      var theme = event.submitter.value;
      applyTheme(theme);
      var body = new FormData();
      body.append("theme", theme);
      window
        .fetch(form.action, {
          method: "POST",
          body: body,
          headers: { "X-CSRFToken": csrfToken(form), "X-Requested-With": "fetch" },
          credentials: "same-origin",
        })
        .catch(function () {
          /* the local choice stays; the server copy is refreshed next time */
        });
    }
  });

  document.addEventListener("change", function (event) {
    var el = event.target;
    var form = el.form;
    if (form && form.hasAttribute("data-autosubmit")) {
      form.requestSubmit();
    }
    if (el.hasAttribute("data-select-all")) {
      var table = el.closest("form") || document;
      table.querySelectorAll("input[data-row-select]").forEach(function (box) {
        box.checked = el.checked;
      });
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var dialog = palette();
    if (dialog) {
      dialog.addEventListener("close", function () {
        var input = document.getElementById("palette-input");
        if (input) input.blur();
      });
    }
    initRowsets(document);
  });
})();

// Saving a view keeps the list as it is now: live filtering (HTMX) pushes the query into
// the address bar after the page loaded, so the form takes it from there when submitted.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form || form.id !== "save-view-form") return;
  var field = form.querySelector("input[name=query]");
  if (!field) return;
  var query = new URLSearchParams(window.location.search);
  query.delete("cursor");
  field.value = query.toString();
});
