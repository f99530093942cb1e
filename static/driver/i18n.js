// @ts-check
// What the driver reads, in English and Spanish. The phone's language picks one; the button in the bar switches.

/** @type {Record<string, Record<string, string>>} */
const STRINGS = {
  en: {
    app: "Driver",
    other: "Español",
    otherShort: "ES",
    signInTitle: "Sign in",
    signInHelp: "Ask dispatch for a sign-in code, then type it here or scan its QR code with the camera.",
    code: "Sign-in code",
    signIn: "Sign in",
    signingIn: "Signing in…",
    signOut: "Sign out",
    signOutConfirm: "Sign this phone out? Scans waiting to send stay on the phone until you sign in again.",
    live: "Live",
    offline: "Offline",
    polling: "Reconnecting…",
    waiting: "{n} scans waiting to send",
    waitingOne: "1 scan waiting to send",
    noRun: "You have no run today.",
    runOf: "{depot} · {date}",
    stopsLeft: "{left} of {total} stops to go",
    map: "Map",
    list: "Stops",
    window: "Window {from}–{to}",
    planned: "Planned {at}",
    parcels: "{n} parcels",
    parcel: "1 parcel",
    signature: "Signature needed",
    safeDrop: "Safe place allowed",
    neighbour: "Neighbour allowed",
    access_on_file: "Access code on file",
    access_verified: "Access code on file · worked last time",
    access_failing: "Access code on file · failed last time",
    access_flagged: "The access codes failed twice: ask dispatch",
    attempts: "Attempt {n}",
    back: "Back to the stops",
    navigate: "Directions",
    call: "Call the recipient",
    calling: "Your phone rings first: answer it to be connected.",
    revealCode: "Show the access code",
    revealConfirm: "Showing the code is recorded. Show it now?",
    revealShown: "Hidden in {s} s",
    revealNone: "No code on file.",
    delivered: "Delivered",
    failed: "Not delivered…",
    failTitle: "Why not delivered?",
    reason: "Reason",
    notes: "Note for dispatch (optional)",
    photo: "Photo",
    photoNeeded: "This reason needs a photo taken now.",
    takePhoto: "Take photo",
    retake: "Take again",
    usePhoto: "Use this photo",
    cancel: "Cancel",
    send: "Send",
    cameraBlocked: "This page may not use the camera. Take the photo with the phone's camera app, or allow the camera in the browser's settings.",
    cameraApp: "Open the camera",
    queued: "Saved. It is sent as soon as there is a network.",
    sent: "Sent to dispatch.",
    refused: "Not recorded: {why}",
    ok: "OK",
    status_pending: "To do",
    status_arrived: "Arrived",
    status_delivered: "Delivered",
    status_failed: "Not delivered",
    status_rescheduled: "Moved",
    status_skipped: "Skipped",
    status_cancelled: "Cancelled",
    status_sending: "Sending…",
    kind_access_code: "New access code",
    kind_retry_now: "Go back now",
    kind_wait: "Wait at the stop",
    kind_safe_drop: "Leave it in a safe place",
    kind_neighbour: "Leave it with a neighbour",
    kind_skip: "Moved to a later run",
    kind_route_updated: "Your route changed",
    kind_note: "From dispatch",
    newOrder: "Stops in their new order.",
    locationOff: "Location is off: dispatch cannot see where you are.",
    error_sign_in: "This code does not sign in: it is used, expired or mistyped. Ask dispatch for a new one.",
    error_outside_radius: "You are too far from the stop: show the code when you are there.",
    error_no_position: "Your location is unknown: turn location on and try again.",
    error_stop_not_active: "This stop is finished or moved: it takes nothing more.",
    error_no_code_on_file: "No access code is on file for this stop.",
    error_no_phone: "Your phone number is not on file: ask dispatch to add it.",
    error_throttled: "Too many tries: wait a minute and try again.",
  },
  es: {
    app: "Repartidor",
    other: "English",
    otherShort: "EN",
    signInTitle: "Iniciar sesión",
    signInHelp: "Pide a despacho un código de acceso y escríbelo aquí o escanea su código QR con la cámara.",
    code: "Código de acceso",
    signIn: "Entrar",
    signingIn: "Entrando…",
    signOut: "Cerrar sesión",
    signOutConfirm: "¿Cerrar la sesión en este teléfono? Los escaneos pendientes se quedan en el teléfono hasta que vuelvas a entrar.",
    live: "En línea",
    offline: "Sin conexión",
    polling: "Reconectando…",
    waiting: "{n} escaneos por enviar",
    waitingOne: "1 escaneo por enviar",
    noRun: "Hoy no tienes ruta.",
    runOf: "{depot} · {date}",
    stopsLeft: "Quedan {left} de {total} paradas",
    map: "Mapa",
    list: "Paradas",
    window: "Franja {from}–{to}",
    planned: "Previsto {at}",
    parcels: "{n} paquetes",
    parcel: "1 paquete",
    signature: "Requiere firma",
    safeDrop: "Se puede dejar en lugar seguro",
    neighbour: "Se puede dejar con un vecino",
    access_on_file: "Hay código de acceso",
    access_verified: "Hay código de acceso · funcionó la última vez",
    access_failing: "Hay código de acceso · falló la última vez",
    access_flagged: "Los códigos fallaron dos veces: pregunta a despacho",
    attempts: "Intento {n}",
    back: "Volver a las paradas",
    navigate: "Cómo llegar",
    call: "Llamar al destinatario",
    calling: "Primero suena tu teléfono: contesta para conectar.",
    revealCode: "Ver el código de acceso",
    revealConfirm: "Ver el código queda registrado. ¿Verlo ahora?",
    revealShown: "Se oculta en {s} s",
    revealNone: "No hay código.",
    delivered: "Entregado",
    failed: "No entregado…",
    failTitle: "¿Por qué no se entregó?",
    reason: "Motivo",
    notes: "Nota para despacho (opcional)",
    photo: "Foto",
    photoNeeded: "Este motivo necesita una foto tomada ahora.",
    takePhoto: "Tomar foto",
    retake: "Repetir",
    usePhoto: "Usar esta foto",
    cancel: "Cancelar",
    send: "Enviar",
    cameraBlocked: "Esta página no puede usar la cámara. Haz la foto con la app de cámara del teléfono o permite la cámara en los ajustes del navegador.",
    cameraApp: "Abrir la cámara",
    queued: "Guardado. Se envía en cuanto haya red.",
    sent: "Enviado a despacho.",
    refused: "No registrado: {why}",
    ok: "Entendido",
    status_pending: "Pendiente",
    status_arrived: "En la parada",
    status_delivered: "Entregado",
    status_failed: "No entregado",
    status_rescheduled: "Movido",
    status_skipped: "Omitido",
    status_cancelled: "Cancelado",
    status_sending: "Enviando…",
    kind_access_code: "Nuevo código de acceso",
    kind_retry_now: "Vuelve ahora",
    kind_wait: "Espera en la parada",
    kind_safe_drop: "Déjalo en un lugar seguro",
    kind_neighbour: "Déjalo con un vecino",
    kind_skip: "Movido a otra ruta",
    kind_route_updated: "Tu ruta cambió",
    kind_note: "De despacho",
    newOrder: "Paradas en su nuevo orden.",
    locationOff: "La ubicación está apagada: despacho no ve dónde estás.",
    error_sign_in: "Este código no sirve: ya se usó, caducó o está mal escrito. Pide uno nuevo a despacho.",
    error_outside_radius: "Estás demasiado lejos de la parada: mira el código cuando estés allí.",
    error_no_position: "No se sabe dónde estás: activa la ubicación y vuelve a intentarlo.",
    error_stop_not_active: "Esta parada ya terminó o se movió: no admite nada más.",
    error_no_code_on_file: "No hay código de acceso para esta parada.",
    error_no_phone: "Tu número de teléfono no está registrado: pide a despacho que lo añada.",
    error_throttled: "Demasiados intentos: espera un minuto y vuelve a intentarlo.",
  },
};

