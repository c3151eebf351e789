// Searchable picker over a native <select multiple data-picker>: a search box, the matching options as
// check boxes (Tab into the list, Space ticks), and the chosen ones as removable buttons. The select stays
// in the form (hidden) and is what gets submitted, so the page works the same without this script.
(function () {
  "use strict";
  var SHOW = 40;  // matches listed at once; typing narrows the rest

  function words(text) { return text.toLowerCase().split(/\s+/).filter(Boolean); }

  function enhance(select) {
    var id = select.id;
    var label = document.querySelector('label[for="' + id + '"]');
    var name = label ? label.textContent.trim() : "options";
    var options = Array.prototype.slice.call(select.options);
    var haystack = options.map(function (o) { return o.text.toLowerCase() + " " + o.value.toLowerCase(); });

    var wrap = document.createElement("div");
    wrap.className = "picker";
    var help = document.createElement("p");
    help.className = "hint";
    help.id = id + "-help";
    help.textContent = "Type to search, then tick what you need (Tab moves into the list, Space ticks). " + options.length + " to choose from.";
    var search = document.createElement("input");
    search.type = "search";
    search.id = id + "-search";
    search.autocomplete = "off";
    search.setAttribute("aria-describedby", id + "-help");
    search.setAttribute("aria-controls", id + "-list");
    var chosenHead = document.createElement("p");
    chosenHead.className = "small";
    chosenHead.id = id + "-chosen-head";
    var chosen = document.createElement("ul");
    chosen.className = "picker-chosen";
    chosen.setAttribute("aria-labelledby", id + "-chosen-head");
    var list = document.createElement("fieldset");
    list.className = "picker-list";
    list.id = id + "-list";
    var legend = document.createElement("legend");
    legend.className = "sr-only";
    legend.textContent = "Matching " + name.toLowerCase();
    var more = document.createElement("p");
    more.className = "picker-more";
    more.setAttribute("aria-live", "polite");

    if (label) { label.htmlFor = search.id; }
    select.hidden = true;
    select.tabIndex = -1;
    select.parentNode.insertBefore(wrap, select.nextSibling);
    wrap.appendChild(help);
    wrap.appendChild(search);
    wrap.appendChild(list);  // Tab from the search box lands on the first match
    wrap.appendChild(more);
    wrap.appendChild(chosenHead);
    wrap.appendChild(chosen);

    function changed() {
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }

    function renderChosen() {
      chosen.textContent = "";
      var picked = options.filter(function (o) { return o.selected; });
      chosenHead.textContent = picked.length ? "Chosen (" + picked.length + "):" : "Nothing chosen yet.";
      picked.forEach(function (o) {
        var li = document.createElement("li");
        var b = document.createElement("button");
        b.type = "button";
        b.textContent = o.text + " ×";
        b.setAttribute("aria-label", "Remove " + o.text);
        b.addEventListener("click", function () {
          o.selected = false;
          renderChosen();
          renderList();
          changed();
          search.focus();
        });
        li.appendChild(b);
        chosen.appendChild(li);
      });
    }

    function renderList() {
      list.textContent = "";
      list.appendChild(legend);
      var need = words(search.value);
      var hits = [];
      options.forEach(function (o, i) {
        if (need.every(function (w) { return haystack[i].indexOf(w) !== -1; })) { hits.push(i); }
      });
      hits.slice(0, SHOW).forEach(function (i) {
        var o = options[i];
        var row = document.createElement("label");
        var box = document.createElement("input");
        box.type = "checkbox";
        box.id = id + "-opt-" + i;
        box.checked = o.selected;
        box.addEventListener("change", function () {
          o.selected = box.checked;
          renderChosen();
          changed();
        });
        row.appendChild(box);
        row.appendChild(document.createTextNode(o.text));
        list.appendChild(row);
      });
      if (!hits.length) {
        more.textContent = "Nothing matches “" + search.value + "”.";
      } else if (hits.length > SHOW) {
        more.textContent = (hits.length - SHOW) + " more match; type more of the name to narrow the list.";
      } else {
        more.textContent = hits.length + (hits.length === 1 ? " match." : " matches.");
      }
    }

    search.addEventListener("input", renderList);
    search.addEventListener("keydown", function (e) {
      if (e.key === "Enter") {  // Enter in the search box must not submit the form: tick the first match
        e.preventDefault();
        var first = list.querySelector("input[type=checkbox]");
        if (first && !first.checked) { first.click(); }
      }
    });
    renderChosen();
    renderList();
  }

  Array.prototype.forEach.call(document.querySelectorAll("select[multiple][data-picker]"), enhance);
})();
