// Small helpers shared by the board and analytics pages: DOM building, the API, times.

/** Build an element. Children are nodes or strings (always text, never HTML). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name === "text") el.textContent = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function readConfig(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : {};
}

function cookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return "";
}

/** The CSRF token: the cookie, else the one the page rendered (CSRF_COOKIE_HTTPONLY). */
export function csrfToken() {
  const field = document.querySelector("input[name=csrfmiddlewaretoken]");
  return cookie("csrftoken") || (field ? field.value : "");
}

export class ApiError extends Error {
  constructor(status, body) {
    super(apiMessage(body) || `The server answered ${status}.`);
    this.status = status;
    this.body = body || {};
  }
}

/** A readable sentence from an error body: {"detail"}, or field errors {"field": ["..."]}. */
export function apiMessage(body) {
  if (!body || typeof body !== "object") return "";
  if (typeof body.detail === "string") return body.detail;
  const parts = [];
  const fields = body.fields && typeof body.fields === "object" ? body.fields : body;
  for (const [field, messages] of Object.entries(fields)) {
    if (field === "code" || field === "case") continue;
    const text = Array.isArray(messages) ? messages.join(" ") : String(messages);
    parts.push(field === "non_field_errors" ? text : `${field}: ${text}`);
  }
  return parts.join(" ");
}

async function request(url, options = {}) {
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin", ...options });
  } catch (error) {
    throw new ApiError(0, { detail: "The server could not be reached. Check the connection and try again." });
  }
  if (response.redirected && new URL(response.url).pathname.startsWith("/accounts/login")) {
    window.location.assign(`/accounts/login/?next=${encodeURIComponent(location.pathname)}`);
    throw new ApiError(401, { detail: "Signed out." });
  }
  let body = null;
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) body = await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401 || response.status === 403) {
      if (!body || !body.detail) body = { detail: "You are signed out or may not do this. Reload the page." };
    }
    throw new ApiError(response.status, body);
  }
  return body;
}

export function getJSON(url) {
  return request(url, { headers: { Accept: "application/json" } });
}

export function postJSON(url, data) {
  return request(url, {
    method: "POST",
    headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(data),
  });
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== "" && value !== null && value !== undefined) search.set(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

// --- Times ------------------------------------------------------------------------------------------------------

const formatters = new Map();

function formatter(timeZone, options) {
  const key = `${timeZone}|${JSON.stringify(options)}`;
  if (!formatters.has(key)) {
    let format;
    try {
      format = new Intl.DateTimeFormat(undefined, { ...options, timeZone: timeZone || undefined });
    } catch {
      format = new Intl.DateTimeFormat(undefined, options);
    }
    formatters.set(key, format);
  }
  return formatters.get(key);
}

/** "14:05" in the zone (the depot's); a date is added when it is not today there. */
export function clock(iso, timeZone) {
  if (!iso) return "";
  const at = new Date(iso);
  const day = formatter(timeZone, { year: "numeric", month: "2-digit", day: "2-digit" });
  const time = formatter(timeZone, { hour: "2-digit", minute: "2-digit" }).format(at);
  if (day.format(at) === day.format(new Date())) return time;
  return `${formatter(timeZone, { month: "short", day: "numeric" }).format(at)} ${time}`;
}

export function fullTime(iso, timeZone) {
  if (!iso) return "";
  return formatter(timeZone, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short",
  }).format(new Date(iso));
}

/** A duration as "45s", "12m", "3h 05m", "2d 4h". */
export function duration(ms) {
  const seconds = Math.max(0, Math.round(Math.abs(ms) / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ${String(minutes % 60).padStart(2, "0")}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

function zoneOffsetMs(utcMs, timeZone) {
  const parts = Object.fromEntries(
    formatter(timeZone, {
      hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    }).formatToParts(new Date(utcMs)).map((part) => [part.type, part.value]),
  );
  const asUtc = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
  return asUtc - (utcMs - (utcMs % 1000));
}

/** A datetime-local value ("2026-11-21T14:00") read as wall-clock time in the zone, as an ISO instant. */
export function zonedToIso(localValue, timeZone) {
  if (!localValue) return null;
  const [date, time] = localValue.split("T");
  const [year, month, day] = date.split("-").map(Number);
  const [hour, minute] = (time || "00:00").split(":").map(Number);
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  if (!timeZone) return new Date(year, month - 1, day, hour, minute).toISOString();
  let utc = wall - zoneOffsetMs(wall, timeZone);
  utc = wall - zoneOffsetMs(utc, timeZone); // once more across a DST change
  return new Date(utc).toISOString();
}

/** The instant as a datetime-local value in the zone. */
export function isoToZoned(date, timeZone) {
  const parts = Object.fromEntries(
    formatter(timeZone, {
      hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    }).formatToParts(date).map((part) => [part.type, part.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}

export function money(value, currency) {
  if (value === null || value === undefined || value === "") return "–";
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "USD" }).format(Number(value));
  } catch {
    return `${value} ${currency || ""}`.trim();
  }
}

export function percent(share) {
  if (share === null || share === undefined) return "–";
  return `${(share * 100).toFixed(1)}%`;
}
