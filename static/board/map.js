// The live map: open cases and the drivers' last positions. Leaflet comes from static/vendor/ (npm);
// without tiles (no tile URL, or offline) the markers are drawn on a plain background.

// Leaflet reads a string as HTML: names and references go in as text nodes.
function label(text) {
  const span = document.createElement("span");
  span.textContent = text;
  return span;
}

function tooltip(marker, text) {
  if (marker.getTooltip()) marker.setTooltipContent(label(text));
  else marker.bindTooltip(label(text));
}

const CASE_COLOURS = { 1: "#b42318", 2: "#d9480f", 3: "#b7791f", 4: "#2f6f4f", 5: "#52606d" };

export class BoardMap {
  constructor({ element, note, tileUrl, attribution, depots, onOpen, onDriver = () => {} }) {
    this.element = element;
    this.note = note;
    this.onOpen = onOpen;
    this.onDriver = onDriver; // a driver's marker clicked: their stops left are asked for
    this.routeOf = null; // the driver whose route is drawn
    this.caseMarkers = new Map();
    this.driverMarkers = new Map();
    this.fitted = false;
    this.L = globalThis.L;
    if (!this.L) {
      this.showNote("The map could not load; the queue works without it.");
      return;
    }
    const L = this.L;
    const centre = depots.length ? [depots[0].lat, depots[0].lng] : [41.88, -87.63];
    this.map = L.map(element, { zoomControl: true, attributionControl: Boolean(tileUrl), preferCanvas: true })
      .setView(centre, 11);
    if (tileUrl) {
      const layer = L.tileLayer(tileUrl, { maxZoom: 19, attribution: attribution || "" });
      let failures = 0;
      layer.on("tileerror", () => {
        failures += 1;
        if (failures === 4) this.showNote("Map tiles are not loading; markers are still live.");
      });
      layer.addTo(this.map);
    } else {
      element.classList.add("map-no-tiles");
    }
    this.depotLayer = L.layerGroup().addTo(this.map);
    this.depotPoints = depots.map((depot) => L.latLng(depot.lat, depot.lng));
    for (const depot of depots) {
      L.circleMarker([depot.lat, depot.lng], {
        radius: 7, color: "#1f2933", weight: 2, fillColor: "#fff", fillOpacity: 1,
      }).bindTooltip(label(`Depot: ${depot.name}`)).addTo(this.depotLayer);
    }
    this.routeLayer = L.layerGroup().addTo(this.map);
    this.driverLayer = L.layerGroup().addTo(this.map);
    this.caseLayer = L.layerGroup().addTo(this.map);
  }

  showNote(text) {
    if (!this.note) return;
    this.note.textContent = text;
    this.note.hidden = false;
  }

  /** Leaflet measures its box once; call after the layout changes. */
  resize() {
    if (this.map) this.map.invalidateSize();
  }

  setCases(rows, selectedId) {
    if (!this.map) return;
    const L = this.L;
    const keep = new Set();
    for (const row of rows) {
      if (row.lat === null || row.lat === undefined || row.lng === null || row.lng === undefined) continue;
      keep.add(row.id);
      // A marker whose case and selection are as when it was drawn is left alone: 5,000 of them stay cheap.
      const key = `${row.version}|${row.id === selectedId}`;
      const drawn = this.caseMarkers.get(row.id);
      if (drawn && drawn.key === key) continue;
      const style = {
        radius: row.id === selectedId ? 10 : row.needs_human ? 8 : 6,
        color: row.id === selectedId ? "#111827" : "#ffffff",
        weight: row.id === selectedId ? 3 : 1.5,
        fillColor: CASE_COLOURS[row.priority] || CASE_COLOURS[3],
        fillOpacity: row.needs_human ? 0.95 : 0.6,
      };
      let marker = this.caseMarkers.get(row.id);
      if (!marker) {
        marker = L.circleMarker([row.lat, row.lng], style).addTo(this.caseLayer);
        marker.on("click", () => this.onOpen(marker.caseId));
        this.caseMarkers.set(row.id, marker);
      } else {
        marker.setLatLng([row.lat, row.lng]).setStyle(style);
      }
      marker.caseId = row.id;
      marker.key = key;
      tooltip(marker, `${row.order_reference} · ${row.reason_label} · ${row.state_label}`);
    }
    for (const [id, marker] of this.caseMarkers) {
      if (!keep.has(id)) {
        marker.remove();
        this.caseMarkers.delete(id);
      }
    }
    if (!this.fitted) this.fit();
  }

