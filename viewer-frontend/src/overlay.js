// The text drawn over the image: the instance's verdict badge, its demographics as the
// integrity model marked them, the altered-pixels warning, the position in the stack and
// the window readout. Shared by the first paint (first.js) and the Cornerstone reader
// (reader.js), so that the image is never on screen without its own marks and the two
// show the same text. Everything here comes from the server's payload: nothing is decided.

export const $ = (id) => document.getElementById(id);

export const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k === 'className') node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
};

export function shownValue(v) {
  // Altered: the signed value is THE value; the found one is struck through, never green.
  if (v.altered && !v.unverified) {
    return el('span', {}, el('span', { className: 'value-signed' }, v.text), ' ',
      el('span', { className: 'value-altered', 'data-testid': 'altered-value' }, 'ALTERED on medium: ', el('del', {}, v.found)));
  }
  if (v.altered) {
    return el('span', { className: 'value-altered', 'data-testid': 'altered-value' }, el('del', {}, v.text), ' ALTERED (signed value not recorded)');
  }
  if (v.unverified) {
    // why, in the server's words: not covered / signed, not verifiable here / not verified
    const note = v.note || 'not verified';
    return el('span', { className: 'value-unverified', 'data-testid': 'unverified-value', dataset: { note } }, `${v.text} (${note})`);
  }
  return el('span', {}, v.text);
}

/**
 * One line of the demographics. A value the medium's other copies contradict (an inspect
 * red flag: "PatientName differs: DICOMDIR and 5 images say ROE^JANE") carries that
 * sentence in amber right where it is shown.
 */
function demographic(o) {
  const line = el('div', {}, `${o.label}: `, shownValue(o));
  if (o.conflict) {
    line.className = 'conflicted';
    line.append(' ', el('span', { className: 'value-conflict', 'data-testid': 'conflict' }, `\u2691 ${o.conflict}`));
  }
  return line;
}

/** The marks of image ``index`` of ``total`` (frame ``frame`` of instance ``inst``). */
export function showInstance(inst, frame, index, total) {
  $('slice').max = String(total - 1);
  $('slice').value = String(index);
  $('position').textContent = `Im ${index + 1}/${total}` + (inst.frames > 1 ? ` (frame ${frame + 1}/${inst.frames})` : '');
  document.body.dataset.imageIndex = String(index);
  const badge = $('image-badge');
  badge.className = `badge badge-${inst.state}`;
  badge.dataset.state = inst.state;
  badge.textContent = inst.label;
  const overlay = $('overlay-demographics');
  overlay.replaceChildren(...inst.overlay.map(demographic));
  $('pixels-altered').hidden = !inst.frames_changed.includes(frame);
}

/** The window readout of a VOI range (lower and upper bound of the linear window). */
export function windowReadout(lower, upper) {
  const ww = upper - lower;
  const wc = (upper + lower) / 2;
  return `WL ${Math.round(wc)} / WW ${Math.round(ww)}`;
}
