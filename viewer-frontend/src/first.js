// The first paint of the reading page (dist/reader-first.js): the first image drawn at
// full resolution from its uncompressed 8/16-bit pixels while the Cornerstone bundle is
// still being fetched and evaluated; reader.js takes the same screen area over on its
// first render (and removes this canvas), through the same window.
//
// The bytes are the display object that reader-boot.js asked the viewer's own API for
// (/api/instances/{id}/image.dcm, written by the server from the verified snapshot and
// answered only once the verdict is in): the same request the image loader is handed, so
// nothing is fetched twice. The image is drawn only when its instance carries a final
// verdict (green, red or grey) in the page's payload, together with that instance's badge,
// demographics and altered-pixels warning (overlay.js), and only when it is drawn here
// exactly as Cornerstone's CPU path draws it:
// - Modality LUT: Rescale Slope and Intercept, integers (PS3.3 §C.11.1; a fractional
//   rescale is requantised by Cornerstone's CPU path, so it is left to Cornerstone);
// - VOI LUT: the first Window Center/Width pair, else the full range of the modality
//   values, through the linear function of PS3.3 §C.11.2.1.2.1 (VOI LUT Function absent
//   or LINEAR), to 0..255;
// - MONOCHROME1 inverted (PS3.3 §C.7.6.3.1.2), signed values sign-extended from Bits
//   Stored, Uint8ClampedArray rounding, fitted to the viewport and centred, smoothed.
// Anything else (compressed transfer syntaxes, colour, several frames, non-square pixels,
// PET or RT dose scaling) is left to Cornerstone: nothing is drawn here then.
import { parseDicom } from 'dicom-parser';
import { $, showInstance, windowReadout } from './overlay.js';

const EXPLICIT_LITTLE = '1.2.840.10008.1.2.1';
const FINAL = new Set(['green', 'red', 'grey']);

function decline(reason) {
  document.body.dataset.firstPaint = `skipped: ${reason}`;
  return null;
}

function numbers(ds, tag) {
  const el = ds.elements[tag];
  if (!el) return null;
  const n = ds.numStringValues(tag) || 0;
  const out = [];
  for (let i = 0; i < n; i++) out.push(ds.floatString(tag, i));
  return out.length && out.every(Number.isFinite) ? out : null;
}

/** What the image needs to be drawn, or null (with the reason on the body) to leave it. */
export function pixelPlan(bytes) {
  const ds = parseDicom(bytes);
  if (ds.string('x00020010') !== EXPLICIT_LITTLE) return decline('transfer syntax');
  const rows = ds.uint16('x00280010');
  const cols = ds.uint16('x00280011');
  const allocated = ds.uint16('x00280100');
  const stored = ds.uint16('x00280101') || allocated;
  const signed = ds.uint16('x00280103') === 1;
  const photometric = (ds.string('x00280004') || '').trim();
  const frames = ds.intString('x00280008');
  const modality = (ds.string('x00080060') || '').trim();
  if ((ds.uint16('x00280002') || 1) !== 1 || !['MONOCHROME1', 'MONOCHROME2'].includes(photometric)) return decline('colour');
  if (frames !== undefined && frames !== 1) return decline('frames');
  if (!(allocated === 16 || (allocated === 8 && !signed)) || !(stored >= 1 && stored <= allocated)) return decline('bits');
  if (modality === 'PT' || modality === 'RTDOSE') return decline('modality scaling');
  const fn = (ds.string('x00281056') || '').trim().toUpperCase();
  if (fn && fn !== 'LINEAR') return decline('VOI LUT function');
  const spacing = numbers(ds, 'x00280030');
  if (spacing && spacing.length >= 2 && spacing[0] !== spacing[1]) return decline('non-square pixels');
  const slope = numbers(ds, 'x00281053')?.[0] ?? 1;
  const intercept = numbers(ds, 'x00281052')?.[0] ?? 0;
  if (!Number.isInteger(slope) || !Number.isInteger(intercept)) return decline('fractional rescale');
  const px = ds.elements.x7fe00010;
  const size = rows * cols * (allocated / 8);
  if (!rows || !cols || !px || px.encapsulatedPixelData || px.length < size) return decline('pixel data');
  let raw;
  if (allocated === 16) {
    const at = bytes.byteOffset + px.dataOffset;
    raw = at % 2 ? new Uint16Array(bytes.buffer.slice(at, at + size)) : new Uint16Array(bytes.buffer, at, rows * cols);
  } else {
    raw = new Uint8Array(bytes.buffer, bytes.byteOffset + px.dataOffset, rows * cols);
  }
  const centers = numbers(ds, 'x00281050');
  const widths = numbers(ds, 'x00281051');
  const window = centers && widths ? { center: centers[0], width: widths[0] } : null;
  return {
    rows, cols, raw, allocated, stored, signed, slope, intercept, window,
    invert: photometric === 'MONOCHROME1',
    rowSpacing: spacing ? spacing[0] : 1,
  };
}

/** The stored value of a raw bit pattern (sign-extended from Bits Stored when signed). */
function storedValue(plan, pattern) {
  if (!plan.signed) return pattern;
  const shift = 32 - plan.stored;
  return (pattern << shift) >> shift;
}

