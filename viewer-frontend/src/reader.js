// The reading front end of `dicomseal view`, on Cornerstone3D.
//
// Every image comes from the viewer's own read-only API (/api/instances/{id}/image.dcm),
// which the server builds from the verified snapshot of the medium; the page never asks
// for anything else. The demographics, badges and tag marks come from the server's
// integrity model as they are: this script only displays them, it decides nothing.
import {
  RenderingEngine,
  Enums,
  init as coreInit,
  eventTarget,
  metaData,
  utilities as csUtilities,
  setUseCPURendering,
  getWebWorkerManager,
} from '@cornerstonejs/core';
import { init as loaderInit, wadouri } from '@cornerstonejs/dicom-image-loader';
import { $, el, showInstance, windowReadout } from './overlay.js';

/**
 * Why an image cannot be shown, in words. The server answers 409 for a file that changed
 * on the medium since it was verified (it refuses those bytes): that is said as such.
 */
function whyNot(err) {
  const xhr = err && typeof XMLHttpRequest !== 'undefined' && err.error instanceof XMLHttpRequest ? err.error : null;
  if (xhr && xhr.status === 409) return 'changed on the medium since it was verified: not shown';
  if (err && err.message) return err.message;
  if (xhr) return `HTTP ${xhr.status}`;
  return String(err);
}

/** True for the rejection of an image request to this viewer (handled: onLoadError). */
function isImageLoadError(reason) {
  return !!reason && typeof XMLHttpRequest !== 'undefined' && reason.error instanceof XMLHttpRequest;
}

const ENGINE = 'dicomseal';
const VIEWPORT = 'reader';
const GROUP = 'reader-tools';
const WORKER = 'dicomImageLoader';

/** Window presets (centre, width) by modality: CT presets only on CT (PS3.3 §C.11.2). */
const PRESETS = {
  CT: [
    ['Soft tissue', 40, 400],
    ['Lung', -600, 1500],
    ['Bone', 400, 1800],
    ['Brain', 40, 80],
  ],
};

function imageIds(series) {
  const ids = [];
  const owner = [];
  for (const inst of series.instances) {
    if (!inst.has_pixels) continue;
    const base = `wadouri:${location.origin}/api/instances/${inst.id}/image.dcm`;
    if (inst.frames > 1) {
      for (let f = 1; f <= inst.frames; f++) {
        ids.push(`${base}?frame=${f}`);
        owner.push([inst, f - 1]);
      }
    } else {
      ids.push(base);
      owner.push([inst, 0]);
    }
  }
  return { ids, owner };
}

/**
 * 'webgl' on a graphics processor, 'cpu' when WebGL is missing or drawn in software
 * (SwiftShader, llvmpipe: a headless browser, a virtual machine, a remote desktop), where
 * Cornerstone's CPU path draws a 2D stack several times faster (measured in
 * benchmarks/bench_viewer.py: ~6 vs ~35 images/s on 512x512 CT). Both draw the same 16-bit
 * values through the same window; ``?renderer=cpu|webgl`` forces one.
 */
function chooseRenderer(forced) {
  if (forced === 'cpu' || forced === 'webgl') return forced;
  try {
    const gl = document.createElement('canvas').getContext('webgl2');
    if (!gl) return 'cpu';
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const name = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : '';
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return /swiftshader|llvmpipe|softpipe|software/i.test(name) ? 'cpu' : 'webgl';
  } catch (err) {
    return 'cpu';
  }
}

class Reader {
  constructor(series) {
    this.series = series;
    const { ids, owner } = imageIds(series);
    this.ids = ids;
    this.owner = owner;
    this.element = $('viewport');
    this.modality = series.modality || '';
    this.tool = 'wl';
  }

