// The lineage explorer's pan and zoom, and in-place updates. The page
// works without this script: the drawing scrolls in its box and every
// control is a link or a form. With it, the drawing pans and zooms
// (svg-pan-zoom: wheel, trackpad pinch, drag; touch pinch below; the
// toolbar; + − 0 and arrows), and links that stay on this dataset's
// explorer (expand a node, trace a column) replace the drawing without
// reloading the page, keeping the zoom and the clicked node where it was.
(function () {
  "use strict";
  var box = document.getElementById("lineage-graph");
  if (!box || !window.svgPanZoom || !window.fetch || !window.DOMParser) {
    return;
  }
  var toolbar = document.querySelector(".lineage-toolbar");
  var pz = null;
  var dragged = false;

  // touch pans with one finger and zooms with two; svg-pan-zoom handles
  // mouse, wheel and trackpad itself.
  var touch = {
    haltEventListeners: ["touchstart", "touchend", "touchmove", "touchleave", "touchcancel"],
    init: function (o) {
      var el = o.svgElement, inst = o.instance, last = null;
      function snap(e) {
        var t = e.touches;
        if (t.length === 0) {
          return null;
        }
        var s = { x: t[0].clientX, y: t[0].clientY, d: 0 };
        if (t.length > 1) {
          s.x = (t[0].clientX + t[1].clientX) / 2;
          s.y = (t[0].clientY + t[1].clientY) / 2;
          s.d = Math.hypot(t[0].clientX - t[1].clientX, t[0].clientY - t[1].clientY);
        }
        return s;
      }
      this.listeners = {
        touchstart: function (e) { last = snap(e); },
        touchend: function (e) { last = snap(e); },
        touchcancel: function () { last = null; },
        touchmove: function (e) {
          var now = snap(e);
          if (!last || !now) {
            return;
          }
          e.preventDefault();
          if (now.d && last.d) {
            var r = el.getBoundingClientRect();
            inst.zoomAtPointBy(now.d / last.d, { x: now.x - r.left, y: now.y - r.top });
          }
          inst.panBy({ x: now.x - last.x, y: now.y - last.y });
          last = now;
        }
      };
      for (var k in this.listeners) {
        el.addEventListener(k, this.listeners[k], { passive: false });
      }
    },
    destroy: function (o) {
      for (var k in this.listeners) {
        o.svgElement.removeEventListener(k, this.listeners[k]);
      }
    }
  };

  // attach makes the drawing in the box pannable. keep, when given, is
  // the zoom and a node's place on screen to restore.
  function attach(keep) {
    var svg = box.querySelector("svg");
    if (!svg) {
      return;
    }
    if (pz) {
      pz.destroy();
      pz = null;
    }
    // The box is as tall as the drawing at a readable size, up to three
    // quarters of the window: a small drawing leaves no empty box.
    var vb = svg.viewBox && svg.viewBox.baseVal;
    var least = smallestFont(svg);
    if (vb && vb.height) {
      var z = Math.max(1, readable / least);
      box.style.height = Math.round(Math.max(192, Math.min(0.75 * window.innerHeight, vb.height * z + 16))) + "px";
    }
    box.classList.add("pannable");
    svg.setAttribute("width", "100%");
    svg.setAttribute("height", "100%");
    // svg-pan-zoom sets overflow in a style attribute unless one is
    // there; the CSP allows styles set from script, not attributes.
    svg.style.overflow = "hidden";
    pz = window.svgPanZoom(svg, {
      zoomScaleSensitivity: 0.25,
      minZoom: 0.5,
      maxZoom: 10,
      dblClickZoomEnabled: false,
      customEventsHandler: touch
    });
    // Labels are legible from about their natural size: let the zoom
    // reach well past it however small the fitted drawing is.
    pz.setMaxZoom(Math.max(10, 4 / pz.getSizes().realZoom));
    capFit();
    if (!keep) {
      readableZoom(svg, least);
    }
    if (keep) {
      pz.zoom(pz.getZoom() * keep.realZoom / pz.getSizes().realZoom);
      var node = keep.id && find(svg, keep.id);
      if (node && keep.rect) {
        var at = inDrawing(svg, node), s = svg.getBoundingClientRect(), kz = pz.getSizes().realZoom;
        pz.pan({ x: keep.rect.left - s.left - kz * at.x, y: keep.rect.top - s.top - kz * at.y });
      }
    }
    // data-ready says the drawing is shown as it will stay (svg-pan-zoom
    // updates on the next frame; this runs after it).
    window.requestAnimationFrame(function () {
      box.setAttribute("data-ready", "");
    });
  }

  // readable is the smallest size, in CSS pixels, a label is drawn at
  // first: a drawing whose labels would be smaller fitted to the box is
  // zoomed in until they are not, and shown from its centre node, the
  // rest a pan (or a scroll without script) away.
  var readable = 11;

  // smallestFont is the smallest font size of the drawing's labels, in
  // the drawing's units.
  function smallestFont(svg) {
    var least = Infinity;
    var texts = svg.querySelectorAll("text[font-size]");
    for (var i = 0; i < texts.length; i++) {
      var f = parseFloat(texts[i].getAttribute("font-size"));
      if (f > 0 && f < least) {
        least = f;
      }
    }
    return isFinite(least) ? least : 14;
  }

  // inDrawing is el's box in the coordinates of svg-pan-zoom's viewport,
  // where the zoom and pan in effect place it at pan + realZoom × x.
  // (The page draws a change of zoom or pan on the next frame: what
  // getBoundingClientRect says until then is stale.)
  function inDrawing(svg, el) {
    var vp = svg.querySelector(".svg-pan-zoom_viewport");
    var m = vp.getCTM().inverse().multiply(el.getCTM());
    var b = el.getBBox();
    var p = svg.createSVGPoint();
    p.x = b.x;
    p.y = b.y;
    p = p.matrixTransform(m);
    return { x: p.x, y: p.y, width: b.width * m.a, height: b.height * m.d };
  }

  // readableZoom zooms in until labels of size least are readable, with
  // the centre node (data-start) in the middle of the box, or as near as
  // the drawing's edges allow without leaving part of the box empty.
  function readableZoom(svg, least) {
    var z = pz.getSizes().realZoom;
    if (z * least >= readable) {
      return;
    }
    pz.zoom(pz.getZoom() * readable / (z * least));
    z = pz.getSizes().realZoom;
    var vp = svg.querySelector(".svg-pan-zoom_viewport");
    var start = box.getAttribute("data-start");
    var node = start && find(svg, start);
    if (!vp || !node) {
      return;
    }
    var w = svg.clientWidth, h = svg.clientHeight;
    var all = vp.getBBox();
    var c = inDrawing(svg, node);
    var px = w / 2 - z * (c.x + c.width / 2), py = h / 2 - z * (c.y + c.height / 2);
    px = Math.min(Math.max(px, w - 8 - z * (all.x + all.width)), 8 - z * all.x);
    py = Math.min(Math.max(py, h - 8 - z * (all.y + all.height)), 8 - z * all.y);
    pz.pan({ x: px, y: py });
  }

  // capFit shrinks a fitted drawing that is small (a dataset alone, a
  // few nodes) to at most maxFit times its natural size rather than fill
  // the box with giant labels.
  var maxFit = 1.5;
  function capFit() {
    var z = pz.getSizes().realZoom;
    if (z > maxFit) {
      pz.zoom(pz.getZoom() * maxFit / z);
      pz.center();
    }
  }

  // find returns the node id names, or the cell of a fan's table that
  // lists it (Graphviz gives a cell's link the id "a_" and the cell's).
  function find(root, id) {
    var all = root.querySelectorAll("g[id]");
    for (var i = 0; i < all.length; i++) {
      if (all[i].id === id || all[i].id === "a_" + id) {
        return all[i];
      }
    }
    return null;
  }

  // anchorOf is what stays in place when the link a is followed in
  // place: its node, for a dataset listed in a fan's table that dataset,
  // which the new drawing may draw as a node of its own, and for a
  // group the node it hangs from.
  function anchorOf(a) {
    var node = a.closest("g.node");
    var cell = a.parentNode;
    // An opened group is gone from the new drawing: its hub keeps its
    // place instead.
    if (node && node.classList.contains("group")) {
      var hub = find(box, node.id.replace(/^group:(down|up):/, ""));
      if (hub) {
        return { id: hub.id, el: hub };
      }
    }
    if (node && node.classList.contains("fan") && cell && /^a_(expand:)?dataset:/.test(cell.id)) {
      return { id: cell.id.replace(/^a_(expand:)?/, ""), el: cell };
    }
    return node && { id: node.id, el: node };
  }

  // load fetches the explorer at url and swaps its controls, status and
  // drawing in; anchor (from anchorOf) is what keeps its place on screen.
  function load(url, anchor, push) {
    var keep = null;
    if (pz && anchor) {
      keep = { realZoom: pz.getSizes().realZoom, id: anchor.id, rect: anchor.el.getBoundingClientRect() };
    }
    box.setAttribute("aria-busy", "true");
    box.removeAttribute("data-ready");
    return fetch(url, { headers: { Accept: "text/html" } })
      .then(function (r) {
        if (!r.ok) {
          throw new Error("status " + r.status);
        }
        return r.text();
      })
      .then(function (text) {
        var doc = new DOMParser().parseFromString(text, "text/html");
        var svg = doc.querySelector("#lineage-graph svg");
        if (!svg) {
          throw new Error("no drawing");
        }
        ["lineage-controls", "lineage-status"].forEach(function (id) {
          var now = document.getElementById(id), next = doc.getElementById(id);
          if (now && next) {
            now.replaceWith(document.adoptNode(next));
          }
        });
        box.replaceChildren(document.adoptNode(svg));
        if (push) {
          history.pushState({ lineage: true }, "", url);
        }
        attach(keep);
        box.removeAttribute("aria-busy");
      })
      .catch(function () {
        // Let the browser show whatever the server says.
        window.location.href = url;
      });
  }

  // Links that stay on this explorer update it in place; others (a node's
  // own explorer) navigate.
  box.addEventListener("click", function (e) {
    var a = e.target.closest("a");
    if (dragged) {
      dragged = false;
      e.preventDefault();
      return;
    }
    if (!a || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) {
      return;
    }
    var href = a.getAttribute("href") || a.getAttributeNS("http://www.w3.org/1999/xlink", "href");
    if (!href) {
      return;
    }
    var url = new URL(href, window.location.href);
    if (url.origin !== window.location.origin || url.pathname !== window.location.pathname) {
      return;
    }
    e.preventDefault();
    load(url.href, anchorOf(a), true);
  });

  // A drag that ends on a link pans; it does not follow the link.
  var downAt = null;
  box.addEventListener("mousedown", function (e) { downAt = { x: e.clientX, y: e.clientY }; dragged = false; });
  box.addEventListener("mouseup", function (e) {
    if (downAt && Math.abs(e.clientX - downAt.x) + Math.abs(e.clientY - downAt.y) > 4) {
      dragged = true;
    }
    downAt = null;
  });

  window.addEventListener("popstate", function () {
    load(window.location.href, null, false);
  });

  function zoom(how) {
    if (!pz) {
      return;
    }
    if (how === "in") {
      pz.zoomIn();
    } else if (how === "out") {
      pz.zoomOut();
    } else {
      pz.resize();
      pz.fit();
      pz.center();
      capFit();
    }
  }

  if (toolbar) {
    toolbar.hidden = false;
    toolbar.addEventListener("click", function (e) {
      var b = e.target.closest("button[data-zoom]");
      if (b) {
        zoom(b.getAttribute("data-zoom"));
      }
    });
  }

  box.addEventListener("keydown", function (e) {
    if (!pz || e.ctrlKey || e.metaKey || e.altKey) {
      return;
    }
    var step = 60;
    var keys = {
      "+": function () { zoom("in"); },
      "=": function () { zoom("in"); },
      "-": function () { zoom("out"); },
      "0": function () { zoom("fit"); },
      ArrowLeft: function () { pz.panBy({ x: step, y: 0 }); },
      ArrowRight: function () { pz.panBy({ x: -step, y: 0 }); },
      ArrowUp: function () { pz.panBy({ x: 0, y: step }); },
      ArrowDown: function () { pz.panBy({ x: 0, y: -step }); }
    };
    if (keys[e.key]) {
      e.preventDefault();
      keys[e.key]();
    }
  });

  window.addEventListener("resize", function () {
    if (pz) {
      pz.resize();
    }
  });

  attach(null);
})();
