// Autosave for drafts: posts the form in the background after typing stops; keeps the version so a
// concurrent save by someone else is reported (409) instead of silently overwritten. Works without it too.
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave]");
  if (!form) { return; }
  var status = document.getElementById("autosave-status");
  var version = document.getElementById("version");
  var timer = null;
  var busy = false;
  var pendingSubmit = null;
  function say(text) { if (status) { status.textContent = text; } }
  function save() {
    if (busy) { timer = setTimeout(save, 1000); return; }
    busy = true;
    var data = new FormData(form);
    data.set("action", "save");
    fetch(form.action, { method: "POST", body: data, headers: { "X-Autosave": "1" }, credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, status: r.status, body: body }; }); })
      .then(function (res) {
        if (res.ok) {
          version.value = res.body.version;
          say("Saved at " + new Date().toLocaleTimeString() + (res.body.eligible ? " — ready to submit." : "."));
          var total = document.getElementById("budget-total");
          if (total) { total.textContent = Number(res.body.total).toLocaleString(undefined, { minimumFractionDigits: 2 }); }
        } else {
          say("Not saved: " + res.body.detail);
        }
      })
      .catch(function () { say("Not saved: the hub cannot be reached. Your text stays in this page."); })
      .finally(function () {
        busy = false;
        if (pendingSubmit) {  // a click on Save/Submit waited for this save: send it with the new version
          var b = pendingSubmit;
          pendingSubmit = null;
          form.requestSubmit(b);
        }
      });
  }
  form.addEventListener("submit", function (e) {
    clearTimeout(timer);
    if (busy) {
      e.preventDefault();
      pendingSubmit = e.submitter || null;
      if (!pendingSubmit) { pendingSubmit = form.querySelector("button[type=submit]"); }
    }
  });
  form.addEventListener("input", function () {
    say("Editing…");
    clearTimeout(timer);
    timer = setTimeout(save, 1500);
  });
})();