/** Window centre and width: the image's own, else toWindowLevel(min, max) of Cornerstone. */
function windowOf(plan) {
  if (plan.window) return plan.window;
  let lo = Infinity;
  let hi = -Infinity;
  const seen = new Uint8Array(1 << plan.allocated);
  for (let i = 0; i < plan.raw.length; i++) seen[plan.raw[i]] = 1;
  for (let p = 0; p < seen.length; p++) {
    if (!seen[p]) continue;
    const v = storedValue(plan, p);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const low = lo * plan.slope + plan.intercept;
  const high = hi * plan.slope + plan.intercept;
  return { center: (low + high + 1) / 2, width: Math.abs(high - low) + 1 };
}

/** Grey level (0..255) of every raw bit pattern: Modality LUT, linear VOI LUT, inversion. */
export function greyTable(plan, window) {
  const lut = new Uint8ClampedArray(1 << plan.allocated);
  const { center, width } = window;
  for (let p = 0; p < lut.length; p++) {
    const m = storedValue(plan, p) * plan.slope + plan.intercept;
    const v = Math.min(Math.max(((m - (center - 0.5)) / (width - 1) + 0.5) * 255.0, 0), 255);
    lut[p] = plan.invert ? 255 - v : v;
  }
  return lut;
}

/** The image at full resolution (one opaque grey pixel per stored value). */
function fullCanvas(plan, lut) {
  const canvas = document.createElement('canvas');
  canvas.width = plan.cols;
  canvas.height = plan.rows;
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(plan.cols, plan.rows);
  const out = new Uint32Array(image.data.buffer);
  const rgba = new Uint32Array(lut.length);
  for (let p = 0; p < lut.length; p++) rgba[p] = 0xff000000 | (lut[p] * 0x010101);
  const raw = plan.raw;
  for (let i = 0; i < raw.length; i++) out[i] = rgba[raw[i]];
  ctx.putImageData(image, 0, 0);
  return canvas;
}

/** Fitted and centred in the viewport's area, as Cornerstone's CPU path draws a stack. */
function show(plan, full) {
  // the canvas size Cornerstone's CPU path gives its own (resize: the element's client
  // size, in CSS pixels), stretched over the same area
  const target = $('first-paint');
  const host = $('viewport');
  const area = host.getBoundingClientRect();
  const w = host.clientWidth;
  const h = host.clientHeight;
  if (!target || w <= 0 || h <= 0) return 0;
  target.width = w;
  target.height = h;
  target.style.width = `${area.width}px`;
  target.style.height = `${area.height}px`;
  const ctx = target.getContext('2d');
  ctx.fillStyle = 'black';
  ctx.fillRect(0, 0, w, h);
  const s = Math.min(w / plan.cols, h / plan.rows);
  ctx.imageSmoothingEnabled = true;
  ctx.setTransform(s, 0, 0, s, w / 2 - (s * plan.cols) / 2, h / 2 - (s * plan.rows) / 2);
  ctx.drawImage(full, 0, 0);
  target.hidden = false;
  return (s * area.width) / w;
}

function paint(inst, total, bytes) {
  if (document.body.dataset.handover) return; // Cornerstone was first
  const plan = pixelPlan(new Uint8Array(bytes));
  if (!plan) return;
  const window_ = windowOf(plan);
  const full = fullCanvas(plan, greyTable(plan, window_));
  const scale = show(plan, full);
  if (!scale) return decline('no viewport');
  showInstance(inst, 0, 0, total);
  const { center: c, width: w } = window_;
  // the readout Cornerstone gives for this window (its linear VOI range, PS3.3 §C.11.2.1.2.1)
  $('wl-readout').textContent = windowReadout(c - 0.5 - (w - 1) / 2, c - 0.5 + (w - 1) / 2);
  $('scale-bar').style.width = `${Math.max(1, Math.round((10 * scale) / plan.rowSpacing))}px`;
  document.body.dataset.firstPaint = 'drawn';
  // the first image is on screen: measured by benchmarks/bench_viewer.py
  performance.mark('dicomseal-first-image');
  document.dispatchEvent(new CustomEvent('dicomseal-first-paint', { detail: { canvas: full, plan, window: window_ } }));
}

/**
 * The first paint, then the reader. reader.js (Cornerstone core, vtk.js and the image
 * loader: ~150 ms of evaluation on the main thread) is fetched, compiled and evaluated
 * only once the first image is drawn or left to it, so that none of that stands between
 * the bytes and the first image.
 */
async function main() {
  const boot = window.dicomsealBoot || {};
  const early = boot.image;
  const data = boot.data || JSON.parse($('series-data').textContent);
  const stack = data.instances.filter((i) => i.has_pixels);
  const first = stack[0];
  if (!early || !first || first.frames > 1) {
    decline('no early request');
  } else if (!FINAL.has(first.state)) {
    decline('not verified');
  } else {
    const total = stack.reduce((n, i) => n + Math.max(1, i.frames), 0);
    try {
      const bytes = await early.bytes;
      performance.mark('dicomseal-first-bytes'); // the first image's display object is in
      paint(first, total, bytes);
    } catch (err) {
      decline(`error ${err && err.message ? err.message : err}`);
    }
  }
  // The 1.5 MB of reader.js and its chunks and the decoding worker (Cornerstone's image
  // loader decodes every frame in it) are asked for now, not with the page: fetching and
  // compiling them is not needed for the first paint and would compete with it for the
  // server and the processor. reader.js by the URL the page names (with its content
  // version, kept by the browser); a revisit finds all of it in the cache.
  if (boot.preload) boot.preload();
  if (first && !boot.worker) boot.worker = new Worker(new URL('./decode-worker.js', import.meta.url), { type: 'module' });
  const reader = document.querySelector('script[data-reader]');
  await import(reader ? reader.dataset.reader : new URL('./reader.js', import.meta.url).href);
}

main();