  /**
   * The first image is drawn with the core and the image loader alone; the tools bundle
   * (reader-tools.js) is fetched and wired up after it is on screen (toolsReady), so
   * that its compilation does not delay it. ``data-ready="1"`` means both are done.
   */
  async start() {
    const boot = window.dicomsealBoot || {};
    await coreInit();
    performance.mark('dicomseal-core');
    const renderer = chooseRenderer(new URLSearchParams(location.search).get('renderer'));
    if (renderer === 'cpu') setUseCPURendering(true);
    document.body.dataset.renderer = renderer;
    this.startWorker(boot);
    loaderInit({ maxWebWorkers: 1 });
    const engine = new RenderingEngine(ENGINE);
    engine.enableElement({ viewportId: VIEWPORT, type: Enums.ViewportType.STACK, element: this.element });
    this.viewport = engine.getViewport(VIEWPORT);
    performance.mark('dicomseal-viewport');
    // keep the image's aspect when the layout changes (tag panel, window size)
    new ResizeObserver(() => {
      engine.resize(true, false);
      this.scaleBar();
    }).observe(this.element);
    this.element.addEventListener(Enums.Events.STACK_NEW_IMAGE, () => this.onImage());
    // an image the server refuses (409: changed on the medium) is never drawn: say why
    eventTarget.addEventListener(Enums.Events.IMAGE_LOAD_ERROR, (e) => this.onLoadError(e.detail));
    window.addEventListener('unhandledrejection', (e) => {
      if (!isImageLoadError(e.reason)) return;
      e.preventDefault();
      this.onLoadError({ error: e.reason });
    });
    this.element.addEventListener(Enums.Events.IMAGE_RENDERED, () => this.onRendered());
    this.element.addEventListener(Enums.Events.VOI_MODIFIED, () => this.onRendered());
    this.element.addEventListener('contextmenu', (e) => e.preventDefault());
    this.bindUi();
    if (!this.ids.length) {
      $('image-message').hidden = false;
      $('image-message').textContent = 'No image in this series.';
      this.loadThumbnails();
      await this.loadTools();
      document.body.dataset.ready = '1';
      return;
    }
    this.takeFirstImage(boot);
    this.toolsReady = new Promise((resolve, reject) => {
      this.firstImageShown = () => this.loadTools().then(resolve, reject);
    });
    await this.viewport.setStack(this.ids, 0);
    this.viewport.render();
    this.onImage();
    await this.toolsReady;
    this.orientationMarkers();
    document.body.dataset.ready = '1';
  }

  /** The decoding worker the page started early (reader-boot.js), else a new one. */
  startWorker(boot) {
    const early = boot.worker;
    boot.worker = null;
    if (!early) return; // loaderInit registers its own
    let taken = false;
    const make = () => {
      if (!taken) {
        taken = true;
        return early;
      }
      return new Worker(new URL('./decode-worker.js', import.meta.url), { type: 'module' });
    };
    // registered before loaderInit, which then keeps this registration (and says so)
    getWebWorkerManager().registerWorker(WORKER, make, { maxWorkerInstances: 1 });
  }

  /** Hand the first image's bytes, requested by reader-boot.js, to the image loader. */
  takeFirstImage(boot) {
    const early = boot.image;
    boot.image = null;
    if (!early || `wadouri:${early.url}` !== this.ids[0]) return;
    const again = wadouri.getLoaderForScheme('wadouri');
    // the same bytes the loader's own request would get; on any failure it asks itself
    wadouri.dataSetCacheManager.load(early.url, (url, imageId) => early.bytes.catch(() => again(url, imageId)), this.ids[0]);
  }

