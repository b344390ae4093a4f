// The first lines of the reading page (dist/reader-boot.js, under a kilobyte, no imports):
// - the request for the first image's display object, the same URL of the viewer's own
//   API that the image loader would ask for (answered only after the verdict is known;
//   the page's head preloads it, and this fetch takes that answer);
// - the page's data, parsed once for reader-first.js and reader.js;
// - preload(): the chunks reader.js imports (modulepreload; their names are put here by
//   build.mjs), which the browser would otherwise find only once reader.js is parsed,
//   asked for by reader-first.js once the first image is drawn (or left to reader.js).
// reader-first.js draws the first image from those bytes, then starts the decoding worker
// and evaluates reader.js, which takes the bytes and the worker over; if either is missing
// or fails, it asks again the usual way. Nothing here draws or decides anything.
const preload = () => {
  for (const name of READER_CHUNKS) {
    const link = document.createElement('link');
    link.rel = 'modulepreload';
    link.href = new URL(`./${name}`, import.meta.url).href;
    document.head.append(link);
  }
};
const data = JSON.parse(document.getElementById('series-data').textContent);
const first = data.instances.find((inst) => inst.has_pixels);
const boot = { worker: null, image: null, data, preload };
if (first && first.frames <= 1) {
  const url = `${location.origin}/api/instances/${first.id}/image.dcm`;
  const bytes = fetch(url, { credentials: 'same-origin' }).then((r) => {
    if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
    return r.arrayBuffer();
  });
  bytes.catch(() => {}); // a failure is handled where the bytes are used (reader.js)
  boot.image = { url, bytes };
}
window.dicomsealBoot = boot;
