// dicomseal viewer front end: draws server-rendered PNG frames on a canvas, window/level
// presets and drag, image/frame/series scrolling without reloading the page.
// Every value from the medium is inserted with textContent, never as HTML.
"use strict";

(function () {
  const dataNode = document.getElementById("series-data");
  const section = document.querySelector("section.viewer");
  if (!dataNode || !section) {
    return;
  }
  const canvas = document.getElementById("image");
  const ctx = canvas.getContext("2d");
  const frameBox = document.getElementById("image-frame");
  const listNode = document.getElementById("instance-list");
  const overlayNode = document.getElementById("overlay-demographics");
  const badgeNode = document.getElementById("overlay-badge");
  const pixelsNode = document.getElementById("overlay-pixels");
  const messageNode = document.getElementById("image-message");
  const changesNode = document.getElementById("changes");
  const changesBody = document.getElementById("changes-body");
  const readout = document.getElementById("wl-readout");
  const position = document.getElementById("position");

  const view = {
    series: JSON.parse(dataNode.textContent),
    index: 0,
    frame: 0,
    window: null, // {center, width} chosen by the user; null = each image's default
    shown: null, // window of the image on screen
    range: null, // {min, max} of the image on screen
    seq: 0,
    inFlight: false,
    pending: false,
    rendered: 0,
  };
  const cache = new Map();
  const CACHE_MAX = 12;

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function current() {
    return view.series.instances[view.index];
  }

  function badgeText(inst) {
    if (inst.state === "red") return "\u2716 ALTERED";
    if (inst.state === "green") return "\u2714 " + inst.label;
    return "? " + inst.label;
  }

  function valueNode(item) {
    // The signed value is shown first; an altered value found on the medium is marked.
    const span = el("span", "value");
    if (item.altered && !item.unverified) {
      span.appendChild(el("span", "value-signed", item.text));
      const mark = el("span", "value-altered", "ALTERED on medium: ");
      mark.appendChild(el("del", null, item.found));
      mark.dataset.testid = "altered-value";
      span.appendChild(document.createTextNode(" "));
      span.appendChild(mark);
    } else if (item.altered) {
      const mark = el("span", "value-altered");
      mark.appendChild(el("del", null, item.text));
      mark.appendChild(document.createTextNode(" ALTERED (signed value not recorded)"));
      span.appendChild(mark);
    } else if (item.unverified) {
      // why it is unverified, in the server's words (not covered / signed, not verifiable
      // here / not verified)
      span.appendChild(el("span", "value-unverified", item.text + " (" + (item.note || "not verified") + ")"));
    } else {
      span.textContent = item.text;
    }
    return span;
  }

  function buildList() {
    listNode.replaceChildren();
    view.series.instances.forEach(function (inst, i) {
      const li = el("li");
      const button = el("button", "thumb badge-" + inst.state,
        (inst.number || String(i + 1)) + (inst.red_flags ? " \u2691" + inst.red_flags : ""));
      button.type = "button";
      button.title = badgeText(inst);
      button.dataset.state = inst.state;
      button.addEventListener("click", function () {
        show(i, 0);
      });
      li.appendChild(button);
      listNode.appendChild(li);
    });
  }

  function updateInfo() {
    const inst = current();
    overlayNode.replaceChildren();
    inst.overlay.forEach(function (item) {
      if (!item.text && !item.altered) return;
      const line = el("div", "overlay-line");
      line.appendChild(el("span", "overlay-label", item.label + ": "));
      line.appendChild(valueNode(item));
      if (item.conflict) {
        // what the medium's other copies say (inspect red flag), where the value is shown
        const mark = el("span", "value-conflict", " \u2691 " + item.conflict);
        mark.dataset.testid = "conflict";
        line.appendChild(mark);
      }
      overlayNode.appendChild(line);
    });
    const badge = el("span", "badge badge-" + inst.state, badgeText(inst));
    badge.dataset.state = inst.state;
    badge.dataset.testid = "image-badge";
    badgeNode.replaceChildren(badge);
    pixelsNode.hidden = inst.frames_changed.indexOf(view.frame) < 0;
    changesBody.replaceChildren();
    inst.changes.forEach(function (c) {
      if (c.keyword === "PixelData" && inst.frames_changed.length) return; // listed per frame
      const tr = el("tr");
      tr.appendChild(el("td", null, c.keyword));
      tr.appendChild(el("td", "value-signed", c.signed_text));
      const found = el("td", "value-altered");
      found.appendChild(c.found === null ? el("span", null, c.found_text)
        : el("del", null, c.found_text));
      tr.appendChild(found);
      changesBody.appendChild(tr);
    });
    if (inst.state === "red" && changesBody.childElementCount === 0) {
      const tr = el("tr");
      const td = el("td", "value-altered", inst.label +
        (inst.frames_changed.length ? " (frames " + inst.frames_changed.map(function (f) {
          return f + 1;
        }).join(", ") + ")" : ""));
      td.colSpan = 3;
      tr.appendChild(td);
      changesBody.appendChild(tr);
    }
    changesNode.hidden = inst.state !== "red";
    Array.prototype.forEach.call(listNode.querySelectorAll("button"), function (b, i) {
      b.classList.toggle("current", i === view.index);
    });
    const total = view.series.instances.length;
    position.textContent =
      "Image " + (view.index + 1) + "/" + total +
      (inst.frames > 1 ? " \u00b7 frame " + (view.frame + 1) + "/" + inst.frames : "");
  }

  function url(inst, frame, win) {
    let u = "/render/" + encodeURIComponent(inst.id) + "/" + frame + ".png";
    if (win) {
      u += "?wc=" + win.center.toFixed(1) + "&ww=" + win.width.toFixed(1);
    }
    return u;
  }

  async function fetchImage(u) {
    const hit = cache.get(u);
    if (hit) return hit;
    const response = await fetch(u, { credentials: "same-origin" });
    if (!response.ok) {
      let msg = "Cannot display this image";
      try {
        msg = (await response.json()).error || msg;
      } catch (e) {
        /* not JSON */
      }
      throw new Error(msg);
    }
    const entry = {
      bitmap: await createImageBitmap(await response.blob()),
      center: parseFloat(response.headers.get("x-window-center")),
      width: parseFloat(response.headers.get("x-window-width")),
      min: parseFloat(response.headers.get("x-value-min")),
      max: parseFloat(response.headers.get("x-value-max")),
    };
    cache.set(u, entry);
    while (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value);
    return entry;
  }

  async function draw() {
    const inst = current();
    updateInfo();
    if (!inst.has_pixels) {
      messageNode.textContent = "This instance has no image (e.g. a report or presentation state).";
      messageNode.hidden = false;
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      return;
    }
    if (view.inFlight) {
      view.pending = true;
      return;
    }
    view.inFlight = true;
    const seq = ++view.seq;
    const u = url(inst, view.frame, view.window);
    try {
      const img = await fetchImage(u);
      if (seq === view.seq) {
        if (canvas.width !== img.bitmap.width || canvas.height !== img.bitmap.height) {
          canvas.width = img.bitmap.width;
          canvas.height = img.bitmap.height;
        }
        ctx.drawImage(img.bitmap, 0, 0);
        view.shown = { center: img.center, width: img.width };
        view.range = { min: img.min, max: img.max };
        readout.textContent = "WL " + Math.round(img.center) + " / WW " + Math.round(img.width);
        messageNode.hidden = true;
        canvas.dataset.url = u;
        view.rendered += 1;
        canvas.dataset.rendered = String(view.rendered);
      }
    } catch (err) {
      messageNode.textContent = err.message;
      messageNode.hidden = false;
    } finally {
      view.inFlight = false;
    }
    if (view.pending) {
      view.pending = false;
      draw();
    } else {
      prefetch();
    }
  }

  function prefetch() {
    const next = view.series.instances[view.index + 1];
    if (next && next.has_pixels && view.frame === 0) {
      fetchImage(url(next, 0, view.window)).catch(function () {});
    }
  }

  function show(index, frame) {
    const n = view.series.instances.length;
    if (n === 0) return;
    view.index = Math.max(0, Math.min(n - 1, index));
    view.frame = Math.max(0, Math.min(current().frames - 1, frame));
    draw();
  }

  function step(delta) {
    const inst = current();
    const f = view.frame + delta;
    if (f >= 0 && f < inst.frames) {
      show(view.index, f);
    } else if (delta > 0 && view.index + 1 < view.series.instances.length) {
      show(view.index + 1, 0);
    } else if (delta < 0 && view.index > 0) {
      const prev = view.series.instances[view.index - 1];
      show(view.index - 1, prev.frames - 1);
    }
  }

  async function loadSeries(id, push) {
    const response = await fetch("/api/series/" + encodeURIComponent(id));
    if (!response.ok) return;
    view.series = await response.json();
    cache.clear();
    document.querySelectorAll(".series-link").forEach(function (a) {
      a.classList.toggle("current", a.dataset.series === id);
    });
    section.dataset.seriesId = id;
    if (push) history.replaceState(null, "", "/series/" + encodeURIComponent(id));
    buildList();
    show(0, 0);
  }

  function otherSeries(delta) {
    const links = Array.prototype.slice.call(document.querySelectorAll(".series-link"));
    const i = links.findIndex(function (a) {
      return a.dataset.series === section.dataset.seriesId;
    });
    const target = links[i + delta];
    if (target) loadSeries(target.dataset.series, true);
  }

  document.querySelectorAll(".series-link").forEach(function (a) {
    a.addEventListener("click", function (ev) {
      ev.preventDefault();
      loadSeries(a.dataset.series, true);
    });
  });

  document.querySelectorAll("button[data-preset]").forEach(function (b) {
    b.addEventListener("click", function () {
      const p = b.dataset.preset;
      if (p === "default") {
        view.window = null;
      } else if (p === "full") {
        if (!view.range || !isFinite(view.range.min)) return;
        view.window = {
          center: (view.range.min + view.range.max) / 2,
          width: Math.max(1, view.range.max - view.range.min),
        };
      } else {
        const parts = p.split(",").map(Number);
        view.window = { center: parts[0], width: parts[1] };
      }
      draw();
    });
  });

  let drag = null;
  canvas.addEventListener("pointerdown", function (ev) {
    if (!view.shown) return;
    drag = { x: ev.clientX, y: ev.clientY, center: view.shown.center, width: view.shown.width };
    canvas.setPointerCapture(ev.pointerId);
  });
  canvas.addEventListener("pointermove", function (ev) {
    if (!drag) return;
    const k = Math.max(drag.width, 10) / 256;
    view.window = {
      center: drag.center - (ev.clientY - drag.y) * k,
      width: Math.max(1, drag.width + (ev.clientX - drag.x) * k),
    };
    draw();
  });
  function endDrag() {
    drag = null;
  }
  canvas.addEventListener("pointerup", endDrag);
  canvas.addEventListener("pointercancel", endDrag);

  frameBox.addEventListener(
    "wheel",
    function (ev) {
      ev.preventDefault();
      step(ev.deltaY > 0 ? 1 : -1);
    },
    { passive: false }
  );
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "ArrowDown" || ev.key === "ArrowRight") step(1);
    else if (ev.key === "ArrowUp" || ev.key === "ArrowLeft") step(-1);
    else if (ev.key === "PageDown") otherSeries(1);
    else if (ev.key === "PageUp") otherSeries(-1);
    else return;
    ev.preventDefault();
  });

  buildList();
  show(0, 0);
})();