  /** The tools bundle, then the tool group, measurement events and stack prefetch. */
  async loadTools() {
    const { default: tools } = await import('./tools.js');
    const { MouseBindings } = tools.Enums;
    tools.init();
    tools.addEnabledElement({ detail: { element: this.element, viewportId: VIEWPORT, renderingEngineId: ENGINE } });
    const all = [tools.WindowLevelTool, tools.PanTool, tools.ZoomTool, tools.StackScrollTool, tools.LengthTool, tools.AngleTool];
    for (const T of all) tools.addTool(T);
    const group = tools.ToolGroupManager.createToolGroup(GROUP);
    for (const T of all) group.addTool(T.toolName);
    group.addViewport(VIEWPORT, ENGINE);
    this.tools = tools;
    this.group = group;
    this.setTool(this.tool); // also binds the wheel to stack scrolling
    eventTarget.addEventListener(tools.Enums.Events.ANNOTATION_MODIFIED, () => this.onMeasure());
    eventTarget.addEventListener(tools.Enums.Events.ANNOTATION_COMPLETED, () => this.onMeasure());
    this.element.addEventListener(tools.Enums.Events.ANNOTATION_RENDERED, () => this.onMeasure());
    if (this.ids.length) this.prefetch();
  }

  setTool(name) {
    this.tool = name;
    for (const b of document.querySelectorAll('[data-tool]')) b.classList.toggle('active', b.dataset.tool === name);
    const tools = this.tools;
    if (!tools) return; // applied when the tools bundle is in (loadTools)
    const { MouseBindings } = tools.Enums;
    const map = {
      wl: tools.WindowLevelTool, pan: tools.PanTool, zoom: tools.ZoomTool, length: tools.LengthTool,
      angle: tools.AngleTool, scroll: tools.StackScrollTool,
    };
    // the buttons each tool keeps whichever tool has the left one: middle pans, right zooms,
    // the wheel scrolls the stack
    const own = { pan: MouseBindings.Auxiliary, zoom: MouseBindings.Secondary, scroll: MouseBindings.Wheel };
    for (const [key, T] of Object.entries(map)) {
      if (key === name) continue;
      // setToolActive adds to a tool's bindings: the left button is taken away first, or
      // the tool chosen before (pan, zoom) would keep it and win over the one chosen now
      this.group.setToolPassive(T.toolName);
      if (own[key]) this.group.setToolActive(T.toolName, { bindings: [{ mouseButton: own[key] }] });
    }
    this.group.setToolActive(map[name].toolName, { bindings: [{ mouseButton: MouseBindings.Primary }] });
  }

  index() {
    return this.viewport ? this.viewport.getCurrentImageIdIndex() : 0;
  }

  async go(index) {
    if (!this.ids.length) return;
    const n = Math.max(0, Math.min(this.ids.length - 1, index));
    await this.viewport.setImageIdIndex(n);
  }

  current() {
    return this.owner[this.index()] || [null, 0];
  }

  onImage() {
    const [inst, frame] = this.current();
    if (!inst) return;
    if (this.element.dataset.refused) {
      // a new image is in: the message of a refused one goes
      delete this.element.dataset.refused;
      this.element.style.visibility = '';
      $('image-message').hidden = true;
    }
    showInstance(inst, frame, this.index(), this.ids.length);
    for (const t of document.querySelectorAll('.thumb-image')) t.classList.toggle('current', t.dataset.instance === inst.id);
    if ($('tags').dataset.open === '1') this.showTags();
  }

  /** An image could not be loaded: nothing is left on screen in its place, only why. */
  onLoadError(detail) {
    const why = whyNot(detail && detail.error);
    if (detail && detail.imageId && detail.imageId !== this.ids[this.index()]) return; // prefetch
    this.element.dataset.refused = '1';
    this.element.style.visibility = 'hidden';
    $('first-paint')?.remove();
    $('image-message').hidden = false;
    $('image-message').textContent = `Cannot display: ${why}`;
    document.body.dataset.imageError = why;
  }

  prefetch() {
    // Cornerstone's stack prefetch: neighbouring images are requested before they are
    // shown (enabled with the tools, after the first image: its requests must not delay it).
    if (!this.prefetchOn) {
      this.tools.utilities.stackPrefetch.enable(this.element);
      this.prefetchOn = true;
    }
  }

