// Atalaya's own script. The pages work without it; it only adds comfort.
// Kept in a file (never inline) so the Content-Security-Policy can forbid inline scripts.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  // htmx requests carry the CSRF token in a header, like forms carry it in a field.
  document.addEventListener("htmx:configRequest", function (event) {
    if (meta) { event.detail.headers["X-CSRF-Token"] = meta.content; }
  });
  // Forms marked data-confirm ask before destructive actions (remove a member, revoke a token).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
  // Language switch and preference selects submit on change when scripts run; the button stays for everyone else.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  // Select the token text on focus so it can be copied in one go.
  document.querySelectorAll("input[data-select-on-focus]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });
})();
