// The search box's suggestions, as the name is typed: a list of datasets,
// then jobs (kind "job"), under the box, built on the WAI-ARIA combobox pattern (list
// autocomplete, no automatic selection). The box is a plain search form
// without this script; with it, the box becomes a combobox:
//   Down / Up     move through the suggestions (Alt+Down opens the list)
//   Enter         opens the dataset or job chosen, or searches what was typed
//   Escape        closes the list, or clears the box when it is closed
// The option chosen is announced through aria-activedescendant while the
// focus stays in the box; a polite status says how many there are.
(function () {
  "use strict";
  var input = document.getElementById("search-q");
  if (!input || !window.fetch || !input.form) {
    return;
  }
  var form = input.form;
  var list = document.createElement("ul");
  list.id = "search-suggestions";
  list.className = "suggestions";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "Suggested datasets and jobs");
  list.hidden = true;
  var status = document.createElement("div");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  form.appendChild(list);
  form.appendChild(status);
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", list.id);
  input.setAttribute("aria-expanded", "false");
  input.removeAttribute("list");

  var items = []; // the suggestions shown: {name, namespace, kind, url}
  var active = -1; // the index of the option chosen, -1 for none
  var timer = 0;
  var last = "";
  var pending = null;

  function open() {
    if (items.length === 0) {
      return;
    }
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }
  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    choose(-1);
  }
  function choose(i) {
    var options = list.children;
    if (active >= 0 && options[active]) {
      options[active].setAttribute("aria-selected", "false");
    }
    active = i;
    if (i < 0 || !options[i]) {
      active = -1;
      input.removeAttribute("aria-activedescendant");
      return;
    }
    options[i].setAttribute("aria-selected", "true");
    input.setAttribute("aria-activedescendant", options[i].id);
    options[i].scrollIntoView({ block: "nearest" });
  }
  function go(i) {
    var s = items[i];
    if (s && s.url) {
      window.location.assign(s.url);
    }
  }
  function show(found) {
    items = found;
    active = -1;
    input.removeAttribute("aria-activedescendant");
    var options = found.map(function (s, i) {
      var li = document.createElement("li");
      li.id = "search-suggestion-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      var name = document.createElement("span");
      name.className = "suggestion-name";
      name.textContent = s.name;
      var where = document.createElement("span");
      where.className = "suggestion-detail";
      where.textContent = (s.kind ? s.kind.replace(/_/g, " ") + " · " : "") + s.namespace;
      li.appendChild(name);
      li.appendChild(where);
      // mousedown, not click: the box must not lose the focus first.
      li.addEventListener("mousedown", function (e) {
        e.preventDefault();
        go(i);
      });
      return li;
    });
    list.replaceChildren.apply(list, options);
    if (found.length === 0) {
      close();
      status.textContent = "";
      return;
    }
    open();
    status.textContent = found.length === 1 ? "1 suggestion; press the down arrow to choose it." :
      found.length + " suggestions; press the down arrow to choose one.";
  }
  function suggest() {
    var q = input.value.trim();
    if (q === last) {
      return;
    }
    last = q;
    if (pending) {
      pending.abort();
      pending = null;
    }
    if (q.length < 2) {
      show([]);
      return;
    }
    pending = new AbortController();
    fetch("/search/suggest?q=" + encodeURIComponent(q), { signal: pending.signal, headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (found) {
        if (input.value.trim() === q) {
          show(Array.isArray(found) ? found : []);
        }
      })
      .catch(function () { /* suggestions are optional */ });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(suggest, 120);
  });
  input.addEventListener("keydown", function (e) {
    var n = items.length;
    switch (e.key) {
      case "ArrowDown":
        if (n === 0) {
          return;
        }
        e.preventDefault();
        if (list.hidden) {
          open();
          if (!e.altKey) {
            choose(0);
          }
          return;
        }
        choose(active + 1 < n ? active + 1 : 0);
        return;
      case "ArrowUp":
        if (n === 0) {
          return;
        }
        e.preventDefault();
        open();
        choose(active > 0 ? active - 1 : n - 1);
        return;
      case "Enter":
        if (!list.hidden && active >= 0) {
          e.preventDefault();
          go(active);
        }
        return; // else the form searches what was typed
      case "Escape":
        if (!list.hidden) {
          e.preventDefault();
          close();
        } else if (input.value !== "") {
          e.preventDefault();
          input.value = "";
          last = "";
          show([]);
        }
        return;
      case "Tab":
        close();
        return;
    }
  });
  // Enter submits the form too where the key's press is dispatched apart
  // from its keydown: with an option chosen, its page opens instead.
  form.addEventListener("submit", function (e) {
    if (!list.hidden && active >= 0) {
      e.preventDefault();
      go(active);
    }
  });
  input.addEventListener("blur", function () {
    close();
  });
  input.addEventListener("focus", function () {
    if (input.value.trim() === last && items.length > 0) {
      open();
    }
  });
})();