  onRendered() {
    const vp = this.viewport;
    if (!vp || !vp.getImageData()) return;
    const { voiRange, invert } = vp.getProperties();
    if (voiRange) $('wl-readout').textContent = windowReadout(voiRange.lower, voiRange.upper);
    const cam = vp.getCamera();
    document.body.dataset.scale = String(cam.parallelScale);
    document.body.dataset.invert = invert ? '1' : '0';
    this.scaleBar();
    this.orientationMarkers();
    if (this.firstImageShown) {
      this.handOver();
      const next = this.firstImageShown;
      this.firstImageShown = null;
      this.loadThumbnails();
      next();
    }
  }

  /**
   * Cornerstone's first render: it now draws the image area, so the first paint's canvas
   * (reader-first.js), which lay over it, is removed in the same frame. Without a first
   * paint this render is the first image on screen (the mark the benchmark reads).
   */
  handOver() {
    document.body.dataset.handover = '1';
    performance.mark('dicomseal-handover');
    if (document.body.dataset.firstPaint !== 'drawn') performance.mark('dicomseal-first-image');
    const canvas = $('first-paint');
    if (canvas) canvas.remove();
  }

  loadThumbnails() {
    // after the first image: the thumbnails' server renders must not delay it
    for (const img of document.querySelectorAll('img[data-src]')) {
      img.src = img.dataset.src;
      img.removeAttribute('data-src');
    }
  }

  scaleBar() {
    // 1 cm bar from the camera: parallelScale is half the viewport height in mm.
    const vp = this.viewport;
    const h = this.element.clientHeight;
    const mm = vp.getCamera().parallelScale * 2;
    if (!h || !mm) return;
    const px = (10 * h) / mm;
    $('scale-bar').style.width = `${Math.max(1, Math.round(px))}px`;
  }

  orientationMarkers() {
    // Patient directions at the image edges (PS3.3 §C.7.6.2.1.1: Image Orientation
    // (Patient) gives the directions of the rows and the columns in LPS), turned by the
    // viewport's flips and rotation (read back from the viewport, so the same on the CPU
    // and the WebGL path). Shown only when the image carries Image Orientation (Patient):
    // a projection image without it gets no invented letters.
    const id = this.ids[this.index()];
    const plane = id ? metaData.get('imagePlaneModule', id) : null;
    const edges = { top: '', bottom: '', left: '', right: '' };
    const tools = this.tools;
    if (!tools) return; // drawn when the tools bundle is in
    if (plane && plane.rowCosines && plane.columnCosines) {
      const neg = (v) => v.map((x) => -x);
      const { flipHorizontal, flipVertical } = this.viewport.getCamera();
      let right = flipHorizontal ? neg(plane.rowCosines) : plane.rowCosines;
      let down = flipVertical ? neg(plane.columnCosines) : plane.columnCosines;
      const turns = Math.round(((this.viewport.getViewPresentation().rotation || 0) % 360 + 360) % 360 / 90);
      for (let k = 0; k < turns; k++) [right, down] = [neg(down), right]; // clockwise
      const { getOrientationStringLPS: lps, invertOrientationStringLPS: inv } = tools.utilities.orientation;
      Object.assign(edges, { right: lps(right), left: inv(lps(right)), bottom: lps(down), top: inv(lps(down)) });
    }
    for (const [edge, text] of Object.entries(edges)) {
      const node = $(`orient-${edge}`);
      if (node) node.textContent = text;
    }
    document.body.dataset.orientation = `${edges.left}/${edges.right}/${edges.top}/${edges.bottom}`;
  }

  onMeasure() {
    const all = this.tools.annotation.state.getAllAnnotations();
    const lines = [];
    for (const a of all) {
      const stats = a.data?.cachedStats || {};
      for (const s of Object.values(stats)) {
        if (s && typeof s.length === 'number') lines.push(`${s.length.toFixed(1)} ${s.unit || 'mm'}`);
        if (s && typeof s.angle === 'number') lines.push(`${s.angle.toFixed(1)}\u00b0`);
      }
    }
    $('measurements').textContent = lines.join(' · ');
  }

  window(center, width) {
    this.viewport.setProperties({ voiRange: { lower: center - width / 2, upper: center + width / 2 } });
    this.viewport.render();
  }