  setDrivers(drivers) {
    if (!this.map) return;
    const L = this.L;
    const keep = new Set();
    for (const driver of drivers) {
      if (driver.lat === null || driver.lat === undefined) continue;
      keep.add(driver.id);
      let marker = this.driverMarkers.get(driver.id);
      const stale = driver.seen_at && Date.now() - Date.parse(driver.seen_at) > 15 * 60000;
      const style = { radius: 5, color: "#1d4ed8", weight: 2, fillColor: stale ? "#cbd5e1" : "#60a5fa", fillOpacity: 1 };
      if (!marker) {
        marker = L.circleMarker([driver.lat, driver.lng], style).addTo(this.driverLayer);
        marker.on("click", () => this.onDriver(driver.id));
        this.driverMarkers.set(driver.id, marker);
      } else {
        marker.setLatLng([driver.lat, driver.lng]).setStyle(style);
      }
      const seen = driver.seen_at ? new Date(driver.seen_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "unknown";
      // Named on the map, as the legend says. The name is the driver's handle too: clicking it (or the dot) shows
      // the stops left. Bound once: a new snapshot changes the words, not the element (a label bound again fades
      // out beside its new copy).
      if (marker.getTooltip()) {
        marker.setTooltipContent(label(driver.name));
      } else {
        marker.bindTooltip(label(driver.name), { permanent: true, interactive: true, direction: "right", className: "driver-label", offset: [4, 0] });
        const tag = marker.getTooltip()?.getElement();
        if (tag) {
          tag.dataset.driverId = String(driver.id);
          tag.title = "Show the stops left";
          tag.addEventListener("click", () => this.onDriver(driver.id));
        }
      }
      marker.getElement?.()?.setAttribute("aria-label", `Driver ${driver.name} · seen ${seen}`);
    }
    for (const [id, marker] of this.driverMarkers) {
      if (!keep.has(id)) {
        marker.remove();
        this.driverMarkers.delete(id);
      }
    }
  }

  /** A driver's stops left, in order, from where the driver was last seen; ``null`` hides it. */
  showRoute(route) {
    if (!this.map) return;
    const L = this.L;
    this.routeLayer.clearLayers();
    this.routeOf = route ? route.driver_id : null;
    if (!route) return;
    const points = route.stops.map((stop) => [stop.lat, stop.lng]);
    if (route.lat !== null && route.lat !== undefined) points.unshift([route.lat, route.lng]);
    if (points.length > 1) {
      L.polyline(points, { color: "#1d4ed8", weight: 3, opacity: 0.75, dashArray: "6 6" }).addTo(this.routeLayer);
    }
    for (const stop of route.stops) {
      L.circleMarker([stop.lat, stop.lng], { radius: 4, color: "#1d4ed8", weight: 2, fillColor: "#fff", fillOpacity: 1 })
        .bindTooltip(label(`${route.driver_name} · ${stop.sequence}. ${stop.order_reference}`))
        .addTo(this.routeLayer);
    }
    // Brought into view when it runs off it; the dispatcher's view is kept otherwise.
    if (points.length && !this.map.getBounds().contains(L.latLngBounds(points))) {
      this.map.fitBounds(L.latLngBounds(points).pad(0.2), { maxZoom: 15, animate: false });
    }
  }

  fit() {
    this.map.invalidateSize();
    const markers = [...this.caseMarkers.values(), ...this.driverMarkers.values()];
    if (!markers.length) return;
    const points = [...this.depotPoints, ...markers.map((marker) => marker.getLatLng())];
    this.fitted = true;
    this.map.fitBounds(this.L.latLngBounds(points).pad(0.15), { maxZoom: 14, animate: false });
  }

  focusCase(id) {
    const marker = this.caseMarkers.get(id);
    if (marker && this.map) this.map.panTo(marker.getLatLng(), { animate: false });
  }
}
