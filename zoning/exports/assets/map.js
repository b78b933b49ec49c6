/* zoning web map: layers, tooltips, legend, search, fullscreen (vanilla JS over Leaflet 1.9.4).
 * Every text that comes from data is inserted with textContent, never as HTML. */
function zoningMap(map, D) {
  "use strict";

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  /* Geometries are encoded as delta-coded integer coordinates (see webmap.encode_geometries). */
  function decode(enc) {
    var c = enc.c, r = enc.r, p = enc.p, g = enc.g, s = enc.scale;
    var ci = 0, ri = 0, pi = 0, x = 0, y = 0, out = new Array(g.length);
    for (var gi = 0; gi < g.length; gi++) {
      var polys = [];
      for (var k = 0; k < g[gi]; k++) {
        var rings = [];
        for (var j = 0; j < p[pi]; j++) {
          var n = r[ri++], ring = new Array(n);
          for (var m = 0; m < n; m++) {
            x += c[ci++]; y += c[ci++];
            ring[m] = [x / s, y / s];
          }
          rings.push(ring);
        }
        pi++;
        polys.push(rings);
      }
      out[gi] = polys.length === 1 ? { type: "Polygon", coordinates: polys[0] }
        : { type: "MultiPolygon", coordinates: polys };
    }
    return out;
  }

  function fmt(x, d) {
    if (x === null || x === undefined || isNaN(x)) { return D.missing; }
    return Number(x).toLocaleString("fr-FR", { minimumFractionDigits: d, maximumFractionDigits: d });
  }

  function tooltipTable(title, rows) {
    var box = el("div", "zoning-tt");
    box.appendChild(el("div", "zoning-tt-title", title));
    var t = el("table");
    for (var i = 0; i < rows.length; i++) {
      var tr = el("tr");
      tr.appendChild(el("th", null, rows[i][0]));
      var td = el("td", rows[i][1] === D.missing ? "zoning-missing" : null, rows[i][1]);
      tr.appendChild(td);
      t.appendChild(tr);
    }
    box.appendChild(t);
    return box;
  }

  /* Small screens (phones): legend, layer list and notes start folded. */
  var small = window.matchMedia("(max-width: 700px), (max-height: 560px)").matches;
  document.documentElement.classList.toggle("zoning-small-screen", small);

  /* ONE renderer, SVG, for every polygon and line of the page (overlay pane). Leaflet gives
   * each pane its own renderer, and a canvas renderer covers the whole map and takes every
   * pointer event over it: a canvas for the sites in a pane above the polygons hid the
   * polygons from the mouse and the finger. Canvas hit-testing is also throttled (32 ms), so
   * a pointer that stops quickly is left on the previous feature. With SVG the browser
   * hit-tests each path itself; sites are DOM markers (marker pane), which catch the pointer
   * over their own icon only. */
  var renderer = L.svg({ padding: 0.5 });

  /* Tooltips are kept inside the map (hence inside the screen): after Leaflet placed one,
   * shift it back by the overflow. */
  var MARGIN = 4;
  var baseSetPosition = L.Tooltip.prototype._setPosition;
  L.Tooltip.include({
    _setPosition: function (pos) {
      baseSetPosition.call(this, pos);
      var c = this._container, m = this._map;
      if (!c || !m) { return; }
      /* measured boxes: they include the arrow margins of leaflet-tooltip-left/right */
      var r = c.getBoundingClientRect(), b = m.getContainer().getBoundingClientRect(), dx = 0, dy = 0;
      if (r.right > b.right - MARGIN) { dx = b.right - MARGIN - r.right; }
      if (r.left + dx < b.left + MARGIN) { dx = b.left + MARGIN - r.left; }
      if (r.bottom > b.bottom - MARGIN) { dy = b.bottom - MARGIN - r.bottom; }
      if (r.top + dy < b.top + MARGIN) { dy = b.top + MARGIN - r.top; }
      /* then out from under the controls (they are drawn above the map panes): of the
       * positions just beside an overlapping control, the nearest one that fits on the map
       * and overlaps no control */
      var left = r.left + dx, top = r.top + dy, w = r.width, h = r.height, boxes = [];
      document.querySelectorAll(".leaflet-control").forEach(function (e) {
        var q = e.getBoundingClientRect();
        if (q.width && q.height) { boxes.push(q); }
      });
      function hits(x, y) {
        for (var i = 0; i < boxes.length; i++) {
          var q = boxes[i];
          if (x < q.right && x + w > q.left && y < q.bottom && y + h > q.top) { return q; }
        }
        return null;
      }
      function fits(x, y) {
        return x >= b.left + MARGIN && x + w <= b.right - MARGIN && y >= b.top + MARGIN
          && y + h <= b.bottom - MARGIN && !hits(x, y);
      }
      if (hits(left, top)) {
        var best = null, bestD = Infinity;
        boxes.forEach(function (q) {
          [[left, q.bottom + MARGIN], [left, q.top - MARGIN - h], [q.left - MARGIN - w, top],
           [q.right + MARGIN, top]].forEach(function (cand) {
            var d = Math.abs(cand[0] - left) + Math.abs(cand[1] - top);
            if (d < bestD && fits(cand[0], cand[1])) { best = cand; bestD = d; }
          });
        });
        if (best) { dx += best[0] - left; dy += best[1] - top; }
      }
      if (dx || dy) { L.DomUtil.setPosition(c, L.DomUtil.getPosition(c).add([dx, dy])); }
    }
  });

  /* ---------------- the region's view, set before any layer is drawn: fitting it after
     would project every polygon at the page's first zoom, animate the zoom, then project
     them all again (a second of a national map's load) */
  var bounds = L.latLngBounds(D.bounds);
  map.options.zoomSnap = 0.25;  /* the region fills a phone screen instead of half of it */
  function fitRegion(animate) {
    /* leave room for the controls on wide screens */
    var wide = map.getSize().x > 900;
    var opts = wide ? { paddingTopLeft: [60, 10], paddingBottomRight: [330, 10] }
                    : { padding: [10, 10] };
    if (animate === false) { opts.animate = false; }
    map.fitBounds(bounds, opts);
  }
  fitRegion(false);

  var epciGeoms = decode(D.epci.geom);
  /* communes are decoded when first needed (their layer switched on, a commune searched):
     35,000 polygons in the national map, hidden at load */
  var communeGeoms = null;
  function communeGeom(j) {
    if (communeGeoms === null) { communeGeoms = decode(D.communes.geom); }
    return communeGeoms[j];
  }
  var overlays = {}, legends = {}, layerOrder = [];
  var priorityLayers = [];

  /* ---------------- EPCI layers (priority + one per criterion) */
  function epciFeature(i) {
    return { type: "Feature", geometry: epciGeoms[i], properties: { i: i } };
  }
  function epciTooltip(i) {
    var rows = [];
    for (var k = 0; k < D.epci.labels.length; k++) { rows.push([D.epci.labels[k], D.epci.values[i][k]]); }
    return tooltipTable(D.epci.names[i], rows);
  }
  D.epci_layers.forEach(function (spec) {
    /* a layer hidden at load gets its 1,232 national polygons the first time it is shown */
    var filled = false;
    function fill() {
      if (filled) { return; }
      filled = true;
      var feats = [];
      for (var i = 0; i < epciGeoms.length; i++) { feats.push(epciFeature(i)); }
      if (spec.priority) {
        /* selected zones drawn last so that their thick outline is on top */
        feats.sort(function (a, b) { return D.epci.selected[a.properties.i] - D.epci.selected[b.properties.i]; });
      }
      layer.addData(feats);
    }
    var layer = L.geoJSON(null, {
      renderer: renderer,
      style: function (f) {
        var i = f.properties.i, code = spec.codes[i];
        var st = { fillColor: code < 0 ? D.missing_color : spec.colors[code], fillOpacity: 0.78,
                   color: "#ffffff", weight: 0.8, opacity: 1 };
        if (spec.priority && D.epci.selected[i]) {
          /* robuste: solid outline; limite: dashed */
          st.color = "#111111"; st.weight = 3.2;
          if (D.epci.robust[i] !== 1) { st.dashArray = "7 5"; }
        }
        return st;
      },
      onEachFeature: function (f, l) {
        l.bindTooltip(function () { return epciTooltip(f.properties.i); },
                      { sticky: true, direction: "auto", className: "zoning-tooltip" });
        l.on("mouseover", function () { l.setStyle({ weight: spec.priority && D.epci.selected[f.properties.i] ? 4.5 : 2.5, color: "#111111" }); });
        l.on("tooltipopen", function () { l.bringToFront(); });
        l.on("mouseout", function () { layer.resetStyle(l); });
        if (spec.priority) { priorityLayers[f.properties.i] = l; }
      }
    });
    layer.on("add", fill);
    overlays[spec.name] = layer;
    legends[spec.name] = spec.legend;
    layerOrder.push(spec.name);
    if (spec.visible || spec.priority) { fill(); }
    if (spec.visible) { layer.addTo(map); }
  });

  /* ---------------- communes: travel time to the nearest SU/SMUR */
  if (D.communes) {
    var C = D.communes;
    /* the layer is filled the first time it is shown (it is hidden at load) */
    var clayer = L.featureGroup(), cfilled = false;
    clayer.on("add", function () {
      if (cfilled) { return; }
      cfilled = true;
      var cfeats = [];
      for (var j = 0; j < C.nom.length; j++) {
        cfeats.push({ type: "Feature", geometry: communeGeom(j), properties: { j: j } });
      }
      clayer.addLayer(communeLayer(cfeats));
    });
    var communeLayer = function (cfeats) { return L.geoJSON(cfeats, {
      renderer: renderer,
      style: function (f) {
        var code = C.codes_class[f.properties.j];
        return { fillColor: code < 0 ? D.missing_color : C.colors[code], fillOpacity: 0.8,
                 color: "#ffffff", weight: 0.3, opacity: 0.9 };
      },
      onEachFeature: function (f, l) {
        l.bindTooltip(function () {
          var j = f.properties.j, rows = [];
          rows.push(["Code INSEE", C.code[j]]);
          if (C.epci[j] >= 0) { rows.push(["EPCI", D.epci.names[C.epci[j]]]); }
          rows.push(["Population", fmt(C.pop[j], 0)]);
          rows.push([C.labels.t, C.t[j] === null ? D.missing : fmt(C.t[j], 0) + " min"]);
          rows.push([C.labels.su, C.tsu[j] === null ? D.missing : fmt(C.tsu[j], 0) + " min"]);
          rows.push([C.labels.smur, C.tsmur[j] === null ? D.missing : fmt(C.tsmur[j], 0) + " min"]);
          if (C.near[j] !== null && C.near[j] >= 0) { rows.push([C.labels.near, D.sites.nom[C.near[j]]]); }
          return tooltipTable(C.nom[j], rows);
        }, { sticky: true, className: "zoning-tooltip" });
      }
    }); };
    overlays[C.name] = clayer;
    legends[C.name] = C.legend;
    layerOrder.push(C.name);
  }

  /* ---------------- SU and SMUR sites */
  function siteTooltip(k) {
    return tooltipTable(D.sites.nom[k], [["FINESS", D.sites.finess[k]], ["Type", D.sites.type[k]],
                                         ["Catégorie", D.sites.cat[k]]]);
  }
  var S = D.sites;
  if (S && S.nom.length) {
    var su = L.layerGroup(), smur = L.layerGroup();
    for (var k = 0; k < S.nom.length; k++) {
      (function (k) {
        var ll = [S.lat[k], S.lon[k]], out = S.out && S.out[k] ? " zoning-out" : "";
        if (S.su[k]) {
          L.marker(ll, { icon: L.divIcon({ className: "zoning-su-icon" + out, html: "<span class=\"zoning-su\"></span>", iconSize: [13, 13] }), keyboard: false, riseOnHover: true })
            .bindTooltip(function () { return siteTooltip(k); }, { className: "zoning-tooltip" }).addTo(su);
        }
        if (S.smur[k]) {
          L.marker(ll, { icon: L.divIcon({ className: "zoning-smur-icon" + out, html: "<span class=\"zoning-smur\"></span>", iconSize: [12, 12] }), keyboard: false, riseOnHover: true })
            .bindTooltip(function () { return siteTooltip(k); }, { className: "zoning-tooltip" }).addTo(smur);
        }
      })(k);
    }
    overlays[S.name_su] = su; legends[S.name_su] = S.legend_su; layerOrder.push(S.name_su);
    overlays[S.name_smur] = smur; legends[S.name_smur] = S.legend_smur; layerOrder.push(S.name_smur);
    su.addTo(map); smur.addTo(map);
  }

  /* ---------------- orientation without tiles: départements, main towns, EPCI names */
  var O = D.orientation;
  if (O) {
    var olayer = L.layerGroup();
    if (O.deps) {
      var depGeoms = decode(O.deps.geom), dfeats = [];
      for (var q = 0; q < depGeoms.length; q++) { dfeats.push({ type: "Feature", geometry: depGeoms[q], properties: {} }); }
      L.geoJSON(dfeats, { renderer: renderer, interactive: false,
                          style: { color: "#37474f", weight: 1.6, opacity: 0.9, fill: false } }).addTo(olayer);
      O.deps.names.forEach(function (n, q) {
        L.marker(O.deps.pt[q], { interactive: false, keyboard: false,
          icon: L.divIcon({ className: "zoning-label zoning-dep-label", html: "", iconSize: null }) })
          .on("add", function (e) { e.target.getElement().textContent = n; }).addTo(olayer);
      });
    }
    (O.towns || []).forEach(function (t) {
      L.marker([t.lat, t.lon], { interactive: false, keyboard: false,
        icon: L.divIcon({ className: "zoning-label zoning-town zoning-town-" + t.kind, html: "", iconSize: null }) })
        .on("add", function (e) { var d = e.target.getElement(); d.textContent = ""; d.appendChild(el("span", "zoning-dot")); d.appendChild(el("span", null, t.nom)); })
        .addTo(olayer);
    });
    D.epci.names.forEach(function (n, i) {
      L.marker(D.epci.pt[i], { interactive: false, keyboard: false,
        icon: L.divIcon({ className: "zoning-label zoning-epci-label", html: "", iconSize: null }) })
        .on("add", function (e) { e.target.getElement().textContent = n; }).addTo(olayer);
    });
    overlays[O.name] = olayer; legends[O.name] = O.legend; layerOrder.push(O.name);
    olayer.addTo(map);
    var zoomClass = function () {
      var z = map.getZoom(), c = map.getContainer().classList;
      c.toggle("zoning-z9", z >= 9); c.toggle("zoning-z10", z >= 10);
    };
    map.on("zoomend", zoomClass);
    zoomClass();
  }

  /* ---------------- base maps (the only network resource) and layer control */
  var bases = {};
  var osm = L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
    maxZoom: 19, opacity: 0.55,
    attribution: "Fond © contributeurs OpenStreetMap"
  });
  bases["Fond OpenStreetMap (en ligne)"] = osm;
  bases["Sans fond de carte"] = L.layerGroup();
  osm.addTo(map);
  /* Leaflet writes layer names as HTML: escape them */
  function escapeHtml(t) {
    return String(t).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }
  var ordered = {};
  layerOrder.forEach(function (n) { ordered[escapeHtml(n)] = overlays[n]; });
  /* open list on large screens; a button on small ones (the list is built either way) */
  var narrow = small || window.innerHeight < 760 || window.innerWidth < 900;
  L.control.layers(bases, ordered, { collapsed: narrow, position: "topright" }).addTo(map);
  L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
  map.attributionControl.setPrefix("Leaflet");
  map.attributionControl.addAttribution(D.attribution);

  /* ---------------- legend: one block per visible overlay */
  var legendCtl = L.control({ position: "bottomright" });
  legendCtl.onAdd = function () {
    var box = el("details", "zoning-legend leaflet-bar");
    box.open = !small;  /* folded on phones: one tap on "Légende" opens it */
    box.appendChild(el("summary", null, "Légende"));
    this._div = el("div", "zoning-legend-body");
    box.appendChild(this._div);
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.disableScrollPropagation(box);
    return box;
  };
  legendCtl.update = function () {
    var div = this._div;
    while (div.firstChild) { div.removeChild(div.firstChild); }
    layerOrder.forEach(function (n) {
      var lg = legends[n];
      if (!lg || !map.hasLayer(overlays[n])) { return; }
      var block = el("div", "zoning-legend-block");
      block.appendChild(el("div", "zoning-legend-title", lg.title));
      lg.items.forEach(function (it) {
        var row = el("div", "zoning-legend-row");
        var sw = el("span", "zoning-swatch " + (it.kind || ""));
        if (it.color) { sw.style.background = it.color; }
        row.appendChild(sw);
        row.appendChild(el("span", null, it.label));
        block.appendChild(row);
      });
      if (lg.note) { block.appendChild(el("div", "zoning-legend-note", lg.note)); }
      div.appendChild(block);
    });
  };
  legendCtl.addTo(map);
  legendCtl.update();
  map.on("overlayadd overlayremove", function () {
    legendCtl.update();
    priorityLayers.forEach(function (l, i) { if (l && D.epci.selected[i]) { l.bringToFront(); } });
  });

  /* ---------------- title and "about" panel */
  var title = el("header", "zoning-header");
  title.appendChild(el("h1", null, D.title));
  var sub = el("p", null, D.subtitle);
  sub.title = D.subtitle;  /* cut with an ellipsis on narrow screens: full text on hover */
  title.appendChild(sub);
  document.body.insertBefore(title, document.body.firstChild);
  map.getContainer().classList.add("zoning-map");
  function placeMap() {
    map.getContainer().style.setProperty("top", title.offsetHeight + "px", "important");
    map.invalidateSize();
  }
  placeMap();
  window.addEventListener("resize", placeMap);

  var about = L.control({ position: "bottomleft" });
  about.onAdd = function () {
    var d = el("details", "zoning-about leaflet-bar");
    d.appendChild(el("summary", null, small ? "Méthode et sources"
                                            : "Méthode, sources et notes — calcul du " + D.computed_at));
    if (small) { d.appendChild(el("p", "zoning-small", "Calcul du " + D.computed_at)); }
    d.appendChild(el("p", null, D.explanation));
    d.appendChild(el("h2", null, "Sources et millésimes"));
    var ul = el("ul");
    D.sources.forEach(function (s) { ul.appendChild(el("li", null, s)); });
    d.appendChild(ul);
    if (D.notes.length) {
      d.appendChild(el("h2", null, "Notes"));
      var ul2 = el("ul");
      D.notes.forEach(function (s) { ul2.appendChild(el("li", null, s)); });
      d.appendChild(ul2);
    }
    (D.sections || []).forEach(function (sec) {
      d.appendChild(el("h2", null, sec.title));
      var ul3 = el("ul");
      sec.lines.forEach(function (s) { ul3.appendChild(el("li", null, s)); });
      d.appendChild(ul3);
    });
    d.appendChild(el("p", "zoning-small", D.footer));
    L.DomEvent.disableClickPropagation(d);
    L.DomEvent.disableScrollPropagation(d);
    return d;
  };
  about.addTo(map);

  /* ---------------- home and fullscreen buttons (the region's view: see fitRegion) */
  function icon(paths) {
    var ns = "http://www.w3.org/2000/svg", svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24"); svg.setAttribute("width", "18"); svg.setAttribute("height", "18");
    paths.forEach(function (d) {
      var p = document.createElementNS(ns, "path");
      p.setAttribute("d", d); p.setAttribute("fill", "none"); p.setAttribute("stroke", "#333");
      p.setAttribute("stroke-width", "2.2"); p.setAttribute("stroke-linecap", "round"); p.setAttribute("stroke-linejoin", "round");
      svg.appendChild(p);
    });
    return svg;
  }
  var HOME = ["M3 11 L12 3 L21 11", "M6 9.5 V20 H18 V9.5", "M10 20 V14 H14 V20"];
  var FULL = ["M4 9 V4 H9", "M15 4 H20 V9", "M20 15 V20 H15", "M9 20 H4 V15"];
  function button(label, title, onclick) {
    var c = L.control({ position: "topleft" });
    c.onAdd = function () {
      var bar = el("div", "leaflet-bar");
      var a = el("a", "zoning-btn");
      a.appendChild(icon(label));
      a.href = "#"; a.title = title; a.setAttribute("role", "button"); a.setAttribute("aria-label", title);
      L.DomEvent.on(a, "click", function (e) { L.DomEvent.preventDefault(e); L.DomEvent.stopPropagation(e); onclick(); });
      bar.appendChild(a);
      return bar;
    };
    return c.addTo(map);
  }
  button(HOME, "Recentrer sur la région", fitRegion);
  button(FULL, "Plein écran", function () {
    var doc = document, root = doc.documentElement;
    if (doc.fullscreenElement) { doc.exitFullscreen(); }
    else if (root.requestFullscreen) { root.requestFullscreen(); }
  });
  document.addEventListener("fullscreenchange", function () { map.invalidateSize(); });

  /* ---------------- search by EPCI or commune name */
  function norm(s) {
    return String(s).normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[-'’]/g, " ");
  }
  var index = [];
  D.epci.names.forEach(function (n, i) { index.push({ key: norm(n), label: n, kind: "EPCI", i: i }); });
  if (D.communes) {
    D.communes.nom.forEach(function (n, j) {
      index.push({ key: norm(n), label: n, kind: "commune (" + D.communes.dep[j] + ")", j: j });
    });
  }
  var highlight = null;
  function choose(item) {
    if (highlight) { map.removeLayer(highlight); highlight = null; }
    var geom = item.i !== undefined ? epciGeoms[item.i] : communeGeom(item.j);
    highlight = L.geoJSON({ type: "Feature", geometry: geom, properties: {} }, {
      style: { color: "#00bcd4", weight: 4, fill: false, dashArray: "6 4" }, interactive: false
    }).addTo(map);
    map.fitBounds(highlight.getBounds(), { maxZoom: 11, padding: [30, 30] });
    if (item.i !== undefined && priorityLayers[item.i] && map.hasLayer(overlays[layerOrder[0]])) {
      priorityLayers[item.i].openTooltip(priorityLayers[item.i].getBounds().getCenter());
    }
  }
  var search = L.control({ position: "topleft" });
  search.onAdd = function () {
    var box = el("div", "zoning-search leaflet-bar");
    var input = el("input");
    input.type = "search";
    input.placeholder = "Rechercher un EPCI ou une commune";
    input.setAttribute("aria-label", "Rechercher un EPCI ou une commune");
    var list = el("ul", "zoning-search-results");
    box.appendChild(input); box.appendChild(list);
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.disableScrollPropagation(box);
    function refresh() {
      while (list.firstChild) { list.removeChild(list.firstChild); }
      var q = norm(input.value.trim());
      if (q.length < 2) { return; }
      var hits = index.filter(function (it) { return it.key.indexOf(q) >= 0; });
      hits.sort(function (a, b) {
        return (a.key.indexOf(q) === 0 ? 0 : 1) - (b.key.indexOf(q) === 0 ? 0 : 1) || a.key.length - b.key.length;
      });
      hits.slice(0, 12).forEach(function (it) {
        var li = el("li");
        li.appendChild(el("span", null, it.label));
        li.appendChild(el("small", null, " " + it.kind));
        li.tabIndex = 0;
        li.addEventListener("click", function () { choose(it); });
        li.addEventListener("keydown", function (e) { if (e.key === "Enter") { choose(it); } });
        list.appendChild(li);
      });
      if (!hits.length) { list.appendChild(el("li", "zoning-small", "Aucun résultat")); }
    }
    input.addEventListener("input", refresh);
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && list.firstChild && list.firstChild.click) { list.firstChild.click(); }
    });
    return box;
  };
  search.addTo(map);
  /* ---------------- print: north arrow and sources (shown only on paper), region refitted */
  var north = L.control({ position: "topright" });
  north.onAdd = function () {
    var d = el("div", "zoning-north zoning-print-only leaflet-bar");
    d.appendChild(el("div", null, "▲"));
    d.appendChild(el("div", null, D.print.north));
    return d;
  };
  north.addTo(map);
  var printSources = L.control({ position: "bottomleft" });
  printSources.onAdd = function () {
    var d = el("div", "zoning-print-sources zoning-print-only leaflet-bar");
    d.appendChild(el("div", null, "Sources : " + D.sources.join(" ; ")));
    d.appendChild(el("div", null, "Calcul du " + D.computed_at + " — " + D.footer));
    return d;
  };
  printSources.addTo(map);
  var legendWasOpen = null;
  function beforePrint() {
    var box = legendCtl.getContainer();
    legendWasOpen = box.open; box.open = true;
    placeMap();
    /* the legend stays on paper: keep the region clear of it */
    var lw = box.getBoundingClientRect().width;
    map.fitBounds(bounds, { paddingTopLeft: [8, 8], paddingBottomRight: [lw + 16, 8], animate: false });
  }
  function afterPrint() {
    if (legendWasOpen !== null) { legendCtl.getContainer().open = legendWasOpen; }
    placeMap();
    fitRegion();
  }
  window.addEventListener("beforeprint", beforePrint);
  window.addEventListener("afterprint", afterPrint);

  /* handles for scripted checks (tests), the PDF export, and users who extend the page */
  window.zoningMapApi = { map: map, overlays: overlays, priorityLayers: priorityLayers, choose: choose,
                          beforePrint: beforePrint, afterPrint: afterPrint };
  document.body.setAttribute("data-zoning-ready", "1");
}