  invert() {
    const { invert } = this.viewport.getProperties();
    this.viewport.setProperties({ invert: !invert });
    this.viewport.render();
  }

  reset() {
    this.viewport.resetProperties();
    this.viewport.resetCamera();
    // the CPU path keeps rotation and flips through resetCamera: undo them explicitly
    this.viewport.setViewPresentation({ rotation: 0 });
    const { flipHorizontal, flipVertical } = this.viewport.getCamera();
    if (flipHorizontal || flipVertical) this.viewport.setCamera({ flipHorizontal: false, flipVertical: false });
    this.viewport.render();
  }

  rotate() {
    const { rotation = 0 } = this.viewport.getViewPresentation();
    this.viewport.setViewPresentation({ rotation: (rotation + 90) % 360 });
    this.viewport.render();
  }

  flip() {
    const { flipHorizontal } = this.viewport.getCamera();
    this.viewport.setCamera({ flipHorizontal: !flipHorizontal });
    this.viewport.render();
  }

  zoom(factor) {
    const cam = this.viewport.getCamera();
    this.viewport.setCamera({ parallelScale: cam.parallelScale / factor });
    this.viewport.render();
  }

  cine() {
    if (this.cineTimer) {
      clearInterval(this.cineTimer);
      this.cineTimer = null;
    } else {
      this.cineTimer = setInterval(() => this.go((this.index() + 1) % this.ids.length), 1000 / 15);
    }
    $('cine').classList.toggle('active', !!this.cineTimer);
  }

  presets() {
    const box = $('presets');
    const list = [['Default', null, null], ...(PRESETS[this.modality] || []), ['Full range', 'full', null]];
    box.replaceChildren(...list.map(([name, c, w], k) => {
      const b = el('button', { type: 'button', title: `${name} (${k + 1})`, dataset: { preset: name } }, name);
      b.addEventListener('click', () => this.preset(c, w));
      return b;
    }));
    this.presetList = list;
  }

  preset(c, w) {
    if (c === null) {
      this.viewport.resetProperties();
      this.viewport.render();
    } else if (c === 'full') {
      const img = this.viewport.csImage;
      if (img) this.window((img.minPixelValue + img.maxPixelValue) / 2, Math.max(1, img.maxPixelValue - img.minPixelValue));
    } else {
      this.window(c, w);
    }
  }

  async showTags() {
    const [inst, frame] = this.current();
    const box = $('tags');
    box.hidden = false;
    box.dataset.open = '1';
    if (!inst) return;
    const r = await fetch(`/api/instances/${inst.id}/tags`);
    const data = await r.json();
    // a value the medium's other copies contradict (inspect red flag) says so in its cell
    const value = (a) => (a.conflict
      ? el('span', {}, a.value, ' ', el('span', { className: 'value-conflict', 'data-testid': 'tag-conflict' }, `\u2691 ${a.conflict}`))
      : a.value);
    // status: the code (signed / not covered / altered); note: what a reader is shown
    const rows = data.attributes.map((a) => el('tr', { dataset: { keyword: a.keyword, status: a.status, note: a.note || a.status }, className: `tag-${a.status.replace(' ', '-')}` },
      el('td', {}, a.tag), el('td', {}, a.keyword || ''), el('td', {}, a.vr),
      el('td', {}, a.status === 'altered' ? el('span', {}, el('span', { className: 'value-signed' }, a.signed_text), ' ', el('del', { className: 'value-altered' }, a.found_text)) : value(a)),
      el('td', { className: 'tag-status', 'data-testid': 'tag-note' }, a.note || a.status)));
    $('tags-body').replaceChildren(...rows);
    $('tags-title').textContent = `Attributes of image ${this.index() + 1}` + (inst.frames > 1 ? ` (frame ${frame + 1})` : '');
  }

  hideTags() {
    $('tags').hidden = true;
    $('tags').dataset.open = '0';
  }

