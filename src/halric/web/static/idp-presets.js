// The identity-provider form: choosing a preset (LS Login, MyAccessID, ORCID) fills in its issuer,
// scopes, groups claim and button label, which stay editable; choosing "another provider" empties the
// fields that still hold a preset's values. Without this script the server fills them in the same way.
(function () {
  "use strict";
  var FIELDS = { "idp-display": "displayName", "idp-issuer": "issuer", "idp-scopes": "scopes",
                 "idp-groups-claim": "groupsClaim" };

  function presetValues(option) {
    var out = {};
    Object.keys(FIELDS).forEach(function (id) { out[id] = option ? (option.dataset[FIELDS[id]] || "") : ""; });
    return out;
  }

  function init() {
    var select = document.getElementById("idp-preset");
    if (!select) { return; }
    var name = document.getElementById("idp-name");
    var previous = select.selectedOptions[0] && select.value ? presetValues(select.selectedOptions[0]) : null;
    var previousKey = select.value;
    select.addEventListener("change", function () {
      var option = select.value ? select.selectedOptions[0] : null;
      var next = presetValues(option);
      Object.keys(FIELDS).forEach(function (id) {
        var input = document.getElementById(id);
        if (!input) { return; }
        var untouched = input.value === "" || (previous && input.value === previous[id]);
        if (untouched) { input.value = next[id]; }
      });
      if (name && (name.value === "" || name.value === previousKey)) { name.value = select.value; }
      previous = option ? next : null;
      previousKey = select.value;
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
