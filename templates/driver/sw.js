// The driver app's service worker: the app's own files kept on the phone, so it opens without a network.
// Its data is not cached here: the app keeps its run and its waiting scans itself.
const CACHE = "driver-{{ version }}";
const FILES = [{% for file in files %}"{{ file|escapejs }}"{% if not forloop.last %}, {% endif %}{% endfor %}];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((name) => name.startsWith("driver-") && name !== CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

// The network first (the newest app when there is one), the kept copy when there is none.
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || !FILES.includes(url.pathname)) return;
  event.respondWith(
    fetch(event.request)
      .then((answer) => {
        if (answer.ok) caches.open(CACHE).then((cache) => cache.put(event.request, answer.clone()));
        return answer;
      })
      .catch(() => caches.match(event.request).then((kept) => kept || Response.error())),
  );
});