  bindUi() {
    this.presets();
    for (const b of document.querySelectorAll('[data-tool]')) b.addEventListener('click', () => this.setTool(b.dataset.tool));
    const act = {
      invert: () => this.invert(), reset: () => this.reset(), rotate: () => this.rotate(), flip: () => this.flip(),
      cine: () => this.cine(), 'tags-toggle': () => ($('tags').dataset.open === '1' ? this.hideTags() : this.showTags()),
      'help-toggle': () => ($('help').hidden = !$('help').hidden), 'zoom-in': () => this.zoom(1.25), 'zoom-out': () => this.zoom(0.8),
    };
    for (const [id, fn] of Object.entries(act)) $(id)?.addEventListener('click', fn);
    $('tags-close').addEventListener('click', () => this.hideTags());
    $('slice').addEventListener('input', (e) => this.go(Number(e.target.value)));
    document.addEventListener('keydown', (e) => this.key(e));
  }

  key(e) {
    if (e.target instanceof HTMLInputElement && e.target.type !== 'range') return;
    const k = e.key;
    const keys = {
      ArrowDown: () => this.go(this.index() + 1), ArrowRight: () => this.go(this.index() + 1),
      ArrowUp: () => this.go(this.index() - 1), ArrowLeft: () => this.go(this.index() - 1),
      Home: () => this.go(0), End: () => this.go(this.ids.length - 1),
      i: () => this.invert(), r: () => this.reset(), o: () => this.rotate(), h: () => this.flip(),
      w: () => this.setTool('wl'), p: () => this.setTool('pan'), z: () => this.setTool('zoom'),
      l: () => this.setTool('length'), a: () => this.setTool('angle'), s: () => this.setTool('scroll'), c: () => this.cine(),
      t: () => ($('tags').dataset.open === '1' ? this.hideTags() : this.showTags()),
      '+': () => this.zoom(1.25), '=': () => this.zoom(1.25), '-': () => this.zoom(0.8),
      '?': () => ($('help').hidden = !$('help').hidden),
      Escape: () => { $('help').hidden = true; this.hideTags(); },
      PageDown: () => this.otherSeries(1), PageUp: () => this.otherSeries(-1),
    };
    if (/^[1-9]$/.test(k) && this.presetList && this.presetList[Number(k) - 1]) {
      const [, c, w] = this.presetList[Number(k) - 1];
      this.preset(c, w);
      e.preventDefault();
      return;
    }
    if (keys[k]) {
      keys[k]();
      e.preventDefault();
    }
  }

  otherSeries(step) {
    const links = [...document.querySelectorAll('.thumb')];
    const at = links.findIndex((a) => a.classList.contains('current'));
    const next = links[at + step];
    if (next) location.href = next.href;
  }

  /** Length of the first length annotation in image pixels (for tests). */
  lengthInPixels() {
    const { annotation, LengthTool } = this.tools;
    const a = annotation.state.getAllAnnotations().find((x) => x.metadata.toolName === LengthTool.toolName);
    const id = this.ids[this.index()];
    const [p, q] = a.data.handles.points.map((w) => csUtilities.worldToImageCoords(id, w));
    return Math.hypot(p[0] - q[0], p[1] - q[1]);
  }

  /** Stored values of the current image after the Modality LUT (for tests). */
  pixels() {
    const img = this.viewport.csImage;
    return { rows: img.rows, columns: img.columns, color: img.color, scaled: !!img.preScale?.scaled, data: Array.from(img.getPixelData()) };
  }
}

async function main() {
  performance.mark('dicomseal-engine'); // the bundle is compiled and evaluated
  const data = window.dicomsealBoot?.data || JSON.parse($('series-data').textContent);
  const reader = new Reader(data);
  window.dicomsealReader = reader;
  try {
    await reader.start();
  } catch (err) {
    $('image-message').hidden = false;
    $('image-message').textContent = `Cannot display: ${whyNot(err)}`;
    $('first-paint')?.remove(); // nothing is left on screen that the reader could not show
    document.body.dataset.ready = 'error';
  }
}

main();
