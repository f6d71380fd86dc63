// Building DOM from code. Strings always become text nodes: no markup is
// ever parsed from data, so a message can never turn into HTML.

/** Creates `<tag>` with attributes and children (nodes or text). */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Creates an SVG element, like `h`. */
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

function build(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.setAttribute('class', value);
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** Appends nodes and text (arrays are flattened, empty values skipped). */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** The content of `<meta name="...">`, or ''. */
export function meta(name) {
  const el = document.querySelector(`meta[name="${name}"]`);
  return el ? el.getAttribute('content') || '' : '';
}

/** Text for screen readers only. */
export function srOnly(text) {
  return h('span', { class: 'sp-sr' }, text);
}

let counter = 0;
/** A document-unique id for labelling. */
export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

/**
 * Runs `fn` (with the last call's arguments) once calls have paused for
 * `ms`. With `maxWait`, calls that keep coming cannot put it off forever:
 * it runs at the latest `maxWait` after the first call it has not run for.
 */
export function debounce(fn, ms, { maxWait = Infinity } = {}) {
  let timer = null;
  let first = 0;
  let last = [];
  const fire = () => {
    timer = null;
    fn(...last);
  };
  const run = (...args) => {
    const now = performance.now();
    if (timer === null) first = now;
    else clearTimeout(timer);
    last = args;
    timer = setTimeout(fire, Math.max(0, Math.min(ms, first + maxWait - now)));
  };
  run.cancel = () => {
    clearTimeout(timer);
    timer = null;
  };
  return run;
}

/**
 * Puts `items` (each `{key, node}`) into `parent` in order, moving only the
 * nodes that are out of place and removing the ones no longer wanted.
 */
export function reconcile(parent, nodes) {
  const wanted = new Set(nodes);
  for (const child of [...parent.children]) {
    if (!wanted.has(child)) child.remove();
  }
  let cursor = parent.firstElementChild;
  for (const node of nodes) {
    if (node === cursor) {
      cursor = cursor.nextElementSibling;
    } else {
      parent.insertBefore(node, cursor);
    }
  }
}
