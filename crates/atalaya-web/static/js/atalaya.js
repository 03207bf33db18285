// Atalaya's own script. Every page works without it; it adds comfort: the
// sidebar drawer and its collapsed state, menus that close like menus,
// dialogs, toasts, copy buttons, keyboard shortcuts and in-place updates
// through htmx. Kept in a file (never inline) so the Content-Security-Policy
// can forbid inline scripts.
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");

  // The sidebar's collapsed state is a preference of this browser.
  var SIDEBAR_KEY = "atalaya.sidebar";
  function storedSidebar() {
    try { return window.localStorage.getItem(SIDEBAR_KEY); } catch (error) { return null; }
  }
  if (storedSidebar() === "collapsed") { root.setAttribute("data-sidebar", "collapsed"); }
  function toggleSidebar() {
    var collapsed = root.getAttribute("data-sidebar") === "collapsed";
    if (collapsed) { root.removeAttribute("data-sidebar"); } else { root.setAttribute("data-sidebar", "collapsed"); }
    try { window.localStorage.setItem(SIDEBAR_KEY, collapsed ? "expanded" : "collapsed"); } catch (error) { /* private mode */ }
  }

  var meta = document.querySelector('meta[name="csrf-token"]');
  // htmx requests carry the CSRF token in a header, like forms carry it in a field.
  document.addEventListener("htmx:configRequest", function (event) {
    if (meta) { event.detail.headers["X-CSRF-Token"] = meta.content; }
  });

  // ---------------------------------------------------------------- toasts
  var toasts = document.getElementById("toasts");
  function toast(message, kind) {
    if (!toasts || !message) { return; }
    var item = document.createElement("div");
    item.className = "toast" + (kind === "error" ? " error" : "");
    var icon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    icon.setAttribute("class", "icon");
    icon.setAttribute("aria-hidden", "true");
    var use = document.createElementNS("http://www.w3.org/2000/svg", "use");
    use.setAttribute("href", "/static/icons.svg#" + (kind === "error" ? "error" : "circle-check"));
    icon.appendChild(use);
    var text = document.createElement("span");
    text.textContent = message; // text, never HTML
    item.appendChild(icon);
    item.appendChild(text);
    toasts.appendChild(item);
    autohide(item);
  }
  function autohide(item) {
    window.setTimeout(function () { item.remove(); }, 5000);
  }
  document.querySelectorAll("[data-autohide]").forEach(autohide);
  // A confirmation arrives as ?done=… after a redirect: said once, so a reload
  // or a shared link does not say it again.
  if (window.history.replaceState && /[?&]done=/.test(window.location.search)) {
    var url = new URL(window.location.href);
    url.searchParams.delete("done");
    window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
  }
  // Server responses to htmx requests announce their outcome with
  // HX-Trigger: {"atalaya:toast": {"message": "...", "kind": "ok"}}.
  document.addEventListener("atalaya:toast", function (event) {
    var detail = event.detail || {};
    toast(detail.message || detail.value, detail.kind);
  });
  document.addEventListener("htmx:responseError", function (event) {
    var message = document.body.getAttribute("data-request-failed");
    var xhr = event.detail && event.detail.xhr;
    if (xhr && xhr.getResponseHeader("Content-Type") && xhr.getResponseHeader("Content-Type").indexOf("json") >= 0) {
      try { message = JSON.parse(xhr.responseText).error.message || message; } catch (error) { /* keep the default */ }
    }
    toast(message, "error");
  });

  // ------------------------------------------------------------ confirms
  // Forms marked data-confirm ask before destructive actions.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); event.stopImmediatePropagation(); }
  }, true);
  document.addEventListener("htmx:confirm", function (event) {
    var element = event.detail.elt;
    var form = element && element.closest && element.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
  });
  // Selects that apply on change (the button stays for everyone without scripts).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.requestSubmit ? select.form.requestSubmit() : select.form.submit(); });
  });
  // Select a secret's text on focus so it can be copied in one go.
  document.querySelectorAll("input[data-select-on-focus]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });
  // The browser's time zone, where a form wants a default (setup, settings).
  document.querySelectorAll("[data-browser-time-zone]").forEach(function (field) {
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (error) { zone = null; }
    if (!zone) { return; }
    if (field.tagName === "SELECT") {
      if (field.getAttribute("data-browser-time-zone") === "if-default" && field.value !== "UTC") { return; }
      for (var i = 0; i < field.options.length; i++) {
        if (field.options[i].value === zone) { field.value = zone; break; }
      }
    } else if (!field.value) {
      field.value = zone;
    }
  });

  // Forms whose fields depend on a kind (a new source): only the kind's own
  // fields show, so nobody fills in a URL for a webhook. Without scripts every
  // field shows, each group under its legend.
  document.querySelectorAll("select[data-kind-switch]").forEach(function (select) {
    var form = select.form;
    function apply() {
      form.querySelectorAll("[data-for-kinds]").forEach(function (group) {
        var kinds = group.getAttribute("data-for-kinds").split(/\s+/);
        group.hidden = kinds.indexOf(select.value) < 0;
      });
    }
    select.addEventListener("change", apply);
    apply();
  });
  // The error page's "go back" keeps what the person had typed on the page before.
  document.querySelectorAll("[data-history-back]").forEach(function (button) {
    button.addEventListener("click", function () { window.history.back(); });
  });

  // ----------------------------------------------------------------- copy
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) { return; }
    event.preventDefault();
    var value = button.getAttribute("data-copy");
    var target = button.getAttribute("data-copy-from");
    if (target) { var field = document.getElementById(target); if (field) { value = field.value; } }
    if (value && value.charAt(0) === "/") { value = window.location.origin + value; }
    var done = function () { toast(button.getAttribute("data-copied")); closeMenus(); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(value).then(done, function () { window.prompt("", value); });
    } else {
      window.prompt("", value);
    }
  });

  // ---------------------------------------------------------------- menus
  function closeMenus(except) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (menu !== except) { menu.removeAttribute("open"); }
    });
  }
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (menu.matches && menu.matches("details.menu") && menu.open) { closeMenus(menu); }
  }, true);
  document.addEventListener("click", function (event) {
    if (!event.target.closest || !event.target.closest("details.menu")) { closeMenus(); }
  });

  // -------------------------------------------------------------- dialogs
  document.addEventListener("click", function (event) {
    var opener = event.target.closest && event.target.closest("[data-open-dialog]");
    if (!opener) { return; }
    var dialog = document.getElementById(opener.getAttribute("data-open-dialog"));
    if (dialog && dialog.showModal) { event.preventDefault(); closeMenus(); dialog.showModal(); }
  });
  // A click on a dialog's backdrop closes it.
  document.querySelectorAll("dialog").forEach(function (dialog) {
    dialog.addEventListener("click", function (event) { if (event.target === dialog) { dialog.close(); } });
  });

  // ------------------------------------------------------ sidebar (phones)
  function openNav() { root.classList.add("nav-open"); var first = document.querySelector("#sidebar .nav-link"); if (first) { first.focus(); } }
  function closeNav() { root.classList.remove("nav-open"); if (window.location.hash === "#sidebar") { history.replaceState(null, "", window.location.pathname + window.location.search); } }
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-nav-open]")) { event.preventDefault(); openNav(); return; }
    if (event.target.closest && event.target.closest("[data-nav-close]")) { event.preventDefault(); closeNav(); return; }
    if (event.target.closest && event.target.closest("[data-sidebar-toggle]")) { event.preventDefault(); toggleSidebar(); }
  });

  // ---------------------------------------------------- keyboard shortcuts
  var pendingG = false;
  var pendingTimer = null;
  function typing(target) {
    if (!target) { return false; }
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }
  function workspaceBase() {
    var link = document.querySelector('#sidebar .nav-group .nav-link');
    if (!link) { return null; }
    var match = link.getAttribute("href").match(/^\/w\/[^/]+/);
    return match ? match[0] : null;
  }
  var GO = { d: "", m: "/mentions", t: "/topics", s: "/sources", a: "/accounts", u: "/members", i: "/import" };
  function feedItems() { return Array.prototype.slice.call(document.querySelectorAll(".feed .mention")); }
  function moveSelection(step) {
    var items = feedItems();
    if (!items.length) { return; }
    var current = items.findIndex(function (item) { return item.classList.contains("selected"); });
    var next = Math.max(0, Math.min(items.length - 1, current + step));
    if (current >= 0) { items[current].classList.remove("selected"); }
    items[next].classList.add("selected");
    items[next].scrollIntoView({ block: "nearest" });
  }
  function selected() { return document.querySelector(".feed .mention.selected"); }
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "Escape") {
      closeMenus();
      if (root.classList.contains("nav-open")) { closeNav(); }
      return;
    }
    if (typing(event.target)) { return; }
    var key = event.key;
    if (pendingG) {
      pendingG = false;
      window.clearTimeout(pendingTimer);
      var base = workspaceBase();
      if (base && Object.prototype.hasOwnProperty.call(GO, key)) { event.preventDefault(); window.location.href = base + GO[key]; }
      return;
    }
    if (key === "g") { pendingG = true; pendingTimer = window.setTimeout(function () { pendingG = false; }, 1200); return; }
    if (key === "?") { var help = document.getElementById("shortcuts-dialog"); if (help && help.showModal) { event.preventDefault(); help.showModal(); } return; }
    if (key === "/") { var search = document.querySelector("[data-shortcut-focus]"); if (search) { event.preventDefault(); search.focus(); search.select(); } return; }
    if (key === "[") { toggleSidebar(); return; }
    if (key === "j") { moveSelection(1); return; }
    if (key === "k") { moveSelection(-1); return; }
    var item = selected();
    if (!item) { return; }
    if (key === "o") { var original = item.querySelector("a[data-original]"); if (original) { window.open(original.href, "_blank", "noopener"); } return; }
    var labels = { "1": "negative", "2": "neutral", "3": "positive" };
    if (labels[key]) {
      var button = item.querySelector('button[name="sentiment"][value="' + labels[key] + '"]');
      if (button) { event.preventDefault(); button.click(); }
    }
  });
  // Keep the keyboard selection on the mention that was just replaced in place.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.classList && target.classList.contains("mention") && document.activeElement === document.body) {
      target.classList.add("selected");
    }
  });
})();
