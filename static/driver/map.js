// @ts-check
// The run on a map: the stops to go, numbered in their order, joined in that order. Leaflet from static/vendor/;
// tiles from the configured URL, none (a plain background) when it is empty.

import { FINISHED } from "./views.js";

/** @typedef {import("./api.js").RunStop} RunStop */

export class RunMap {
  /** @param {HTMLElement} element @param {{tileUrl: string, tileAttribution: string}} config */
  constructor(element, config) {
    /** @type {any} */
    const L = /** @type {any} */ (globalThis).L;
    this.L = L;
    this.map = null;
    this.key = "";
    if (!L) return;
    this.map = L.map(element, { zoomControl: true, attributionControl: Boolean(config.tileUrl) });
    if (config.tileUrl) L.tileLayer(config.tileUrl, { maxZoom: 19, attribution: config.tileAttribution }).addTo(this.map);
    else element.classList.add("map-no-tiles");
    this.layer = L.layerGroup().addTo(this.map);
  }

  /** @param {RunStop[]} stops in sequence; drawn again only when their order or a status changed */
  show(stops) {
    if (!this.map) return;
    const key = stops.map((stop) => `${stop.id}:${stop.status}`).join();
    if (key === this.key) return;
    const refit = !this.key || this.key.replace(/:\w+/g, "") !== key.replace(/:\w+/g, ""); // a new set or order
    this.key = key;
    const L = this.L;
    this.layer.clearLayers();
    const points = [];
    for (const stop of stops) {
      const point = [stop.address.latitude, stop.address.longitude];
      const done = FINISHED.has(stop.status);
      if (!done) points.push(point);
      const icon = L.divIcon({ className: `pin${done ? " pin-done" : ""}`, html: `<span>${stop.sequence}</span>`, iconSize: [28, 28] });
      L.marker(point, { icon, title: `${stop.sequence}. ${stop.address.line1}`, keyboard: false }).addTo(this.layer);
    }
    if (points.length > 1) L.polyline(points, { color: "#0b3d91", weight: 3, opacity: 0.7 }).addTo(this.layer);
    const all = stops.map((stop) => [stop.address.latitude, stop.address.longitude]);
    // The driver's own panning and zooming stay, unless the run itself changed.
    if (refit && all.length) this.map.fitBounds(L.latLngBounds(all).pad(0.15), { maxZoom: 15, animate: false });
  }

  resize() {
    if (this.map) this.map.invalidateSize();
  }
}
