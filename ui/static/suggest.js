// Suggestions for the search box, as the name is typed: dataset names
// fill the box's datalist. The box works without this script; with it,
// picking a suggestion and pressing Enter finds that dataset first.
(function () {
  "use strict";
  var input = document.getElementById("search-q");
  var list = document.getElementById("search-suggestions");
  if (!input || !list || !window.fetch) {
    return;
  }
  var timer = 0;
  var last = "";
  var pending = null;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(suggest, 150);
  });
  function suggest() {
    var q = input.value.trim();
    if (q === last) {
      return;
    }
    last = q;
    if (q.length < 2) {
      list.replaceChildren();
      return;
    }
    if (pending) {
      pending.abort();
    }
    pending = new AbortController();
    fetch("/search/suggest?q=" + encodeURIComponent(q), { signal: pending.signal, headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (items) {
        var options = items.map(function (s) {
          var o = document.createElement("option");
          o.value = s.name;
          o.label = s.namespace;
          return o;
        });
        list.replaceChildren.apply(list, options);
      })
      .catch(function () { /* suggestions are optional */ });
  }
})();
