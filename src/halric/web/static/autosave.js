// Autosave for drafts: posts the form in the background after typing stops; keeps the version so a
// concurrent save by someone else is reported (409) instead of silently overwritten; refreshes the
// eligibility panel and the budget total from the answer. The form works without this script too.
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave]");
  if (!form) { return; }
  // form.action would be the buttons named "action" (a RadioNodeList), not the URL: read the attribute.
  var url = form.getAttribute("action") || window.location.pathname;
  var status = document.getElementById("autosave-status");
  var version = document.getElementById("version");
  var timer = null;
  var busy = false;
  var pendingSubmit = null;
  var TAGS = { pass: "ok", motivated: "ok", warn: "warn", fail: "bad" };
  function say(text) { if (status) { status.textContent = text; } }

  function showEligibility(body) {
    var panel = document.getElementById("eligibility");
    if (!panel || !body.results) { return; }
    var head = panel.querySelector("[data-eligible]");
    if (head) {
      head.className = "tag " + (body.eligible ? "ok" : "bad");
      head.textContent = body.eligible ? "ready to submit" : "not yet";
    }
    body.results.forEach(function (r) {
      var li = panel.querySelector('li[data-rule="' + r.id + '"]');
      if (!li) { return; }
      var tag = li.querySelector(".tag");
      var reason = li.querySelector("[data-reason]");
      if (tag) { tag.className = "tag " + (TAGS[r.status] || ""); tag.textContent = r.status; }
      if (reason) { reason.textContent = r.reason; }
    });
  }

  // all: also the errors of the last full save (a successful autosave means they are fixed)
  function clearFieldErrors(all) {
    var notes = all ? "p.field-error" : "[data-autosave-error]";
    var fields = all ? "[aria-invalid=true]" : "[aria-invalid=true][data-autosave-invalid]";
    Array.prototype.forEach.call(form.querySelectorAll(notes), function (el) { el.parentNode.removeChild(el); });
    Array.prototype.forEach.call(form.querySelectorAll(fields), function (el) {
      el.removeAttribute("aria-invalid");
      el.removeAttribute("aria-describedby");
      el.removeAttribute("data-autosave-invalid");
    });
    var summary = document.querySelector(".error-summary");
    if (all && summary) { summary.hidden = true; }
  }

  function showFieldErrors(errors) {
    Object.keys(errors || {}).forEach(function (name) {
      var field = form.elements.namedItem(name);
      if (!field || !field.parentNode || field.getAttribute("aria-invalid") === "true") { return; }
      var p = document.createElement("p");
      p.className = "field-error";
      p.setAttribute("data-autosave-error", "1");
      p.id = "autosave-err-" + name;
      p.textContent = errors[name];
      field.setAttribute("aria-invalid", "true");
      field.setAttribute("aria-describedby", p.id);
      field.setAttribute("data-autosave-invalid", "1");
      field.parentNode.insertBefore(p, field.nextSibling);
    });
  }

  function save() {
    if (busy) { timer = setTimeout(save, 1000); return; }
    busy = true;
    var data = new FormData(form);
    data.set("action", "save");
    fetch(url, { method: "POST", body: data, headers: { "X-Autosave": "1", "Accept": "application/json" },
                 credentials: "same-origin" })
      .then(function (r) {
        return r.json().then(
          function (body) { return { ok: r.ok, status: r.status, body: body }; },
          function () { return { ok: false, status: r.status, body: { detail: "the hub answered " + r.status + "." } }; }
        );
      })
      .then(function (res) {
        clearFieldErrors(res.ok);
        if (res.ok) {
          version.value = res.body.version;
          say("Saved at " + new Date().toLocaleTimeString() + (res.body.eligible ? " — ready to submit." : "."));
          var total = document.getElementById("budget-total");
          if (total) { total.textContent = Number(res.body.total).toLocaleString("en-GB", { minimumFractionDigits: 2 }); }
          showEligibility(res.body);
        } else {
          say("Not saved: " + res.body.detail);
          showFieldErrors(res.body.errors);
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
  form.addEventListener("change", function () {
    clearTimeout(timer);
    timer = setTimeout(save, 1500);
  });
})();
