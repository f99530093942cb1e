// @ts-check
// A photo taken now, by the camera: the app's own viewfinder (getUserMedia), so the photo library is never
// offered. Where the browser has no camera access for pages, or the driver refused it, the phone's camera app
// (capture="environment").

import { t } from "./i18n.js";
import { h } from "./views.js";

/** @returns {Promise<Blob | null>} the photo (JPEG), or null when the driver cancelled */
export async function takePhoto() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return cameraApp();
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch {
    return blocked();
  }
  const video = /** @type {HTMLVideoElement} */ (h("video", { playsinline: "", muted: "", autoplay: "", "aria-label": t("photo") }));
  video.srcObject = stream;
  // Enabled once the camera shows a picture: a tap before would take nothing.
  const shoot = h("button", { type: "button", class: "btn btn-primary btn-big", disabled: "" }, t("takePhoto"));
  const cancel = h("button", { type: "button", class: "btn btn-big" }, t("cancel"));
  const sheet = h("div", { class: "camera", role: "dialog", "aria-modal": "true", "aria-label": t("photo") },
    video, h("div", { class: "camera-actions" }, cancel, shoot));
  const taken = new Promise((resolve) => {
    const done = (/** @type {Blob | null} */ photo) => {
      for (const track of stream.getTracks()) track.stop();
      sheet.remove();
      resolve(photo);
    };
    cancel.addEventListener("click", () => done(null));
    shoot.addEventListener("click", () => {
      const canvas = document.createElement("canvas");
      canvas.width = video.videoWidth || 1280;
      canvas.height = video.videoHeight || 720;
      canvas.getContext("2d")?.drawImage(video, 0, 0, canvas.width, canvas.height);
      canvas.toBlob((blob) => done(blob), "image/jpeg", 0.85);
    });
  });
  video.addEventListener("playing", () => shoot.removeAttribute("disabled"), { once: true });
  document.body.append(sheet);
  video.play().catch(() => undefined);
  return taken;
}

/** The page may not use the camera: offer the phone's camera app, opened by the driver's own tap.
 * @returns {Promise<Blob | null>} */
function blocked() {
  const open = h("button", { type: "button", class: "btn btn-primary btn-big" }, t("cameraApp"));
  const cancel = h("button", { type: "button", class: "btn btn-big" }, t("cancel"));
  const sheet = h("div", { class: "camera camera-blocked", role: "dialog", "aria-modal": "true", "aria-label": t("photo") },
    h("p", {}, t("cameraBlocked")), h("div", { class: "camera-actions" }, cancel, open));
  document.body.append(sheet);
  return new Promise((resolve) => {
    cancel.addEventListener("click", () => { sheet.remove(); resolve(null); });
    open.addEventListener("click", () => { sheet.remove(); resolve(cameraApp()); });
  });
}

/** @returns {Promise<Blob | null>} */
function cameraApp() {
  return new Promise((resolve) => {
    const input = /** @type {HTMLInputElement} */ (h("input", { type: "file", accept: "image/jpeg,image/png", capture: "environment", hidden: "" }));
    input.addEventListener("change", () => {
      resolve(input.files && input.files[0] ? input.files[0] : null);
      input.remove();
    });
    input.addEventListener("cancel", () => {
      resolve(null);
      input.remove();
    });
    document.body.append(input);
    input.click();
  });
}