const KEY = "driver.language";
let current = pick();

function pick() {
  const kept = globalThis.localStorage?.getItem(KEY);
  if (kept && kept in STRINGS) return kept;
  return (globalThis.navigator?.language || "en").toLowerCase().startsWith("es") ? "es" : "en";
}

export function language() {
  return current;
}

/** @param {string} code */
export function setLanguage(code) {
  current = code in STRINGS ? code : "en";
  globalThis.localStorage?.setItem(KEY, current);
  document.documentElement.lang = current;
}

/**
 * @param {string} key
 * @param {Record<string, string | number>} [values]
 */
export function t(key, values = {}) {
  const text = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

/** @type {string | undefined} the depot's time zone: the run's times are the depot's, wherever the phone is set */
let zone;

/** @param {string | undefined} timeZone an IANA zone, e.g. "America/Chicago" */
export function setZone(timeZone) {
  try {
    new Intl.DateTimeFormat("en", { timeZone });
    zone = timeZone;
  } catch {
    zone = undefined; // a zone this phone does not know: its own
  }
}

/** A time of day in the phone's language and the depot's zone, e.g. "14:05" or "2:05 p. m.".
 * @param {string | null | undefined} iso */
export function clock(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleTimeString(current, { hour: "2-digit", minute: "2-digit", timeZone: zone });
}

/** @param {string} isoDate "2026-11-18" */
export function day(isoDate) {
  const [year, month, date] = isoDate.split("-").map(Number);
  return new Date(year, month - 1, date).toLocaleDateString(current, { weekday: "long", day: "numeric", month: "long" });
}

/** Whether there is a string for ``key`` (an error the app words itself). @param {string} key */
export function has(key) {
  return key in STRINGS.en;
}

/** Tests can check that both languages say everything. */
export const LANGUAGES = Object.keys(STRINGS);
export const KEYS = { en: Object.keys(STRINGS.en), es: Object.keys(STRINGS.es) };
